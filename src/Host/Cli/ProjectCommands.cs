using System.CommandLine;
using DarkFactory.Host.Api;
using static DarkFactory.Host.Cli.CliApp;

namespace DarkFactory.Host.Cli;

/// <summary>
/// The projects' commands: <c>df init</c>, <c>tasks</c>, <c>pause</c>, <c>resume</c>, <c>list</c>, <c>export</c>, and the
/// project forms of <c>df start ID</c>, <c>df status ID</c> and <c>df costs ID</c> (an id or a project's name), all over
/// /api/projects.
/// </summary>
public static class ProjectCommands
{
    public static readonly string[] Statuses = ["initializing", "active", "paused", "waiting_for_credits", "completed", "failed", "timeout"];

    public static Command Init(Func<ParseResult, DataDirectory> data)
    {
        var name = new Argument<string>("name") { Description = "The project's name (unique)" };
        var description = new Option<string>("--description") { Description = "What the project is to achieve (the planner's input)", Required = true };
        var personas = new Option<string>("--persona") { Description = "The personas that work on it, comma-separated (e.g. engineer,tester)", Required = true };
        var repo = new Option<string>("--repo") { Description = "The git repository it works on (in a worktree of its own)", Required = true };
        var baseBranch = new Option<string>("--base") { Description = "The branch the work starts from", DefaultValueFactory = _ => "main" };
        var maxRuntime = new Option<string?>("--max-runtime") { Description = "Runtime budget, counted only while active (default: projects.max_runtime, 12h)" };
        var createPr = new Option<bool?>("--create-pr") { Description = "Open a pull request when completed (default: projects.create_pr)" };
        var parent = new Option<string?>("--parent") { Description = "The id of the project this one branches from" };
        var json = JsonOption("Print {id, name, status, work_branch, worktree}");
        var command = new Command(
            "init",
            "Create a project: checks the personas, repository, base branch and name, makes its work branch df/<slug>/<date> and worktree; prints its id.\n"
            + "Example: ./df init auth-hardening --description \"Add rate limiting to the login endpoint, with tests\" --persona engineer,tester --repo ~/src/shop --base main --max-runtime 12h")
        {
            name, description, personas, repo, baseBranch, maxRuntime, createPr, parent, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var runtime = parse.GetValue(maxRuntime);
            if (runtime is not null && (!Durations.TryParse(runtime, out var d) || d <= TimeSpan.Zero))
            {
                throw new CliException($"--max-runtime: '{runtime}' is not a duration above 0 (e.g. 12h, 90m)");
            }

            using var client = DaemonClient.Connect(data(parse));
            var request = new InitProjectRequest(
                parse.GetValue(name),
                parse.GetValue(description),
                parse.GetValue(personas)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Path.GetFullPath(parse.GetValue(repo)!),
                parse.GetValue(baseBranch),
                runtime,
                parse.GetValue(createPr),
                parse.GetValue(parent));
            var (ok, body) = await client.PostJson("/api/projects", request, ct);
            if (!ok)
            {
                throw new CliException(Str(body, "detail"));
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(
                    new { id = Str(body, "id"), name = Str(body, "name"), status = Str(body, "status"), work_branch = Str(body, "work_branch"), worktree = Str(body, "worktree") },
                    DarkFactoryJson.Indented));
            }
            else
            {
                Console.WriteLine(Str(body, "id"));
            }

            return 0;
        });
        return command;
    }

    /// <summary><c>df status ID</c>.</summary>
    public static async Task<int> Status(DaemonClient client, string project, bool json, CancellationToken ct)
    {
        var p = await client.GetJson(ProjectPath(project), ct);
        if (json)
        {
            Print(p);
            return 0;
        }

        var tasks = p.GetProperty("tasks");
        Console.WriteLine($"project   {Str(p, "name")} ({Str(p, "id")}): {Str(p, "status")}{(p.TryGetProperty("queued", out var q) && q.GetBoolean() ? " (queued)" : string.Empty)}");
        Console.WriteLine($"goal      {Str(p, "description")}");
        Console.WriteLine($"repo      {Str(p, "repo")} (base {Str(p, "base_branch")}), work branch {Str(p, "work_branch")}");
        Console.WriteLine($"worktree  {Str(p, "worktree")}");
        Console.WriteLine($"personas  {string.Join(", ", p.GetProperty("personas").EnumerateArray().Select(e => e.GetString()))}");
        Console.WriteLine($"current   {(p.TryGetProperty("current_run", out var run) ? $"{Str(run, "purpose")} {Str(run, "task_id")} by {Str(run, "persona")} ({Str(run, "agent")}, run {Str(run, "run_id")})" : Str(p, "current_task", "-"))}");
        Console.WriteLine($"progress  {Str(tasks, "completed")}/{Str(tasks, "total")} completed, {Str(tasks, "in_progress")} in progress, {Str(tasks, "blocked")} blocked, {Str(tasks, "pending")} pending, {Str(tasks, "skipped")} skipped");
        Console.WriteLine($"runtime   {Duration(Str(p, "runtime_used"))} of {Duration(Str(p, "max_runtime"))}, {Duration(Str(p, "runtime_left"))} left");
        Console.WriteLine($"cost      ${RouterCommands.Usd(p.GetProperty("cost_usd"))}, {Str(p, "tokens")} tokens");
        foreach (var (key, label) in new[] { ("pr_url", "pr"), ("report_path", "report"), ("error", "error"), ("note", "note") })
        {
            if (Str(p, key) is { Length: > 0 } value)
            {
                Console.WriteLine($"{label,-9} {value}");
            }
        }

        return 0;
    }

    /// <summary><c>df start ID</c>.</summary>
    public static Task<int> Start(DaemonClient client, string project, bool json, CancellationToken ct) => Act(client, project, "start", null, json, ct);

    /// <summary><c>df costs ID</c>: the project's runs by task, persona and provider.</summary>
    public static async Task<int> Costs(DaemonClient client, string project, bool json, CancellationToken ct)
    {
        var report = await client.GetJson(ProjectPath(project) + "/costs", ct);
        if (json)
        {
            Print(report);
            return 0;
        }

        foreach (var (key, header) in new[] { ("by_task", "TASK"), ("by_persona", "PERSONA"), ("by_provider", "PROVIDER") })
        {
            Table.Write(Console.Out, [header, "RUNS", "INPUT", "OUTPUT", "COST (USD)"], report.GetProperty(key).EnumerateArray().Select(r => (IReadOnlyList<string>)
            [
                Str(r, "key"), Str(r, "runs"), Str(r, "input_tokens"), Str(r, "output_tokens"), RouterCommands.Usd(r.GetProperty("cost_usd")),
            ]));
            Console.WriteLine();
        }

        Console.WriteLine($"total: ${RouterCommands.Usd(report.GetProperty("total_usd"))}, {Str(report, "tokens")} tokens");
        return 0;
    }

    public static Command Tasks(Func<ParseResult, DataDirectory> data)
    {
        var project = ProjectArgument();
        var json = JsonOption("Print [{id, title, status, priority, dependencies, persona, confidence, notes, attempts: [{run_id, agent, cli, provider, exit_code, gates}]}]");
        var command = new Command("tasks", "Show a project's task list: status, persona, attempts, gate results, audit notes.\nExample: ./df tasks auth-hardening") { project, json };
        command.SetQuery(json, data, parse => ProjectPath(parse.GetValue(project)!) + "/tasks", (tasks, _) =>
        {
            Table.Write(Console.Out, ["ID", "TITLE", "STATUS", "PRI", "PERSONA", "DEPENDS ON", "ATTEMPTS", "LAST GATES", "CONFIDENCE", "NOTES"], tasks.EnumerateArray().Select(t =>
            {
                var attempts = t.GetProperty("attempts").EnumerateArray().ToList();
                var gates = attempts.Count == 0 ? "-" : string.Join(" ", attempts[^1].GetProperty("gates").EnumerateArray().Select(g => Str(g, "name") + (g.GetProperty("passed").GetBoolean() ? ":ok" : ":FAILED")));
                var notes = Str(t, "notes").Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? string.Empty;
                return (IReadOnlyList<string>)
                [
                    Str(t, "id"), Str(t, "title"), Str(t, "status"), Str(t, "priority"), Str(t, "persona"),
                    string.Join(",", t.GetProperty("dependencies").EnumerateArray().Select(d => d.GetString())), attempts.Count.ToString(CultureInfo.InvariantCulture),
                    gates.Length == 0 ? "-" : gates, Str(t, "confidence", "-"), notes,
                ];
            }));
            return 0;
        });
        return command;
    }

    public static Command Pause(Func<ParseResult, DataDirectory> data)
    {
        var project = ProjectArgument();
        var json = JsonOption("Print {ok, outcome, message, project}");
        var command = new Command("pause", "Pause a project: its run stops gracefully and where it was is recorded.\nExample: ./df pause auth-hardening") { project, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            return await Act(client, parse.GetValue(project)!, "pause", null, parse.GetValue(json), ct);
        });
        return command;
    }

    public static Command Resume(Func<ParseResult, DataDirectory> data)
    {
        var project = ProjectArgument();
        var extend = new Option<string?>("--extend") { Description = "Add this to the max runtime (continues a project that timed out)" };
        var json = JsonOption("Print {ok, outcome, message, project}");
        var command = new Command("resume", "Resume a paused project where it was (with --extend, one that timed out).\nExample: ./df resume auth-hardening --extend 2h") { project, extend, json };
        command.SetAction(async (parse, ct) =>
        {
            var more = parse.GetValue(extend);
            if (more is not null && (!Durations.TryParse(more, out var d) || d <= TimeSpan.Zero))
            {
                throw new CliException($"--extend: '{more}' is not a duration above 0 (e.g. 2h)");
            }

            using var client = DaemonClient.Connect(data(parse));
            return await Act(client, parse.GetValue(project)!, "resume", more is null ? null : new ResumeProjectRequest(more), parse.GetValue(json), ct);
        });
        return command;
    }

    public static Command List(Func<ParseResult, DataDirectory> data)
    {
        var status = new Option<string?>("--status") { Description = "Only projects with this status" };
        status.AcceptOnlyFromAmong(Statuses);
        var json = JsonOption("Print an array of the status objects (as df status ID --json)");
        var command = new Command("list", "List the projects, newest first: status, progress, runtime, cost, work branch.\nExample: ./df list --status active") { status, json };
        command.SetQuery(json, data, parse => "/api/projects" + (parse.GetValue(status) is { } s ? "?status=" + s : string.Empty), (projects, _) =>
        {
            Table.Write(Console.Out, ["ID", "NAME", "STATUS", "TASKS", "CURRENT", "RUNTIME", "COST (USD)", "WORK BRANCH"], projects.EnumerateArray().Select(p => (IReadOnlyList<string>)
            [
                Str(p, "id"), Str(p, "name"), Str(p, "status"),
                $"{Str(p.GetProperty("tasks"), "completed")}/{Str(p.GetProperty("tasks"), "total")}", Str(p, "current_task", "-"),
                $"{Duration(Str(p, "runtime_used"))}/{Duration(Str(p, "max_runtime"))}", RouterCommands.Usd(p.GetProperty("cost_usd")), Str(p, "work_branch"),
            ]));
            return 0;
        });
        return command;
    }

    public static Command Export(Func<ParseResult, DataDirectory> data)
    {
        var project = ProjectArgument();
        var format = new Option<string>("--format") { Description = "markdown (the report) or json ({project, tasks, costs})", DefaultValueFactory = _ => "markdown" };
        format.AcceptOnlyFromAmong("markdown", "json");
        var command = new Command("export", "Print a project's report.\nExample: ./df export auth-hardening --format markdown > report.md") { project, format };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            var path = ProjectPath(parse.GetValue(project)!) + "/export?format=" + parse.GetValue(format);
            if (parse.GetValue(format) == "json")
            {
                Print(await client.GetJson(path, ct));
            }
            else
            {
                Console.Write(await client.GetText(path, ct));
            }

            return 0;
        });
        return command;
    }

    /// <summary>Whether <paramref name="name"/> is a project's id or name (then <c>df start NAME</c> starts the project).</summary>
    public static async Task<bool> IsProject(DaemonClient client, string name, CancellationToken ct) =>
        await client.FindJson(ProjectPath(name), ct) is not null;

    private static async Task<int> Act(DaemonClient client, string project, string verb, object? body, bool json, CancellationToken ct)
    {
        var (ok, result) = await client.PostJson(ProjectPath(project) + "/" + verb, body, ct);
        if (json)
        {
            Print(result);
        }
        else
        {
            (ok ? Console.Out : Console.Error).WriteLine(ok ? Str(result, "message") : Str(result, "detail"));
        }

        return ok ? 0 : 1;
    }

    private static Argument<string> ProjectArgument() => new("project") { Description = "The project's id or name" };

    private static string ProjectPath(string project) => "/api/projects/" + Uri.EscapeDataString(project);

    /// <summary>"1.02:30:00" as "26h30m".</summary>
    private static string Duration(string text)
    {
        if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span))
        {
            return text.Length == 0 ? "-" : text;
        }

        var hours = (int)span.TotalHours;
        return hours > 0 ? $"{hours}h{span.Minutes:00}m" : span.Minutes > 0 ? $"{span.Minutes}m{span.Seconds:00}s" : $"{span.Seconds}s";
    }
}
