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
        var command = new Command("run", "Run a scenario in a private sandbox on virtual time and check its expectations (exit 0 pass, 1 fail, 2 invalid file).\nExample: ./df scenario run scenarios/crash-loop-quarantine.yaml --seed 7") { file, fleet, seed, json };
        command.SetAction(async (parse, ct) =>
        {
            var loaded = ScenarioLoader.LoadFile(parse.GetValue(file)!, parse.GetValue(fleet), parse.GetValue(seed));
            if (!loaded.Ok)
            {
                foreach (var error in loaded.Errors)
                {
                    Console.Error.WriteLine(error.ToString());
                }

                Console.Error.WriteLine($"{parse.GetValue(file)}: {loaded.Errors.Count} error(s)");
                return Invalid;
            }

            var outcome = await ScenarioRunner.RunAsync(loaded.Scenario!);
            Console.Write(parse.GetValue(json) ? ScenarioReport.Json(outcome) + "\n" : ScenarioReport.Text(outcome));
            return outcome.Passed ? 0 : Failed;
        });
        return command;
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
