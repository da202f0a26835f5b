using System.CommandLine;
using DarkFactory.Host.Scenarios;

namespace DarkFactory.Host.Cli;

/// <summary>
/// <c>df scenario</c>: the fleet's policies on virtual time, in a private sandbox (no daemon, no process, no key).
/// Exit codes: 0 every expectation holds, 1 one failed, 2 the scenario file is invalid.
/// </summary>
public static class ScenarioCommands
{
    public const int Failed = 1;
    public const int Invalid = 2;

    public static Command Scenario(Func<ParseResult, DataDirectory> data)
    {
        var command = new Command("scenario", "Test the fleet's policies on virtual time: scripted faults, fake runs, expectations.\nExample: ./df scenario list; ./df scenario run scenarios/crash-loop-quarantine.yaml");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Run());
        command.Subcommands.Add(Diff());
        command.Subcommands.Add(Record(data));
        return command;
    }

    private static Command List()
    {
        var dir = new Option<string?>("--dir") { Description = "The library directory (default: ./scenarios, else the one beside the program's repository)" };
        var json = CliApp.JsonOption("Print [{name, path, description}]");
        var command = new Command("list", "The bundled library of scenarios, one line each.\nExample: ./df scenario list --json") { dir, json };
        command.SetAction(parse =>
        {
            var library = LibraryDirectory(parse.GetValue(dir));
            if (library is null)
            {
                Console.Error.WriteLine("df: no scenarios/ directory here or beside the program (give --dir)");
                return Invalid;
            }

            var listing = ScenarioReport.List(library);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(listing, DarkFactoryJson.Indented));
                return 0;
            }

            Table.Write(Console.Out, ["NAME", "PATH", "DESCRIPTION"], listing.Select(l => (IReadOnlyList<string>)[l.Name, l.Path, FirstSentence(l.Description)]));
            return 0;
        });
        return command;
    }

    private static Command Run()
    {
        var file = new Argument<string>("file") { Description = "The scenario file" };
        var fleet = new Option<string?>("--fleet") { Description = "A fleet file that replaces the one the scenario names" };
        var seed = new Option<int?>("--seed") { Description = "The seed of every random choice (backoff jitter); default: the scenario's" };
        var json = CliApp.JsonOption("Print the timeline and the verdicts as JSON");
        var report = new Option<string?>("--report") { Description = "Also write the run as a Markdown report to this file" };
        var step = new Option<string?>("--step") { Description = "Move virtual time in fixed steps (e.g. 1s), as a plain TestKit loop would, instead of jumping to the next timer: the same outcome, slower (a comparison)" };
        var command = new Command("run", "Run a scenario in a private sandbox on virtual time and check its expectations (exit 0 pass, 1 fail, 2 invalid file).\nExample: ./df scenario run scenarios/crash-loop-quarantine.yaml --seed 7 --report out.md") { file, fleet, seed, json, report, step };
        command.SetAction(async (parse, ct) =>
        {
            var scenario = Load(parse.GetValue(file)!, parse.GetValue(fleet), parse.GetValue(seed));
            if (scenario is null)
            {
                return Invalid;
            }

            TimeSpan? tick = null;
            if (parse.GetValue(step) is { } text)
            {
                if (!Durations.TryParse(text, out var d) || d <= TimeSpan.Zero)
                {
                    Console.Error.WriteLine($"df: --step: '{text}' is not a positive duration (e.g. 1s, 500ms)");
                    return Invalid;
                }

                tick = d;
            }

            var outcome = await ScenarioRunner.RunAsync(scenario, tick);
            Console.Write(parse.GetValue(json) ? ScenarioReport.Json(outcome) + "\n" : ScenarioReport.Text(outcome));
            if (parse.GetValue(report) is { } path && !WriteReport(path, ScenarioReport.Markdown(outcome)))
            {
                return Invalid;
            }

            return outcome.Passed ? 0 : Failed;
        });
        return command;
    }

    private static Command Diff()
    {
        var file = new Argument<string>("file") { Description = "The scenario file" };
        var fleet = new Option<string>("--fleet") { Description = "The changed fleet file to compare with the scenario's own fleet", Required = true };
        var seed = new Option<int?>("--seed") { Description = "The seed of both runs; default: the scenario's" };
        var json = CliApp.JsonOption("Print {same, regressed, expectations, counts, first_difference} as JSON");
        var command = new Command("diff", "Replay a scenario's facts under its own fleet and under a changed one, and show what changes: verdicts, event counts per agent, the first difference (exit 0 nothing regressed, 1 an expectation that held now fails, 2 invalid file).\nExample: ./df scenario diff scenarios/crash-loop-quarantine.yaml --fleet new-fleet.yaml") { file, fleet, seed, json };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            var before = Load(path, null, parse.GetValue(seed));
            var after = before is null ? null : Load(path, parse.GetValue(fleet), parse.GetValue(seed));
            if (before is null || after is null)
            {
                return Invalid;
            }

            var diff = ScenarioDiff.Compare(await ScenarioRunner.RunAsync(before), await ScenarioRunner.RunAsync(after));
            Console.Write(parse.GetValue(json) ? diff.Json() + "\n" : diff.Text());
            return diff.Regressed ? Failed : 0;
        });
        return command;
    }

    private static Command Record(Func<ParseResult, DataDirectory> data)
    {
        var since = new Option<string>("--since") { Description = "How far back: a duration (6h, 90m) or an instant (2026-12-07T02:00:00Z)", Required = true };
        var agent = new Option<string[]>("--agent") { Description = "Only this agent (repeatable); default: every agent of the fleet", AllowMultipleArgumentsPerToken = false };
        var fleet = new Option<string?>("--fleet") { Description = "The fleet the scenario names; default: the one the daemon runs" };
        var name = new Option<string?>("--name") { Description = "The scenario's name; default: incident-<time>" };
        var command = new Command("record", "Turn a live daemon's persisted history into a scenario: each run's length and end, what operators did, and the outcomes as expectations (replay it with df scenario run, or under a changed fleet with df scenario diff).\nExample: ./df scenario record --since 6h --agent worker > incident.yaml") { since, agent, fleet, name };
        command.SetAction(async (parse, ct) =>
        {
            var now = DateTimeOffset.UtcNow;
            var from = Since(parse.GetValue(since)!, now);
            using var client = DaemonClient.Connect(data(parse));
            var status = await client.GetJson("/api/status", ct);
            var fleetPath = parse.GetValue(fleet) ?? status.GetProperty("daemon").GetProperty("fleet").GetString()!;
            var loaded = FleetLoader.LoadFile(fleetPath);
            if (loaded.Fleet is null)
            {
                throw new CliException($"cannot read the fleet {fleetPath}: {string.Join("; ", loaded.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()))}", Invalid);
            }

            var known = loaded.Fleet.Agents.ToDictionary(a => a.Name, StringComparer.Ordinal);
            var wanted = parse.GetValue(agent) is { Length: > 0 } named ? named : known.Keys.Order(StringComparer.Ordinal).ToArray();
            var history = new Dictionary<string, IReadOnlyList<AgentLifecycle>>(StringComparer.Ordinal);
            foreach (var a in wanted)
            {
                if (!known.ContainsKey(a))
                {
                    throw new CliException($"--agent {a}: not an agent of {fleetPath}", Invalid);
                }

                var entries = (await client.GetJson($"/api/agents/{Uri.EscapeDataString(a)}/history?limit={HistoryLimit}", ct)).Deserialize<List<AgentLifecycle>>(DarkFactoryJson.Options) ?? [];
                if (entries.Count == HistoryLimit && entries.Min(e => e.At) > from)
                {
                    Console.Error.WriteLine($"df: {a}: only its last {HistoryLimit} history entries are recorded (from {entries.Min(e => e.At):u}); earlier ones since {from:u} are left out");
                }

                history[a] = entries;
            }

            var autostart = loaded.Fleet.Agents.Where(a => a.Autostart ?? a.Layer == LayerName.Safety).Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
            var scenario = IncidentRecorder.Record(parse.GetValue(name) ?? $"incident-{now.UtcDateTime:yyyyMMdd-HHmm}", Path.GetFullPath(fleetPath), from, now, history, autostart)
                ?? throw new CliException($"no run of {(wanted.Length == 1 ? wanted[0] : "any agent")} since {from:u}: nothing to record", Failed);
            Console.Write(scenario);
            return 0;
        });
        return command;
    }

    /// <summary>The most history entries the API answers for one agent.</summary>
    private const int HistoryLimit = 500;

    private static DateTimeOffset Since(string text, DateTimeOffset now)
    {
        if (Durations.TryParse(text, out var back) && back > TimeSpan.Zero)
        {
            return now - back;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && at < now)
        {
            return at;
        }

        throw new CliException($"--since {text}: not a positive duration (6h, 90m) or an instant in the past (2026-12-07T02:00:00Z)", Invalid);
    }

    /// <summary>The scenario, or null after printing every error (file:line:column: field) to stderr.</summary>
    private static Scenario? Load(string path, string? fleet, int? seed)
    {
        var loaded = ScenarioLoader.LoadFile(path, fleet, seed);
        if (loaded.Ok)
        {
            return loaded.Scenario;
        }

        foreach (var error in loaded.Errors)
        {
            Console.Error.WriteLine(error.ToString());
        }

        Console.Error.WriteLine($"{path}: {loaded.Errors.Count} error(s)");
        return null;
    }

    /// <summary>Writes the report whole or not at all (a temporary file renamed over the target).</summary>
    private static bool WriteReport(string path, string markdown)
    {
        var full = Path.GetFullPath(path);
        var temp = full + ".tmp-" + Environment.ProcessId;
        try
        {
            File.WriteAllText(temp, markdown);
            File.Move(temp, full, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }

            Console.Error.WriteLine($"df: cannot write the report '{full}': {e.Message}");
            return false;
        }
    }

    private static string? LibraryDirectory(string? given)
    {
        if (given is not null)
        {
            return Directory.Exists(given) ? given : null;
        }

        if (Directory.Exists("scenarios"))
        {
            return "scenarios";
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scenarios");
            if (File.Exists(Path.Combine(dir.FullName, "DarkFactory.sln")) && Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string FirstSentence(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        var dot = line.IndexOf(". ", StringComparison.Ordinal);
        return dot > 0 ? line[..(dot + 1)] : line;
    }
}
