using System.CommandLine;
using DarkFactory.Host.Api;
using DarkFactory.Host.Cluster;

namespace DarkFactory.Host.Cli;

/// <summary>The `df` command line: `df up` runs the daemon; every other command talks to it over its API.</summary>
public static partial class CliApp
{
    private static readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "The daemon's data directory (default: $DF_DATA_DIR, else ./.darkfactory)",
        Recursive = true,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        var parse = Root().Parse(args);
        try
        {
            // The daemon handles SIGTERM/SIGINT itself (graceful drain): no time limit from the parser.
            return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
        }
        catch (CliException e)
        {
            Console.Error.WriteLine("df: " + e.Message);
            return e.ExitCode;
        }
    }

    /// <summary>The whole command tree (also read by the completion script generator and the tests).</summary>
    public static RootCommand Root()
    {
        var root = new RootCommand("Dark Factory: a lights-out runtime for fleets of AI coding agents.\nExample: ./df up --fleet fleet.yaml");
        root.Options.Add(DataDir);
        root.Subcommands.Add(Up());
        root.Subcommands.Add(Validate());
        root.Subcommands.Add(Status());
        root.Subcommands.Add(Agents());
        root.Subcommands.Add(AgentCommand("start", "Start a run of an agent now", "start", withTask: true));
        root.Subcommands.Add(AgentCommand("stop", "Stop an agent gracefully (SIGTERM, grace period, SIGKILL) and keep it stopped", "stop"));
        root.Subcommands.Add(AgentCommand("restart", "Restart an agent; also releases a quarantined one", "restart"));
        root.Subcommands.Add(Run());
        root.Subcommands.Add(Schedule());
        root.Subcommands.Add(Drift());
        root.Subcommands.Add(Escalations());
        root.Subcommands.Add(Logs());
        root.Subcommands.Add(History());
        root.Subcommands.Add(Reload());
        root.Subcommands.Add(Review());
        root.Subcommands.Add(ProjectCommands.Init(Data));
        root.Subcommands.Add(ProjectCommands.Tasks(Data));
        root.Subcommands.Add(ProjectCommands.Pause(Data));
        root.Subcommands.Add(ProjectCommands.Resume(Data));
        root.Subcommands.Add(ProjectCommands.List(Data));
        root.Subcommands.Add(ProjectCommands.Export(Data));
        root.Subcommands.Add(PersonaCommands.Personas(Data));
        root.Subcommands.Add(BranchCommands.Branches(Data));
        root.Subcommands.Add(ControlCommands.Dashboard(Data));
        root.Subcommands.Add(ControlCommands.Capabilities(Data));
        root.Subcommands.Add(ControlCommands.Events(Data));
        root.Subcommands.Add(RouterCommands.Route(Data));
        root.Subcommands.Add(RouterCommands.Costs(Data));
        root.Subcommands.Add(RouterCommands.Providers(Data));
        root.Subcommands.Add(ProviderCommands.Provider(Data));
        root.Subcommands.Add(ControlCommands.Wait(Data));
        root.Subcommands.Add(ClusterCommands.Nodes(Data));
        root.Subcommands.Add(OpsCommands.Doctor(Data));
        root.Subcommands.Add(OpsCommands.BackupCommand(Data));
        root.Subcommands.Add(OpsCommands.RestoreCommand(DataDir));
        root.Subcommands.Add(OpsCommands.Service(Data));
        root.Subcommands.Add(ScenarioCommands.Scenario(Data));
        root.Subcommands.Add(Completion.Command(Root));
        return root;
    }

    private static DataDirectory Data(ParseResult parse) => new(parse.GetValue(DataDir));

    private static Command Up()
    {
        var fleet = new Option<string>("--fleet") { Description = "The fleet file", DefaultValueFactory = _ => "fleet.yaml" };
        var listen = new Option<string>("--listen") { Description = "API address (loopback; port 0 picks a free one)", DefaultValueFactory = _ => "127.0.0.1:7780" };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string (default: SQLite in the data directory; also $DF_POSTGRES)" };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow a non-loopback --listen address (put a TLS reverse proxy in front)" };
        var logFormat = new Option<string>("--log-format")
        {
            Description = "Daemon log format: text or json (one JSON object per line; also $DF_LOG_FORMAT)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DF_LOG_FORMAT") is { Length: > 0 } f ? f : "text",
        };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var logDays = new Option<int>("--log-days")
        {
            Description = "Days of daemon log files (DIR/logs/daemon-DATE.log, one a day) kept when not under journald; 0 writes none (also $DF_LOG_DAYS)",
            DefaultValueFactory = _ => int.TryParse(Environment.GetEnvironmentVariable("DF_LOG_DAYS"), out var days) ? days : DaemonLogFile.DefaultRetentionDays,
        };
        logDays.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--log-days must be 0 or more");
            }
        });
        var allowEmptyStore = new Option<bool>("--allow-empty-store") { Description = "Start a new, empty history although the data directory held a store that is now missing or empty (refused otherwise)" };
        var node = new Option<string?>("--node") { Description = "Join an Akka.NET cluster as this node (a cluster.nodes name; PostgreSQL required). Without it: a single node, cluster: and node: ignored" };
        var clusterPort = new Option<int?>("--cluster-port") { Description = $"Cluster (Akka.Remote) port of this node (default {ClusterNodeOptions.DefaultPort}; with --node)" };
        var clusterHost = new Option<string?>("--cluster-host") { Description = $"Address the cluster port binds and other nodes reach (default {ClusterNodeOptions.Loopback}; with --node)" };
        var seeds = new Option<string[]>("--seed") { Description = "A seed node as HOST:PORT (repeatable; with --node; also cluster.seeds; none: this node starts the cluster)", AllowMultipleArgumentsPerToken = false };
        var command = new Command("up", "Run the daemon in the foreground on a fleet file.\nExample: ./df up --fleet fleet.yaml --data-dir /var/lib/darkfactory\nCluster: ./df up --node n2 --cluster-port 4054 --seed 127.0.0.1:4053 --postgres \"Host=...\"")
        {
            fleet, listen, postgres, allowRemote, logFormat, logDays, allowEmptyStore, node, clusterPort, clusterHost, seeds,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(node) is null && (r.GetValue(clusterPort) is not null || r.GetValue(clusterHost) is not null || r.GetValue(seeds) is { Length: > 0 }))
            {
                r.AddError("--cluster-port, --cluster-host and --seed need --node NAME (the cluster node this daemon is)");
            }
        });
        command.SetAction(parse => DaemonHost.RunAsync(new DaemonOptions(
            Path.GetFullPath(parse.GetValue(fleet)!), Data(parse), parse.GetValue(listen)!, parse.GetValue(postgres), parse.GetValue(allowRemote), parse.GetValue(logFormat)!, parse.GetValue(logDays), parse.GetValue(allowEmptyStore),
            parse.GetValue(node) is { } name
                ? new ClusterNodeOptions(name, parse.GetValue(clusterPort) ?? ClusterNodeOptions.DefaultPort, parse.GetValue(seeds) ?? [], parse.GetValue(clusterHost) ?? ClusterNodeOptions.Loopback)
                : null)));
        return command;
    }

    private static Command Validate()
    {
        var file = new Argument<string>("file") { Description = "The fleet file to check", DefaultValueFactory = _ => "fleet.yaml" };
        var json = JsonOption("Print the diagnostics as JSON");
        var command = new Command("validate", "Check a fleet file: every error with file, line, column and field.\nExample: ./df validate fleet.yaml") { file, json };
        command.SetAction(parse =>
        {
            var result = FleetLoader.LoadFile(parse.GetValue(file)!);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { ok = result.Ok, diagnostics = result.Diagnostics }, DarkFactoryJson.Indented));
            }
            else
            {
                foreach (var d in result.Diagnostics)
                {
                    (d.IsError ? Console.Error : Console.Out).WriteLine(d.ToString());
                }

                if (result.Ok)
                {
                    Console.WriteLine($"{parse.GetValue(file)}: valid, {result.Fleet!.Agents.Count} agents, {result.Diagnostics.Count(d => !d.IsError)} warning(s)");
                }
                else
                {
                    Console.Error.WriteLine($"{parse.GetValue(file)}: {result.Diagnostics.Count(d => d.IsError)} error(s)");
                }
            }

            return result.Ok ? 0 : 1;
        });
        return command;
    }

    private static Command Status()
    {
        var project = new Argument<string?>("project") { Description = "A project's id or name: its status, current task, progress, runtime left, cost and tokens", Arity = ArgumentArity.ZeroOrOne };
        var json = JsonOption();
        var command = new Command("status", "Show the daemon and a summary of its fleet, or one project.\nExample: ./df status; ./df status auth-hardening --json") { project, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(Data(parse));
            if (parse.GetValue(project) is { } id)
            {
                return await ProjectCommands.Status(client, id, parse.GetValue(json), ct);
            }

            var status = await client.GetJson("/api/status", ct);
            if (parse.GetValue(json))
            {
                Print(status);
                return 0;
            }

            var daemon = status.GetProperty("daemon");
            var agents = status.GetProperty("agents");
            Console.WriteLine($"daemon   pid {daemon.GetProperty("pid")}, up since {daemon.GetProperty("started_at").GetString()}");
            Console.WriteLine($"fleet    {daemon.GetProperty("fleet").GetString()} (revision {daemon.GetProperty("revision")})");
            Console.WriteLine($"data     {daemon.GetProperty("data_dir").GetString()}");
            Console.WriteLine($"agents   {agents.GetProperty("total")}: " + string.Join(", ", agents.GetProperty("by_state").EnumerateObject().Select(p => $"{p.Value} {p.Name}")));
            return 0;
        });
        return command;
    }

    private static Command Agents()
    {
        var json = JsonOption("Print a JSON array (with NAME: the agent's object)");
        var name = new Argument<string?>("agent") { Description = "Only this agent (a cluster node asks the node that runs it)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("agents", "List the agents: layer, state, pid, restarts, last exit (a cluster node: every node's agents with a NODE column).\nExample: ./df agents --json") { name, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(Data(parse));
            var one = parse.GetValue(name);
            var agents = one is null
                ? await client.GetJson("/api/agents", ct)
                : await client.FindJson($"/api/agents/{Uri.EscapeDataString(one)}", ct) ?? throw new CliException($"no agent named '{one}' in the fleet");
            if (parse.GetValue(json))
            {
                Print(agents);
                return 0;
            }

            if (one is not null)
            {
                agents = JsonSerializer.SerializeToElement(new[] { agents });
            }

            // a cluster node answers for every node: a NODE column (- for an agent placed nowhere)
            var clustered = agents.EnumerateArray().Any(a => a.TryGetProperty("node", out _));
            var rows = agents.EnumerateArray().Select(a => (IReadOnlyList<string>)
            [
                Str(a, "name"), Str(a, "layer"), Str(a, "state"), Str(a, "pid", "-"), Str(a, "restarts", "0"),
                a.TryGetProperty("last_exit", out var e) ? (e.TryGetProperty("signal", out var s) ? $"signal {s}" : $"code {e.GetProperty("code")}") : "-",
                a.TryGetProperty("install", out var i) ? $"{Str(a, "reason")}; install: {i.GetString()}" : Str(a, "reason", string.Empty),
                Str(a, "node", "-"),
            ]);
            Table.Write(
                Console.Out,
                clustered ? ["NAME", "LAYER", "STATE", "PID", "RESTARTS", "LAST EXIT", "NOTE", "NODE"] : ["NAME", "LAYER", "STATE", "PID", "RESTARTS", "LAST EXIT", "NOTE"],
                clustered ? rows : rows.Select(r => (IReadOnlyList<string>)[.. r.Take(7)]));
            return 0;
        });
        return command;
    }

    private static Command AgentCommand(string name, string description, string verb, bool withTask = false)
    {
        var agent = new Argument<string>("agent") { Description = withTask ? "The agent's name, or a project's id or name (df start ID starts the project)" : "The agent's name" };
        var task = new Option<string?>("--task") { Description = "The task for this run (overrides the agent's task)" };
        var json = JsonOption();
        var command = new Command(name, $"{description}.\nExample: ./df {name} repo-health") { agent, json };
        if (withTask)
        {
            command.Options.Add(task);
        }

        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(Data(parse));
            if (verb == "start" && parse.GetValue(task) is null && await ProjectCommands.IsProject(client, parse.GetValue(agent)!, ct))
            {
                return await ProjectCommands.Start(client, parse.GetValue(agent)!, parse.GetValue(json), ct);
            }

            var (ok, body) = await client.PostJson($"/api/agents/{Uri.EscapeDataString(parse.GetValue(agent)!)}/{verb}", withTask ? new StartRequest(parse.GetValue(task)) : null, ct);
            if (parse.GetValue(json))
            {
                Print(body);
            }
            else
            {
                (ok ? Console.Out : Console.Error).WriteLine(body.GetProperty("message").GetString());
            }

            return ok ? 0 : 1;
        });
        return command;
    }

    private static Command Run()
    {
        var agent = new Argument<string>("agent") { Description = "The agent's name" };
        var task = new Option<string?>("--task") { Description = "The task for this run (default: the agent's task)" };
        var json = JsonOption();
        var command = new Command("run", "Start an on-demand run of an agent and print its run id.\nExample: ./df run implementer --task \"add a test for the parser\"") { agent, task, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(Data(parse));
            var (ok, body) = await client.PostJson($"/api/agents/{Uri.EscapeDataString(parse.GetValue(agent)!)}/run", new StartRequest(parse.GetValue(task)), ct);
            if (parse.GetValue(json))
            {
                Print(body);
            }
            else if (ok)
            {
                Console.WriteLine(Str(body, "run_id"));
                if (Str(body, "run_id").Length == 0)
                {
                    Console.Error.WriteLine(Str(body, "message")); // accepted without a run yet: queued, or waiting for a provider
                }
            }
            else
            {
                Console.Error.WriteLine(body.GetProperty("message").GetString());
            }

            return ok ? 0 : 1;
        });
        return command;
    }

    private static Command Schedule()
    {
        var json = JsonOption("Print a JSON array of {agent, next: [UTC times], timezone}");
        var count = new Option<int>("--count", "-n") { Description = "Firings per agent", DefaultValueFactory = _ => 5 };
        var command = new Command("schedule", "List each scheduled agent's next firings in its own time zone and in UTC.\nExample: ./df schedule --json") { json, count };
        command.SetQuery(json, Data, parse => $"/api/schedule?count={parse.GetValue(count)}", (agents, _) =>
        {
            var rows = new List<IReadOnlyList<string>>();
            foreach (var a in agents.EnumerateArray())
            {
                var utc = a.GetProperty("next").EnumerateArray().Select(t => t.GetString() ?? string.Empty).ToList();
                var local = a.GetProperty("next_local").EnumerateArray().Select(t => t.GetString() ?? string.Empty).ToList();
                var last = a.TryGetProperty("last_firing", out var l) ? $"{Str(l, "outcome")} {Str(l, "scheduled_at")}" : "-";
                for (var i = 0; i < Math.Max(1, utc.Count); i++)
                {
                    rows.Add(i == 0
                        ? [Str(a, "agent"), Str(a, "schedule"), Str(a, "timezone"), local.ElementAtOrDefault(i) ?? "-", utc.ElementAtOrDefault(i) ?? "-", last]
                        : [string.Empty, string.Empty, string.Empty, local[i], utc[i], string.Empty]);
                }
            }

            Table.Write(Console.Out, ["AGENT", "SCHEDULE", "TIMEZONE", "NEXT (LOCAL)", "NEXT (UTC)", "LAST FIRING"], rows);
            return 0;
        });
        return command;
    }

    /// <summary>The exit code of <c>df logs -f</c> when the stream ends without the user: its node went away, the agent moved, the daemon stopped.</summary>
    public const int FollowEndedExit = 3;

    private static Command Logs()
    {
        var agent = new Argument<string>("agent") { Description = "The agent's name" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new output" };
        var tail = new Option<int>("--tail", "-n") { Description = "Lines to print from the end", DefaultValueFactory = _ => 100 };
        var command = new Command("logs", $"Print an agent's output log. With -f, exit {FollowEndedExit} when the stream ends without you (the node that runs the agent went away, the agent moved or was placed nowhere, the daemon stopped; a last 'df: ...' line says why).\nExample: ./df logs disk-guard -f") { agent, follow, tail };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(Data(parse));
            var following = parse.GetValue(follow);
            using var response = await client.Stream($"/api/agents/{Uri.EscapeDataString(parse.GetValue(agent)!)}/logs?tail={parse.GetValue(tail)}&follow={(following ? "true" : "false")}", ct);
            await using var stdout = Console.OpenStandardOutput();
            try
            {
                await (await response.Content.ReadAsStreamAsync(ct)).CopyToAsync(stdout, ct);
            }
            catch (OperationCanceledException)
            {
                return 0; // interrupted (Ctrl-C)
            }
            catch (IOException)
            {
                Console.Error.WriteLine("df: the daemon stopped while following");
                return following ? FollowEndedExit : 1;
            }

            // a followed log never ends by itself: the other side ended it (its last line says why)
            return following ? FollowEndedExit : 0;
        });
        return command;
    }

    private static Command History()
    {
        var agent = new Argument<string>("agent") { Description = "The agent's name" };
        var json = JsonOption("Print a JSON array");
        var limit = new Option<int>("--limit") { Description = "Entries to show", DefaultValueFactory = _ => 50 };
        var command = new Command("history", "Show an agent's persisted lifecycle history (survives daemon restarts).\nExample: ./df history ci-watchdog") { agent, json, limit };
        command.SetQuery(json, Data, parse => $"/api/agents/{Uri.EscapeDataString(parse.GetValue(agent)!)}/history?limit={parse.GetValue(limit)}", (entries, _) =>
        {
            Table.Write(Console.Out, ["AT", "EVENT", "RUN", "PID", "EXIT", "DETAIL"], entries.EnumerateArray().Select(e => (IReadOnlyList<string>)
            [
                Str(e, "at"), Str(e, "kind"), Str(e, "run_id", "-"), Str(e, "pid", "-"),
                e.TryGetProperty("signal", out var s) ? $"signal {s}" : Str(e, "exit_code", "-"), Str(e, "detail", string.Empty),
            ]));
            return 0;
        });
        return command;
    }

    private static Command Reload()
    {
        var json = JsonOption();
        var allowEmpty = new Option<bool>("--allow-empty") { Description = "Apply the file even if it stops every agent or every safety agent (refused otherwise: a truncated file looks like that)" };
        var command = new Command("reload", "Re-read the fleet file and apply it by reconciliation (same as SIGHUP).\nExample: ./df reload") { json, allowEmpty };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(Data(parse));
            var (ok, body) = await client.PostJson(parse.GetValue(allowEmpty) ? "/api/reload?allow_empty=true" : "/api/reload", null, ct);
            if (parse.GetValue(json))
            {
                Print(body);
                return ok ? 0 : 1;
            }

            foreach (var d in body.GetProperty("diagnostics").EnumerateArray())
            {
                var line = $"{Str(d, "file")}:{Str(d, "line")}:{Str(d, "column")}: {Str(d, "severity")}: {Str(d, "field")}: {Str(d, "message")}";
                (Str(d, "severity") == "error" ? Console.Error : Console.Out).WriteLine(line);
            }

            if (!ok)
            {
                if (Str(body, "refused") is { Length: > 0 } refused)
                {
                    Console.Error.WriteLine("df: " + refused);
                }

                Console.Error.WriteLine("fleet file refused; the running fleet is unchanged");
                return 1;
            }

            var changes = body.GetProperty("changes");
            foreach (var kind in new[] { "started", "restarted", "stopped", "updated" })
            {
                var names = changes.TryGetProperty(kind, out var list) ? list.EnumerateArray().Select(n => n.GetString()).ToList() : [];
                if (names.Count > 0)
                {
                    Console.WriteLine($"{kind}: {string.Join(", ", names)}");
                }
            }

            Console.WriteLine($"fleet revision {changes.GetProperty("revision")} applied ({changes.GetProperty("unchanged").GetArrayLength()} agents unchanged)");
            return 0;
        });
        return command;
    }

    internal static string Str(JsonElement e, string property, string missing = "") =>
        e.TryGetProperty(property, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()
            : missing;

    internal static void Print(JsonElement json) => Console.WriteLine(JsonSerializer.Serialize(json, DarkFactoryJson.Indented));

    /// <summary>The <c>--json</c> flag of a command that can print its answer as JSON; <paramref name="description"/> says what it prints.</summary>
    internal static Option<bool> JsonOption(string description = "Print JSON") => new("--json") { Description = description };
}
