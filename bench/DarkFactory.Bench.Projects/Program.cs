using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using DarkFactory.Actors.Projects;
using DarkFactory.Bench;
using DarkFactory.Messages;
using DarkFactory.Messages.Projects;
using DarkFactory.Messages.Review;
using Microsoft.Data.Sqlite;

// df-bench-projects --df DF_DLL [--tasks 10] [--projects 20] [--project-tasks 3] [--events 10000] [--repeats 3]
//                   [--only per-task|concurrent|recovery]
// 1. daemon time per task: one project of --tasks tasks (plain-command personas, no gates but the built-in ones) on a
//    real daemon; (wall time - the runs' own time) / tasks. Baseline in the same run: as many plain `df run`s.
// 2. --projects projects of --project-tasks tasks at once: wall time and the daemon's CPU. Baseline: the same number of
//    runs as plain runs of --projects agents at once.
// 3. recovery of a project journal of --events events (SQLite, snapshots off): cold and warm. Baseline: reading and
//    deserializing the same rows straight from the journal table, and ProjectStateRules.Apply of the same events in memory.
var df = ArgString("--df") ?? throw new ArgumentException("--df path/to/df.dll");
var tasks = Arg("--tasks", 10);
var projects = Arg("--projects", 20);
var projectTasks = Arg("--project-tasks", 3);
var events = Arg("--events", 10_000);
var repeats = Arg("--repeats", 3);
var only = ArgString("--only");
var root = BenchSupport.FindRoot();
Console.WriteLine($"projects benchmark: {Environment.ProcessorCount} cores, load {Load()}, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");

var work = Directory.CreateTempSubdirectory("df-bench-projects-").FullName;
try
{
    if (only is null or "per-task" or "concurrent")
    {
        await using var daemon = await Daemon.StartAsync(df, work, root, Math.Max(projects, 1));
        if (only is null or "per-task")
        {
            await PerTask(daemon);
        }

        if (only is null or "concurrent")
        {
            await Concurrent(daemon);
        }
    }

    if (only is null or "recovery")
    {
        await Recovery();
    }
}
finally
{
    Directory.Delete(work, recursive: true);
}

Console.WriteLine($"load after: {Load()}");
return 0;

async Task PerTask(Daemon daemon)
{
    daemon.Plan(tasks);
    var id = await daemon.InitAsync("per-task");
    var sw = Stopwatch.StartNew();
    await daemon.StartProjectAsync(id);
    await daemon.UntilDoneAsync([id]);
    var wall = sw.Elapsed.TotalMilliseconds;
    var runs = await daemon.RunTimesAsync(["planner-cmd@" + id, "engineer-cmd@" + id, "reviewer-cmd@" + id]);
    var daemonMs = wall - runs.Sum();

    // baseline: the same number of runs as plain runs, one after another, each awaited like the project awaits its runs
    var plainWall = 0.0;
    var plainRuns = new List<double>();
    for (var i = 0; i < runs.Count; i++)
    {
        var (w, r) = await daemon.PlainRunAsync("plain-1");
        plainWall += w;
        plainRuns.Add(r);
    }

    var plainDaemon = plainWall - plainRuns.Sum();
    Console.WriteLine();
    Console.WriteLine($"### Daemon time per task ({tasks} tasks, {runs.Count} runs: plan + tasks + audit)");
    Console.WriteLine("| | wall | the runs' own time (launch -> exit) | daemon time | per task | per run |");
    Console.WriteLine("|---|---|---|---|---|---|");
    Console.WriteLine($"| project | {wall:0} ms | {runs.Sum():0} ms | {daemonMs:0} ms | **{daemonMs / tasks:0.0} ms** | {daemonMs / runs.Count:0.0} ms |");
    Console.WriteLine($"| baseline: {runs.Count} plain runs (POST run, poll its end) | {plainWall:0} ms | {plainRuns.Sum():0} ms | {plainDaemon:0} ms | | {plainDaemon / runs.Count:0.0} ms |");
    await Breakdown(daemon, id);
}

