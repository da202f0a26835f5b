using System.CommandLine;
using System.Text.Json;
using DarkFactory.Host.Scenarios;
using DarkFactory.Messages;

namespace DarkFactory.Host.Cli;

/// <summary>
/// <c>df scenario</c>: the fleet's policies on virtual time, in a private sandbox (no daemon, no process, no key).
/// Exit codes: 0 every expectation holds, 1 one failed, 2 the scenario file is invalid.
/// </summary>
public static class ScenarioCommands
{
    public const int Failed = 1;
    public const int Invalid = 2;

    public static Command Scenario()
    {
        var command = new Command("scenario", "Test the fleet's policies on virtual time: scripted faults, fake runs, expectations.\nExample: ./df scenario list; ./df scenario run scenarios/crash-loop-quarantine.yaml");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Run());
        command.Subcommands.Add(Diff());
        return command;
    }

    private static Command List()
    {
        var dir = new Option<string?>("--dir") { Description = "The library directory (default: ./scenarios, else the one beside the program's repository)" };
        var json = new Option<bool>("--json") { Description = "Print [{name, path, description}]" };
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
        var json = new Option<bool>("--json") { Description = "Print the timeline and the verdicts as JSON" };
        var report = new Option<string?>("--report") { Description = "Also write the run as a Markdown report to this file" };
        var command = new Command("run", "Run a scenario in a private sandbox on virtual time and check its expectations (exit 0 pass, 1 fail, 2 invalid file).\nExample: ./df scenario run scenarios/crash-loop-quarantine.yaml --seed 7 --report out.md") { file, fleet, seed, json, report };
        command.SetAction(async (parse, ct) =>
        {
            var scenario = Load(parse.GetValue(file)!, parse.GetValue(fleet), parse.GetValue(seed));
            if (scenario is null)
            {
                return Invalid;
            }

            var outcome = await ScenarioRunner.RunAsync(scenario);
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
        var json = new Option<bool>("--json") { Description = "Print {same, regressed, expectations, counts, first_difference} as JSON" };
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
