using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Processes;

/// <summary>Issue 15, finding 2: a task of any accepted size reaches the agent (a file and stdin; DF_TASK only when small).</summary>
public sealed class LargeTaskPlanTests
{
    private static readonly DaemonContext Daemon = new("df-test", Path.GetTempPath());

    private static readonly Dictionary<string, string?> Parent = new() { ["PATH"] = "/usr/bin:/bin" };

    private static LaunchPlan Plan(string? task, string cli = CliCatalog.Command) =>
        LaunchPlanner.Plan(new AgentSpec { Name = "worker", Cli = cli, Command = ["bash"] }, ["bash"], task, "r1", Daemon, Parent, _ => null, new List<string>());

    [Fact]
    public void A_small_task_is_in_DF_TASK_in_the_task_file_and_on_stdin()
    {
        var plan = Plan("fix it");

        var file = LaunchPlanner.TaskFile(Daemon, "worker", "r1");
        Assert.Equal("fix it", plan.Environment["DF_TASK"]);
        Assert.Equal(file, plan.Environment["DF_TASK_FILE"]);
        Assert.Equal(new RunFile(file, "fix it"), Assert.Single(plan.Files));
        Assert.StartsWith(plan.TempDirectory!, file, StringComparison.Ordinal); // in the run's own directory
        Assert.Equal("fix it", plan.Stdin);
    }

    [Fact]
    public void A_task_over_the_environment_limit_is_only_in_the_file_and_on_stdin()
    {
        // 140 KB failed the exec with E2BIG when it was passed in DF_TASK
        var task = new string('t', 140_000);

        var plan = Plan(task);

        Assert.False(plan.Environment.ContainsKey("DF_TASK"));
        Assert.Equal(task, Assert.Single(plan.Files).Content);
        Assert.Equal(task, plan.Stdin);
        Assert.All(plan.Environment.Values, v => Assert.True(v.Length <= LaunchPlanner.TaskEnvLimit));
    }

    [Fact]
    public void The_environment_limit_counts_utf8_bytes()
    {
        var justFits = new string('x', LaunchPlanner.TaskEnvLimit);
        var multiByte = new string('é', (LaunchPlanner.TaskEnvLimit / 2) + 1); // 2 bytes each: one byte over

        Assert.True(LaunchPlanner.FitsEnvironment(justFits));
        Assert.False(LaunchPlanner.FitsEnvironment(multiByte));
    }

    [Fact]
    public void No_task_no_task_file()
    {
        var plan = Plan(null);

        Assert.False(plan.Environment.ContainsKey("DF_TASK"));
        Assert.False(plan.Environment.ContainsKey("DF_TASK_FILE"));
        Assert.Empty(plan.Files);
    }

    [Fact]
    public void An_ai_cli_gets_a_large_task_as_a_pointer_to_its_task_file_on_the_command_line()
    {
        var large = new string('t', 200_000);
        var file = LaunchPlanner.TaskFile(Daemon, "worker", "r1");

        var prompt = CliAdapters.CommandLinePrompt(large, file);

        Assert.Contains(file, prompt, StringComparison.Ordinal);
        Assert.True(prompt.Length < 1000);
        Assert.Equal("short", CliAdapters.CommandLinePrompt("short", file));
    }

    [Fact]
    public void An_ai_cli_run_writes_its_task_file_beside_its_config_files()
    {
        var spec = new AgentSpec { Name = "worker", Cli = CliCatalog.Claude };
        var large = new string('t', 200_000);

        var launch = CliAdapters.Plan(spec, large, null, null, "r1", Daemon, Parent, _ => null, new List<string>());

        var file = LaunchPlanner.TaskFile(Daemon, "worker", "r1");
        Assert.Contains(launch.Plan.Files, f => f.Path == file && f.Content == large);
        Assert.DoesNotContain(launch.Plan.Arguments, a => a.Length > CliAdapters.PromptArgumentLimit);
        Assert.Contains(launch.Plan.Arguments, a => a.Contains(file, StringComparison.Ordinal));
    }
}