// where a task's daemon time goes: the gaps between the project's recorded events (each event's At is taken when the
// step that makes it ends, so a gap holds the persist of the event before it and the step of its own) and the run's
// launch and exit as the agent's history records them
async Task Breakdown(Daemon daemon, string id)
{
    var journal = daemon.Journal(id);
    var runs = await daemon.RunMomentsAsync(["planner-cmd@" + id, "engineer-cmd@" + id, "reviewer-cmd@" + id]);
    var steps = new Dictionary<string, List<double>>(StringComparer.Ordinal);
    void Add(string step, DateTimeOffset from, DateTimeOffset to) =>
        (steps.TryGetValue(step, out var l) ? l : steps[step] = []).Add((to - from).TotalMilliseconds);

    for (var i = 1; i < journal.Count; i++)
    {
        var (before, e) = (journal[i - 1], journal[i]);
        if (e is ProjectRunStarted { Purpose: ProjectRunPurpose.Task } started && runs.TryGetValue(started.RunId, out var m))
        {
            Add($"{Manifest(before)} -> the run's launch begins (persist, next step, prompt, ask the fleet)", before.At, m.Launched);
            Add("launch begins -> process running (spawn)", m.Launched, m.Running);
            Add("process running -> run-started (the fleet's answer)", m.Running, e.At);
        }
        else if (before is ProjectRunStarted { Purpose: ProjectRunPurpose.Task } && e is ProjectRunEnded ended && runs.TryGetValue(ended.RunId, out var r))
        {
            Add("process exited -> exit recorded by the layer (output drained, group killed)", r.Exited, r.Recorded);
            Add("exit recorded -> run-ended (the project reads the run)", r.Recorded, ended.At);
        }
        else if (e is CommitIntended or AttemptCommitted or AttemptGated or TaskCompleted or HandoffRecorded or TaskBlocked)
        {
            Add($"{Manifest(before)} -> {Manifest(e)}", before.At, e.At);
        }
    }

    var tasks = journal.Count(e => e is TaskCompleted);
    Console.WriteLine();
    Console.WriteLine($"### Where a task's daemon time goes ({tasks} tasks; sum over the tasks / tasks)");
    Console.WriteLine("| step | per task | median | max |");
    Console.WriteLine("|---|---|---|---|");
    foreach (var (step, l) in steps.OrderByDescending(x => x.Value.Sum()))
    {
        Console.WriteLine($"| {step} | {l.Sum() / Math.Max(1, tasks):0.0} ms | {BenchSupport.Median(l):0.0} ms | {l.Max():0.0} ms |");
    }
}

static string Manifest(object e) => ((ManifestAttribute)e.GetType().GetCustomAttributes(typeof(ManifestAttribute), false)[0]).Name;

async Task Concurrent(Daemon daemon)
{
    daemon.Plan(projectTasks);
    var ids = new List<string>();
    for (var i = 0; i < projects; i++)
    {
        ids.Add(await daemon.InitAsync($"many-{i}"));
    }

    var cpu = daemon.CpuMs();
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(ids.Select(daemon.StartProjectAsync));
    await daemon.UntilDoneAsync(ids);
    var wall = sw.Elapsed.TotalSeconds;
    var used = daemon.CpuMs() - cpu;
    var runs = projectTasks + 2;

    // baseline: as many runs, as plain runs of `projects` agents at once (each agent's runs one after another)
    cpu = daemon.CpuMs();
    sw.Restart();
    await Task.WhenAll(Enumerable.Range(1, projects).Select(async n =>
    {
        for (var i = 0; i < runs; i++)
        {
            await daemon.PlainRunAsync($"plain-{n}");
        }
    }));
    var plainWall = sw.Elapsed.TotalSeconds;
    var plainUsed = daemon.CpuMs() - cpu;
    Console.WriteLine();
    Console.WriteLine($"### {projects} projects at once ({projectTasks} tasks each: {projects * runs} runs), load {Load()}");
    Console.WriteLine("| | wall | daemon CPU (user + system) | daemon CPU per run |");
    Console.WriteLine("|---|---|---|---|");
    Console.WriteLine($"| {projects} projects | **{wall:0.0} s** | {used / 1000:0.0} s | {used / (projects * runs):0} ms |");
    Console.WriteLine($"| baseline: {projects * runs} plain runs, {projects} agents at once | {plainWall:0.0} s | {plainUsed / 1000:0.0} s | {plainUsed / (projects * runs):0} ms |");
}

