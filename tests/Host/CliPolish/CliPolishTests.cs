using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DarkFactory.Host.Cli;
using Xunit;

namespace DarkFactory.Host.Tests.CliPolish;

public sealed class CliPolishTests
{
    private static IEnumerable<(string Path, Command Command)> All(Command command, string path = "df")
    {
        yield return (path, command);
        foreach (var child in command.Subcommands)
        {
            foreach (var c in All(child, path + " " + child.Name))
            {
                yield return c;
            }
        }
    }

    [Fact]
    public void Every_command_has_help_with_an_example()
    {
        var missing = All(CliApp.Root()).Where(c => c.Command.Description?.Contains("Example: ", StringComparison.Ordinal) != true).Select(c => c.Path).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Every_read_command_has_json()
    {
        string[] reads = ["status", "agents", "schedule", "history", "capabilities", "dashboard", "events", "wait", "validate", "reload", "tasks", "list", "costs", "init", "pause", "resume"];
        var root = CliApp.Root();
        foreach (var name in reads)
        {
            var command = root.Subcommands.Single(c => c.Name == name);
            Assert.True(command.Options.Any(o => o.Name == "--json"), $"df {name} has no --json");
        }
    }

    [Theory]
    [InlineData("bash")]
    [InlineData("zsh")]
    public async Task The_completion_script_names_every_command_and_is_valid_shell(string shell)
    {
        var root = CliApp.Root();
        var script = Completion.Script(root, shell);
        foreach (var (path, _) in All(root).Skip(1))
        {
            Assert.Contains($"path=\"{path["df ".Length..]}\"", script);
        }

        // bash parses it (zsh loads it through bashcompinit, the same syntax)
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, script);
        using var bash = Process.Start(new ProcessStartInfo("bash", ["-n", file]) { RedirectStandardError = true })!;
        var errors = await bash.StandardError.ReadToEndAsync();
        await bash.WaitForExitAsync();
        File.Delete(file);
        Assert.True(bash.ExitCode == 0, errors);
    }

    [Fact]
    public async Task Bash_completes_subcommands_and_options()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, Completion.Script(CliApp.Root(), "bash"));
        var probe = $"source {file}; COMP_WORDS=(df review ''); COMP_CWORD=2; _df; echo \"${{COMPREPLY[*]}}\"; COMP_WORDS=(df logs --f); COMP_CWORD=2; _df; echo \"${{COMPREPLY[*]}}\"";
        using var bash = Process.Start(new ProcessStartInfo("bash", ["-c", probe]) { RedirectStandardOutput = true })!;
        var lines = (await bash.StandardOutput.ReadToEndAsync()).Split('\n');
        await bash.WaitForExitAsync();
        File.Delete(file);
        Assert.Equal("list run show --data-dir --help -h", lines[0]);
        Assert.Equal("--follow", lines[1]);
    }

    [Theory]
    [InlineData("running", "[green]running[/]")]
    [InlineData("quarantined", "[red]quarantined[/]")]
    [InlineData("backoff", "[yellow]backoff[/]")]
    [InlineData("keep [watch]", "keep [[watch]]")]
    public void States_are_coloured_and_other_text_escaped(string cell, string markup) => Assert.Equal(markup, Table.Colour(cell));

    [Fact]
    public void Plain_tables_when_not_a_terminal()
    {
        var text = new StringWriter();
        Table.Write(text, ["NAME", "STATE"], [["keeper", "running"], ["once", "stopped"]]);
        Assert.Equal($"NAME    STATE{Environment.NewLine}keeper  running{Environment.NewLine}once    stopped{Environment.NewLine}", text.ToString());
    }

    [Fact]
    public void The_fleet_has_settled_when_nothing_starts_stops_or_waits_to_restart()
    {
        var progress = new ControlCommands.FleetProgress();
        JsonElement Status(string name, string state) => JsonSerializer.SerializeToElement(new { name, state });

        progress.Apply("agent-status", Status("a", "starting"));
        progress.Apply("agent-status", Status("b", "stopped"));
        progress.Apply("ready", default);
        Assert.False(progress.Done);
        Assert.Equal(1, progress.Settled);

        progress.Apply("agent-status", Status("a", "backoff"));
        Assert.False(progress.Done);
        progress.Apply("agent-status", Status("a", "running"));
        Assert.True(progress.Done);
        Assert.Equal(2, progress.Total);
    }
}
