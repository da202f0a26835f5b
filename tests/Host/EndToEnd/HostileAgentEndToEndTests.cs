using System.Text;
using System.Text.Json;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 14's attack suite against the real daemon, sandbox on (CI installs bubblewrap): a hostile agent
/// (tests/agents/hostile.sh) tries to read the token, the database, another run's files, the daemon's
/// environment; calls the API with a stolen, a guessed and its own token beyond its scope; prints its secret
/// across the pump's read boundaries; pushes by name, URL, --no-verify, to a local bare remote and over SSH;
/// escapes with env -i setsid and a double fork. Every attempt is refused or contained, no secret reaches
/// any output, file of the data directory or answer of the API, and the run is still supervised.
/// </summary>
/// <summary>Runs only where bubblewrap can sandbox a run (CI installs it); the reason otherwise.</summary>
public sealed class SandboxFactAttribute : FactAttribute
{
    private static readonly Lazy<SandboxSupport> Support = new(() => SandboxSupport.Detect());

    public SandboxFactAttribute() => Skip = Support.Value.Available ? null : "runs cannot be sandboxed on this machine: " + Support.Value.Reason;
}

[Collection("daemon")]
public sealed class HostileAgentEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly GitFixture _git = new();
    private readonly string _marks = Directory.CreateTempSubdirectory("df-marks-").FullName;
    private readonly string _operatorHome = Directory.CreateTempSubdirectory("df-operator-").FullName;
    // another agent's declared checkout, outside /tmp (a sandbox's /tmp is its own, so a neighbour there would prove nothing)
    private readonly string _neighbour = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "df-neighbour-" + Guid.NewGuid().ToString("N")[..8])).FullName;
    private readonly int _nap = Random.Shared.Next(200_000, 900_000); // the escapees sleep _nap+1.._nap+3 seconds
    private readonly Dictionary<string, string> _secrets = new(StringComparer.Ordinal)
    {
        ["DF_TEST_HOSTILE_SECRET"] = "hostile-secret-" + Guid.NewGuid().ToString("N"),
        ["DF_TEST_VICTIM_SECRET"] = "victim-secret-" + Guid.NewGuid().ToString("N"),
        ["DF_TEST_PROVIDER_KEY"] = "sk-provider-" + Guid.NewGuid().ToString("N"),
        ["DF_TEST_FORGE_TOKEN"] = "ghp_forge" + Guid.NewGuid().ToString("N"),
    };

    public HostileAgentEndToEndTests()
    {
        _git.DayOfHistory(DateTimeOffset.UtcNow);
        File.WriteAllText(Path.Combine(_operatorHome, ".netrc"), $"machine forge login operator password {_secrets["DF_TEST_FORGE_TOKEN"]}\n");
        Directory.CreateDirectory(Path.Combine(_operatorHome, ".ssh"));
        File.WriteAllText(Path.Combine(_operatorHome, ".ssh", "id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY----- operator\n");
        File.WriteAllText(Path.Combine(_neighbour, "secret.txt"), _secrets["DF_TEST_VICTIM_SECRET"]);
    }

    /// <summary>Every attempt the agent makes and must not manage, by the name it prints.</summary>
    private static readonly string[] Attempts =
    [
        "read-token", "walk-up-to-token", "read-database", "list-logs", "read-other-run", "list-other-runs", "list-worktrees",
        "read-operator-home", "read-daemon-environ", "env-credentials", "reach-standby", "api-guessed-token", "api-run-token-stop-other",
        "api-run-token-reload", "api-run-token-other-logs", "api-run-token-start-safety-agent", "push-by-name",
        "push-by-url-no-verify", "push-local-bare", "write-remote-hooks", "push-ssh", "find-ssh-keys", "ssh-agent", "credential-helper",
    ];

    [SandboxFact]
    public async Task A_hostile_agent_is_refused_or_contained_and_no_secret_leaves_it()
    {
        var worktree = Path.Combine(_git.Root, "hostile-wt");
        GitFixture.Run(_git.Repo, "worktree", "add", "-q", "-b", "hostile", worktree);
        await using var daemon = new DaemonProcess("version: 1\n");
        File.WriteAllText(daemon.FleetPath, $"""
            version: 1
            nightwatch: {"{"} loop_repeats: 1000 {"}"} # the boundary lines look alike: Nightwatch would restart a looping agent
            agents:
              - name: victim
                layer: safety
                command: ["/bin/sh", "-c", "printf '%s' \"$VICTIM_SECRET\" > secret.txt; echo ready; exec sleep 100000"]
                env: {"{"} VICTIM_SECRET: {"{"} from_env: DF_TEST_VICTIM_SECRET {"}"} {"}"}
                grace: 2s
              - name: neighbour
                layer: safety
                workdir: {_neighbour}
                autostart: false
                command: ["/bin/sh", "-c", "exec sleep 100000"]
              - name: hostile
                layer: growth
                workdir: {worktree}
                sandbox: required
                command: ["{DaemonProcess.Agent("hostile.sh")}", "stay", "{daemon.DataDir}", "{_git.Bare}", "{_marks}", "{_operatorHome}", "{_nap}", "{_neighbour}"]
                env: {"{"} HOSTILE_SECRET: {"{"} from_env: DF_TEST_HOSTILE_SECRET {"}"} {"}"}
                grace: 2s
            """);
        foreach (var (key, value) in _secrets)
        {
            daemon.Environment[key] = value;
        }

        daemon.Environment["GITHUB_TOKEN"] = _secrets["DF_TEST_FORGE_TOKEN"];
        daemon.Environment["HOME"] = _operatorHome;
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("victim")).GetProperty("state").GetString() == "running", Wait, "victim running");
        var victim = (await daemon.AgentAsync("victim")).GetProperty("pid").GetInt32();
        var standby = await Standby(daemon, "victim"); // its next run, waiting: the attacker must neither release nor kill it

        var seen = new StringBuilder();
        await using (var events = await SseReader.Open(daemon, "?output=hostile"))
        {
            await events.WaitFor(e => e.Name == "ready", Wait, "ready");
            var (exit, stdout, stderr) = await daemon.Df("start", "hostile");
            Assert.True(exit == 0, stdout + stderr);
            await events.WaitFor(e => e.Name == "agent-output" && e.Data.Contains("hostile: done, staying", StringComparison.Ordinal), Wait, "the attacks done");
            foreach (var e in events.Events)
            {
                seen.AppendLine(e.Data);
            }
        }

        // every attempt was made, and none was allowed
        var (_, logs, _) = await daemon.Df("logs", "hostile", "--tail", "100000");
        var restarts = (await daemon.AgentAsync("hostile")).GetProperty("restarts").GetInt32();
        Assert.True(restarts == 0, (await daemon.Df("history", "hostile", "--json")).Stdout + "\n" + string.Join('\n', logs.Split('\n').Where(l => l.Length < 200)));
        AssertAllRefused("the agent", logs, [.. Attempts, "read-other-workdir"]); // another agent's declared checkout is emptied in its sandbox
        Assert.True(logs.Contains("[***]", StringComparison.Ordinal), "the secret printed mid-line, masked"); // the agent had it, and printed it
        Assert.True(logs.Contains("*** (one byte per write)", StringComparison.Ordinal), "the secret written a byte at a time, masked");
        Assert.Equal(["main"], _git.RemoteBranches());
        Assert.False(File.Exists(Path.Combine(_git.Bare, "hooks", "post-receive")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_marks));

        // the escapees are in the run's sandbox, and die with the run; the run answers to a stop
        var hostile = await daemon.AgentAsync("hostile");
        Assert.Equal(("running", 0), (hostile.GetProperty("state").GetString(), hostile.GetProperty("restarts").GetInt32()));
        var sandbox = Sandboxed(daemon, "hostile");
        Assert.True(Escapees(sandbox).Count == 3, "in the sandbox: " + string.Join(", ", sandbox.Select(Command)));
        Assert.Equal(0, (await daemon.Df("stop", "hostile")).Exit);
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("hostile")).GetProperty("state").GetString() == "stopped", Wait, "hostile stopped");
        await DaemonProcess.Until(() => Task.FromResult(sandbox.All(p => !ProcessTree.IsAlive(p))), Wait, "every process of the sandbox gone");
        var history = await daemon.Json("history", "hostile", "--json");
        Assert.Contains(history.EnumerateArray(), e => e.GetProperty("kind").GetString() == "stopped" && e.ToString().Contains("operator", StringComparison.Ordinal));

        // the victim was not touched
        var after = await daemon.AgentAsync("victim");
        Assert.Equal(("running", victim, 0), (after.GetProperty("state").GetString(), after.GetProperty("pid").GetInt32(), after.GetProperty("restarts").GetInt32()));
        Assert.Equal(standby, await Standby(daemon, "victim")); // nor its standby: the same process, still waiting in its shell

        // no secret in any output, answer or file of the data directory
        using (var http = daemon.Client())
        {
            foreach (var path in new[] { "/api/agents/hostile/logs?tail=100000", "/api/agents/hostile/history", "/api/agents", "/api/status" })
            {
                seen.AppendLine(await http.GetStringAsync(path));
            }
        }

        seen.AppendLine(logs).AppendLine(daemon.Output);
        var token = File.ReadAllText(Path.Combine(daemon.DataDir, "token")).Trim();
        Assert.Equal(0, await daemon.StopAsync(Wait));
        var stored = DataFiles(daemon.DataDir);
        AssertNoSecret(seen.ToString(), stored, token);
    }

    /// <summary>Each attempt named was made once, and every attempt in the output was refused.</summary>
    private static void AssertAllRefused(string who, string output, IReadOnlyList<string> attempts)
    {
        var lines = output.Split('\n').Where(l => l.Contains("ATTACK ", StringComparison.Ordinal)).ToList();
        var verdicts = lines.Select(l => l[(l.IndexOf("ATTACK ", StringComparison.Ordinal) + 7)..].Trim().Split(": ", 2))
            .GroupBy(p => p[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(p => p.Length > 1 ? p[1] : "?")), StringComparer.Ordinal);
        var all = string.Join('\n', lines);
        Assert.All(attempts, name => Assert.True(verdicts.ContainsKey(name), $"{who} did not try {name}:\n{all}"));
        Assert.All(verdicts, v => Assert.True(v.Value == "refused", $"{who}: ATTACK {v.Key}: {v.Value}\n{all}"));
    }

    /// <summary>No secret of the test (the agent's, the victim's, the provider key, the forge token, the operator's token and SSH key) in the outputs or the data directory's files.</summary>
    private void AssertNoSecret(string outputs, List<(string Path, byte[] Bytes)> stored, string token)
    {
        foreach (var (name, secret) in _secrets.Append(KeyValuePair.Create("operator token", token)).Append(KeyValuePair.Create("operator SSH key", "PRIVATE KEY-----")))
        {
            Assert.False(outputs.Contains(secret, StringComparison.Ordinal), $"{name} in an output or API answer");
            var home = name == "operator token" ? new[] { "token", "daemon.json" } : []; // where it belongs
            Assert.Empty(stored.Where(f => !home.Contains(Path.GetFileName(f.Path)) && f.Bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0).Select(f => $"{name} in {f.Path}"));
        }
    }

    [SandboxFact]
    public async Task A_hostile_review_agent_and_gate_plant_and_attack_and_nothing_runs_or_leaks()
    {
        await using var daemon = new DaemonProcess("version: 1\n");
        string Hostile(string mode) => $"""["{DaemonProcess.Agent("hostile.sh")}", "{mode}", "{daemon.DataDir}", "{_git.Bare}", "{_marks}", "{_operatorHome}", "{_nap}"]""";
        File.WriteAllText(daemon.FleetPath, $"""
            version: 1
            nightwatch: {"{"} loop_repeats: 1000 {"}"} # the boundary lines look alike: Nightwatch would restart a looping agent
            agents:
              - name: fixer
                layer: growth
                sandbox: required
                command: {Hostile("review")}
                env: {"{"} HOSTILE_SECRET: {"{"} from_env: DF_TEST_HOSTILE_SECRET {"}"} {"}"}
                grace: 2s
            compound_review:
              repo: {_git.Repo}
              agent: fixer
              max_duration: 5m
              gates:
                - name: hostile-gate
                  command: {Hostile("gate")}
                - name: has-review
                  command: test -s REVIEW.md
            """);
        foreach (var (key, value) in _secrets)
        {
            daemon.Environment[key] = value;
        }

        daemon.Environment["GITHUB_TOKEN"] = _secrets["DF_TEST_FORGE_TOKEN"];
        daemon.Environment["HOME"] = _operatorHome;
        await daemon.StartAsync();

        var (exit, json, stderr) = await daemon.Df("review", "run", "--wait", "--json");
        Assert.True(exit == 0, stderr + "\n" + string.Join('\n', (await daemon.Df("logs", "fixer", "--tail", "100000")).Stdout.Split('\n').Where(l => l.Length < 300)));
        var review = JsonSerializer.Deserialize<JsonElement>(json);
        Assert.True(review.GetProperty("status").GetString() == "completed", json);
        var gates = review.GetProperty("gates").EnumerateArray().ToDictionary(g => g.GetProperty("name").GetString()!, g => g);
        Assert.True(gates["has-review"].GetProperty("passed").GetBoolean());
        var gateOutput = gates["hostile-gate"].GetProperty("output").GetString()!;
        Assert.Contains("hostile gate: done", gateOutput);

        // the agent's and the gate's every attempt refused
        var (_, agentLog, _) = await daemon.Df("logs", "fixer", "--tail", "100000");
        AssertAllRefused("the review agent", agentLog, [.. Attempts, "plant-shared-config", "plant-worktree-config", "plant-shared-hooks"]);
        AssertAllRefused("the gate", gateOutput, Attempts);
        Assert.Equal("gate environment secrets:", gateOutput.Split('\n').Single(l => l.StartsWith("gate environment secrets:", StringComparison.Ordinal)).Trim());

        // the daemon's git ran nothing the agent planted (worktree config, attributes, hooks), nothing was pushed
        Assert.Empty(Directory.EnumerateFileSystemEntries(_marks));
        Assert.Equal(["main"], _git.RemoteBranches());
        Assert.DoesNotContain("fsmonitor", GitFixture.Run(_git.Repo, "config", "--list"));

        // the escapees of the agent and of the gate died with their sandboxes
        await DaemonProcess.Until(() => Task.FromResult(Escapees(AllProcesses()).Count == 0), Wait, "no escapee left");

        // no secret in review show --json, the report, the logs, the daemon's output or the data directory
        var (_, show, _) = await daemon.Df("review", "show", review.GetProperty("id").GetString()!, "--json");
        var outputs = show + json + agentLog + File.ReadAllText(review.GetProperty("report_path").GetString()!) + daemon.Output;
        var token = File.ReadAllText(Path.Combine(daemon.DataDir, "token")).Trim();
        Assert.Equal(0, await daemon.StopAsync(Wait));
        AssertNoSecret(outputs, DataFiles(daemon.DataDir), token);
    }

    /// <summary>The host pid of an agent's standby (its next run, still in the shell that waits for the release), once there is one.</summary>
    private static async Task<int> Standby(DaemonProcess daemon, string agent)
    {
        var found = 0;
        await DaemonProcess.Until(
            () => Task.FromResult((found = ProcessTree.FindMarked($"{daemon.DaemonId}/{agent}/").SingleOrDefault(p => Command(p).StartsWith("/bin/sh -c read -r go", StringComparison.Ordinal))) > 0),
            Wait,
            agent + "'s standby");
        return found;
    }

    /// <summary>The escapees (env -i setsid, a double fork) among <paramref name="pids"/>, by what they sleep.</summary>
    private List<int> Escapees(IEnumerable<int> pids) =>
        pids.Where(p => Enumerable.Range(_nap + 1, 3).Any(n => Command(p) == $"sleep {n}")).ToList();

    /// <summary>Every live process, by pid.</summary>
    private static IEnumerable<int> AllProcesses() =>
        Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0).Where(pid => pid > 0);

    /// <summary>The host's pids of every process in the agent's sandbox (its pid namespace, found from the marked processes).</summary>
    private static List<int> Sandboxed(DaemonProcess daemon, string agent)
    {
        var host = PidNamespace(Environment.ProcessId);
        var inside = ProcessTree.FindMarked($"{daemon.DaemonId}/{agent}/").Select(PidNamespace).Where(ns => ns is not null && ns != host).Distinct().ToList();
        var ns = Assert.Single(inside);
        return AllProcesses().Where(pid => PidNamespace(pid) == ns).ToList();
    }

    private static string? PidNamespace(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/pid").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Command(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private static List<(string Path, byte[] Bytes)> DataFiles(string dataDir) =>
        Directory.EnumerateFiles(dataDir, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/worktrees/", StringComparison.Ordinal))
            .Select(f => (f, File.ReadAllBytes(f)))
            .ToList();

    public void Dispose()
    {
        _git.Dispose();
        Directory.Delete(_marks, recursive: true);
        Directory.Delete(_operatorHome, recursive: true);
        Directory.Delete(_neighbour, recursive: true);
    }
}