async Task Recovery()
{
    var dir = Path.Combine(work, "journal");
    Directory.CreateDirectory(dir);
    var cs = $"Data Source={Path.Combine(dir, "journal.db")};Pooling=True";
    using (var c = new SqliteConnection(cs))
    {
        c.Open();
        using var wal = c.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL;";
        wal.ExecuteNonQuery();
    }

    var config = ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.persistence.journal.sql { connection-string = "{{cs}}", provider-name = "SQLite.MS", parallelism = 1 }
        akka.persistence.snapshot-store.sql { connection-string = "{{cs}}", provider-name = "SQLite.MS" }
        """)
        .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(root, "hocon", "persistence.conf"))))
        .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(root, "hocon", "darkfactory.conf"))));
    const string id = "p-bench01";
    const string snapshotted = "p-bench02";
    var samples = ProjectJournal(id, events);
    var snapshotSamples = ProjectJournal(snapshotted, events);
    using (var system = ActorSystem.Create("bench", config))
    {
        var writer = system.ActorOf(Props.Create(() => new Writer("project-" + id)));
        await writer.Ask<Written>(Written.Instance, TimeSpan.FromMinutes(1));
        foreach (var e in samples)
        {
            writer.Tell(e);
        }

        await writer.Ask<Written>(Written.Instance, TimeSpan.FromMinutes(10));

        // the same journal as the daemon keeps it (SnapshotEvery = 100), at its worst: a snapshot and 99 events after it
        var at = snapshotSamples.Count - 99;
        var second = system.ActorOf(Props.Create(() => new Writer("project-" + snapshotted)));
        await second.Ask<Written>(Written.Instance, TimeSpan.FromMinutes(1));
        foreach (var e in snapshotSamples.Take(at))
        {
            second.Tell(e);
        }

        await second.Ask<Written>(Written.Instance, TimeSpan.FromMinutes(10));
        await second.Ask<Written>(new SaveState(Replay(snapshotSamples.Take(at), out _)), TimeSpan.FromMinutes(1));
        foreach (var e in snapshotSamples.Skip(at))
        {
            second.Tell(e);
        }

        await second.Ask<Written>(Written.Instance, TimeSpan.FromMinutes(10));
        await system.Terminate();
    }

    var settings = new ProjectSettings
    {
        ProjectsDirectory = Path.Combine(work, "projects"),
        WorktreeRoot = Path.Combine(work, "worktrees"),
        SnapshotEvery = int.MaxValue,
    };
    var cold = new List<double>();
    var warm = new List<double>();
    var raw = new List<double>();
    var apply = new List<double>();
    var counted = new List<double>();
    var fromSnapshot = new List<double>();
    for (var i = 0; i < repeats; i++)
    {
        raw.Add(RawRead(cs));
        if (Replay(samples, out var ms).Status != ProjectStatus.Completed)
        {
            throw new InvalidOperationException("the journal does not replay to a completed project");
        }

        apply.Add(ms);
        using var system = ActorSystem.Create("recover", config);
        cold.Add(await Recover(system, id));
        warm.Add(await Recover(system, id));
        counted.Add(await Count(system));
        fromSnapshot.Add(await Recover(system, snapshotted));
        await system.Terminate();
    }

    Console.WriteLine();
    Console.WriteLine($"### Recovery of a project with {samples.Count:N0} events (SQLite, WAL, snapshots off), load {Load()}");
    Console.WriteLine("| | median | runs |");
    Console.WriteLine("|---|---|---|");
    Console.WriteLine($"| ProjectActor recovery, cold (new actor system) | **{BenchSupport.Median(cold):0} ms** | {string.Join(", ", cold.Select(x => x.ToString("0", CultureInfo.InvariantCulture)))} |");
    Console.WriteLine($"| ProjectActor recovery, warm | {BenchSupport.Median(warm):0} ms | {string.Join(", ", warm.Select(x => x.ToString("0", CultureInfo.InvariantCulture)))} |");
    Console.WriteLine($"| baseline: SELECT + deserialize the same rows | {BenchSupport.Median(raw):0} ms | {string.Join(", ", raw.Select(x => x.ToString("0", CultureInfo.InvariantCulture)))} |");
    Console.WriteLine($"| baseline: a persistent actor that only counts the same events (the journal's replay), warm | {BenchSupport.Median(counted):0} ms | {string.Join(", ", counted.Select(x => x.ToString("0", CultureInfo.InvariantCulture)))} |");
    Console.WriteLine($"| ProjectActor recovery as the daemon keeps the journal (a snapshot every 100 events; at its worst: the snapshot + 99 events), warm | **{BenchSupport.Median(fromSnapshot):0} ms** | {string.Join(", ", fromSnapshot.Select(x => x.ToString("0", CultureInfo.InvariantCulture)))} |");
    Console.WriteLine($"| ProjectStateRules.Apply of the same events, in memory | {BenchSupport.Median(apply):0.0} ms | {string.Join(", ", apply.Select(x => x.ToString("0.0", CultureInfo.InvariantCulture)))} |");

    async Task<double> Recover(ActorSystem system, string project)
    {
        var sw = Stopwatch.StartNew();
        var actor = system.ActorOf(ProjectActor.Props(project, ActorRefs.Nobody, ActorRefs.Nobody, settings));
        var found = await actor.Ask<ProjectStateFound>(new GetProjectState(project), TimeSpan.FromMinutes(2)); // answered once recovered
        var ms = sw.Elapsed.TotalMilliseconds;
        if (found.State?.Status != ProjectStatus.Completed || found.State.Tasks.Count != (events - 9) / 7)
        {
            throw new InvalidOperationException($"recovered {found.State?.Status}");
        }

        await actor.GracefulStop(TimeSpan.FromSeconds(10));
        return ms;
    }

    async Task<double> Count(ActorSystem system)
    {
        var sw = Stopwatch.StartNew();
        var actor = system.ActorOf(Props.Create(() => new Counter("project-" + id)));
        var n = await actor.Ask<long>(Written.Instance, TimeSpan.FromMinutes(2)); // answered once recovered
        var ms = sw.Elapsed.TotalMilliseconds;
        if (n != samples.Count)
        {
            throw new InvalidOperationException($"counted {n} events");
        }

        await actor.GracefulStop(TimeSpan.FromSeconds(10));
        return ms;
    }
}

// a completed project: created, planned, then per task run started/ended, commit intended/committed, gated, completed
static IReadOnlyList<IProjectEvent> ProjectJournal(string id, int n)
{
    var at = new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero);
    var count = Math.Max(1, (n - 9) / 7);
    var planned = Enumerable.Range(1, count).Select(i => new ProjectTask { Id = $"t{i}", Title = $"Task {i}", Description = "Add rate limiting to the login endpoint " + new string('.', 200), Persona = "engineer", Priority = 1 + (i % 5), CreatedAt = at }).ToList();
    var list = new List<IProjectEvent>
    {
        new ProjectCreated(id, at, "bench", "a project of the benchmark", "/srv/repo", "main", "df/bench/2026-12-06", "/var/lib/df/worktrees/projects/" + id, ["engineer"], TimeSpan.FromHours(12), TimeSpan.FromMinutes(30), 3, "planner", "reviewer", false),
        new ProjectStartRequested(id, at),
        new ProjectActivated(id, at),
        new ProjectRunStarted(id, at, "plan0001", ProjectRunPurpose.Plan, "planner-cmd", "planner"),
        new ProjectRunEnded(id, at, "plan0001", ProjectRunOutcome.Ended, 0, "```json\n{\"tasks\": [...]}\n```"),
        new TasksPlanned(id, at, "plan0001", planned),
    };
    foreach (var t in planned)
    {
        var run = "run-" + t.Id;
        list.Add(new ProjectRunStarted(id, at, run, ProjectRunPurpose.Task, "engineer-cmd", "engineer", t.Id, 1, new HandoffContext(t.Id, t.Title, "first attempt")));
        list.Add(new ProjectRunEnded(id, at, run, ProjectRunOutcome.Ended, 0, "summary: " + t.Id + " done", Cli: "command", CostUsd: 0.01m, InputTokens: 1200, OutputTokens: 300));
        list.Add(new CommitIntended(id, at, t.Id, 1, $"{t.Title}\n\nDF-Attempt: {id}/{t.Id}/1"));
        list.Add(new AttemptCommitted(id, at, t.Id, 1, "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff", [t.Id + ".txt"]));
        list.Add(new AttemptGated(id, at, t.Id, 1, [new GateResult("worktree-paths", true, 0, 0, 1), new GateResult("no-secrets", true, 0, 0, 2), new GateResult("tests", true, 0, 0, 4000, Output: "Passed!")]));
        list.Add(new TaskCompleted(id, at, t.Id, 1));
        list.Add(new ProjectStartRequested(id, at)); // padding that changes nothing, so the count is exact
    }

    list.Add(new ProjectRunStarted(id, at, "audit001", ProjectRunPurpose.Audit, "reviewer-cmd", "reviewer"));
    list.Add(new ProjectRunEnded(id, at, "audit001", ProjectRunOutcome.Ended, 0, "{\"tasks\": []}"));
    list.Add(new ProjectReportWritten(id, at, "/var/lib/df/projects/" + id + "/report.md"));
    while (list.Count < n - 1)
    {
        list.Add(new ProjectStartRequested(id, at));
    }

    list.Add(new ProjectCompleted(id, at));
    return list;
}

static ProjectState Replay(IEnumerable<IProjectEvent> journal, out double ms)
{
    var sw = Stopwatch.StartNew();
    ProjectState? s = null;
    foreach (var e in journal)
    {
        s = ProjectStateRules.Apply(s, e);
    }

    ms = sw.Elapsed.TotalMilliseconds;
    return s!;
}

static double RawRead(string cs)
{
    var sw = Stopwatch.StartNew();
    var types = Manifests.Types();
    using var c = new SqliteConnection(cs);
    c.Open();
    using var q = c.CreateCommand();
    q.CommandText = "SELECT manifest, message FROM journal WHERE persistence_id = 'project-p-bench01' ORDER BY sequence_number";
    using var r = q.ExecuteReader();
    var n = 0;
    while (r.Read())
    {
        _ = JsonSerializer.Deserialize((byte[])r["message"], types[r.GetString(0)], DarkFactoryJson.Options);
        n++;
    }

    return n == 0 ? throw new InvalidOperationException("no rows") : sw.Elapsed.TotalMilliseconds;
}

static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

int Arg(string name, int fallback) => BenchSupport.Arg(args, name, fallback);

string? ArgString(string name) => BenchSupport.ArgString(args, name);

/// <summary>
/// Persists project events (batched by the journal); answers <see cref="Written"/> when all are written, and when a
/// <see cref="SaveState"/> of the state is saved at the last event written.
/// </summary>
internal sealed class Writer : ReceivePersistentActor
{
    private IActorRef? _snapshotBy;

    public Writer(string id)
    {
        PersistenceId = id;
        Command<IProjectEvent>(e => PersistAsync(e, _ => { }));
        Command<Written>(w => DeferAsync(w, _ => Sender.Tell(w)));
        Command<SaveState>(m =>
        {
            _snapshotBy = Sender;
            SaveSnapshot(m.State);
        });
        Command<SaveSnapshotSuccess>(_ => _snapshotBy?.Tell(Written.Instance));
        Command<SaveSnapshotFailure>(f => throw f.Cause);
    }

    public override string PersistenceId { get; }
}

/// <summary>Replays a journal and does nothing with its events but count them: the floor of a recovery.</summary>
internal sealed class Counter : ReceivePersistentActor
{
    private long _count;

    public Counter(string id)
    {
        PersistenceId = id;
        Recover<IProjectEvent>(_ => _count++);
        Command<Written>(_ => Sender.Tell(_count));
    }

    public override string PersistenceId { get; }
}

internal sealed record SaveState(ProjectState State);

internal sealed record Written
{
    public static readonly Written Instance = new();
}

/// <summary>A real daemon (<c>df up</c>) with plain-command personas (tests/agents/persona.sh) and plain agents, driven over its API.</summary>
internal sealed class Daemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http;
    private readonly string _state;
    private readonly string _repo;
    private readonly string _data;

    private Daemon(Process process, HttpClient http, string state, string repo, string data)
    {
        _process = process;
        _http = http;
        _state = state;
        _repo = repo;
        _data = data;
    }

    /// <summary>The project's events as the daemon's journal holds them (read-only, beside the running daemon).</summary>
    public List<IProjectEvent> Journal(string id)
    {
        var types = Manifests.Types();
        using var c = new SqliteConnection($"Data Source={Path.Combine(_data, "darkfactory.db")};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var q = c.CreateCommand();
        q.CommandText = "SELECT manifest, message FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
        q.Parameters.AddWithValue("$id", "project-" + id);
        using var r = q.ExecuteReader();
        var events = new List<IProjectEvent>();
        while (r.Read())
        {
            events.Add((IProjectEvent)JsonSerializer.Deserialize((byte[])r["message"], types[r.GetString(0)], DarkFactoryJson.Options)!);
        }

        return events;
    }

    /// <summary>Each run's moments from these agents' history: launch begun, process running, process exited, exit recorded.</summary>
    public async Task<Dictionary<string, (DateTimeOffset Launched, DateTimeOffset Running, DateTimeOffset Exited, DateTimeOffset Recorded)>> RunMomentsAsync(IEnumerable<string> agents)
    {
        var started = new Dictionary<string, (DateTimeOffset, DateTimeOffset)>();
        var moments = new Dictionary<string, (DateTimeOffset, DateTimeOffset, DateTimeOffset, DateTimeOffset)>();
        foreach (var agent in agents)
        {
            var history = await _http.GetFromJsonAsync<JsonElement>($"/api/agents/{Uri.EscapeDataString(agent)}/history?limit=500");
            foreach (var e in history.EnumerateArray().OrderBy(e => e.GetProperty("at").GetDateTimeOffset()))
            {
                var run = e.GetProperty("run_id").GetString()!;
                if (e.GetProperty("kind").GetString() == "started")
                {
                    started[run] = (e.GetProperty("launched_at").GetDateTimeOffset(), e.GetProperty("at").GetDateTimeOffset());
                }
                else if (e.TryGetProperty("exited_at", out var x) && x.ValueKind == JsonValueKind.String && started.TryGetValue(run, out var s))
                {
                    moments[run] = (s.Item1, s.Item2, x.GetDateTimeOffset(), e.GetProperty("at").GetDateTimeOffset());
                }
            }
        }

        return moments;
    }

    public static async Task<Daemon> StartAsync(string df, string work, string root, int plainAgents)
    {
        var repo = Path.Combine(work, "repo");
        var state = Path.Combine(work, "state");
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(repo);
        Directory.CreateDirectory(state);
        Directory.CreateDirectory(Path.Combine(work, "personas"));
        Git(repo, "init", "-q", "-b", "main");
        File.WriteAllText(Path.Combine(repo, "README.md"), "# bench\n");
        Git(repo, "add", "-A");
        Git(repo, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-q", "-m", "init");
        foreach (var (persona, agent) in new[] { ("planner", "planner-cmd"), ("engineer", "engineer-cmd"), ("reviewer", "reviewer-cmd") })
        {
            File.WriteAllText(Path.Combine(work, "personas", persona + ".md"), $"---\nname: {persona}\nversion: 1\ndescription: the {persona}\nagent: {agent}\n---\nYou are the {persona}.\n");
        }

        var script = Path.Combine(root, "tests", "agents", "persona.sh");
        string Agent(string name, string mode, string stateDir) => $"""
              - name: {name}
                layer: growth
                command: ["{script}", "{mode}"]
                restart: temporary
                sandbox: off
                env:
                  STATE_DIR: "{stateDir}"

            """;
        var plainState = Path.Combine(work, "plain-state");
        Directory.CreateDirectory(plainState);
        var fleet = "version: 1\nagents:\n"
            + Agent("planner-cmd", "plan", state) + Agent("engineer-cmd", "work", state) + Agent("reviewer-cmd", "audit", state)
            + string.Concat(Enumerable.Range(1, plainAgents).Select(i => Agent($"plain-{i}", "work", plainState)))
            + $"projects:\n  personas_dir: personas\n  concurrency: {plainAgents}\n";
        File.WriteAllText(Path.Combine(work, "fleet.yaml"), fleet);

        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { df, "up", "--fleet", Path.Combine(work, "fleet.yaml"), "--data-dir", data, "--listen", "127.0.0.1:0" })
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var endpoint = Path.Combine(data, "daemon.json");
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!File.Exists(endpoint))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the daemon did not start");
            }

            await Task.Delay(50);
        }

        var json = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(endpoint));
        var http = new HttpClient { BaseAddress = new Uri(json.GetProperty("url").GetString()!) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", json.GetProperty("token").GetString());
        var daemon = new Daemon(process, http, state, repo, data);
        await daemon.Until(async () => (await http.GetAsync("/api/health/ready")).IsSuccessStatusCode, "readiness");
        return daemon;
    }

    /// <summary>The planner's next answer: n independent tasks for the engineer.</summary>
    public void Plan(int n) => File.WriteAllText(Path.Combine(_state, "plan.json"), JsonSerializer.Serialize(new
    {
        tasks = Enumerable.Range(1, n).Select(i => new { title = $"Task {i}", description = $"write file {i}", priority = 1, dependencies = Array.Empty<string>(), persona = "engineer" }),
    }));

    public async Task<string> InitAsync(string name)
    {
        while (true)
        {
            var response = await _http.PostAsJsonAsync("/api/projects", new { name, description = "benchmark project", personas = new[] { "engineer" }, repo = _repo, base_branch = "main" });
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (response.IsSuccessStatusCode)
            {
                return body.GetProperty("id").GetString()!;
            }

            if (!body.ToString().Contains("not applied yet", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"init {name}: {body}");
            }

            await Task.Delay(50);
        }
    }

    public async Task StartProjectAsync(string id) => (await _http.PostAsync($"/api/projects/{id}/start", null)).EnsureSuccessStatusCode();

    public Task UntilDoneAsync(IReadOnlyList<string> ids) => Until(
        async () =>
        {
            var list = await _http.GetFromJsonAsync<JsonElement>("/api/projects");
            var statuses = list.EnumerateArray().Where(p => ids.Contains(p.GetProperty("id").GetString())).Select(p => p.GetProperty("status").GetString()).ToList();
            if (statuses.Any(s => s is "failed" or "timeout"))
            {
                throw new InvalidOperationException("a project failed: " + list);
            }

            return statuses.Count == ids.Count && statuses.All(s => s == "completed");
        },
        "the projects to complete",
        delayMs: 10);

    /// <summary>Each run's own time (its launch to its process's exit) of these agents.</summary>
    public async Task<List<double>> RunTimesAsync(IEnumerable<string> agents)
    {
        var times = new List<double>();
        foreach (var agent in agents)
        {
            var history = await _http.GetFromJsonAsync<JsonElement>($"/api/agents/{Uri.EscapeDataString(agent)}/history?limit=500");
            var launched = new Dictionary<string, DateTimeOffset>();
            foreach (var e in history.EnumerateArray())
            {
                var run = e.GetProperty("run_id").GetString()!;
                if (e.GetProperty("kind").GetString() == "started")
                {
                    launched[run] = e.GetProperty("launched_at").GetDateTimeOffset();
                }
                else if (e.TryGetProperty("exited_at", out var x) && x.ValueKind == JsonValueKind.String && launched.TryGetValue(run, out var from))
                {
                    times.Add((x.GetDateTimeOffset() - from).TotalMilliseconds);
                }
            }
        }

        return times;
    }

    /// <summary>One plain run (POST run, poll its end): its wall time and its own time.</summary>
    public async Task<(double Wall, double Run)> PlainRunAsync(string agent)
    {
        var sw = Stopwatch.StartNew();
        var started = await (await _http.PostAsJsonAsync($"/api/agents/{agent}/run", new { task = "write a file" })).Content.ReadFromJsonAsync<JsonElement>();
        var runId = started.GetProperty("run_id").GetString();
        double run = 0;
        await Until(
            async () =>
            {
                var history = await _http.GetFromJsonAsync<JsonElement>($"/api/agents/{agent}/history?limit=10");
                DateTimeOffset? launchedAt = null, exitedAt = null;
                foreach (var e in history.EnumerateArray().Where(e => e.GetProperty("run_id").GetString() == runId))
                {
                    if (e.GetProperty("kind").GetString() == "started")
                    {
                        launchedAt = e.GetProperty("launched_at").GetDateTimeOffset();
                    }
                    else if (e.TryGetProperty("exited_at", out var x) && x.ValueKind == JsonValueKind.String)
                    {
                        exitedAt = x.GetDateTimeOffset();
                    }
                }

                if (launchedAt is { } l && exitedAt is { } x2)
                {
                    run = (x2 - l).TotalMilliseconds;
                    return true;
                }

                return false;
            },
            "a plain run",
            delayMs: 10);
        return (sw.Elapsed.TotalMilliseconds, run);
    }

    /// <summary>The daemon process's CPU time (user + system), ms.</summary>
    public double CpuMs()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0; // 100 ticks/s
    }

    private async Task Until(Func<Task<bool>> condition, string what, int delayMs = 50)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException("waited too long for " + what);
            }

            await Task.Delay(delayMs);
        }
    }

    private static void Git(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = dir, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        _process.Dispose();
    }
}

/// <summary>The message types of the journal, by manifest.</summary>
internal static class Manifests
{
    public static Dictionary<string, Type> Types() => typeof(ProjectCreated).Assembly.GetTypes()
        .SelectMany(t => t.GetCustomAttributes(typeof(ManifestAttribute), false).Cast<ManifestAttribute>().Select(m => (m.Name, Type: t)))
        .ToDictionary(x => x.Name, x => x.Type, StringComparer.Ordinal);
}
