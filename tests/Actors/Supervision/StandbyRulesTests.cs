using Akka.Actor;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>Issue 18: which runs get a standby, when one may be released, and the standby's command line.</summary>
public sealed class StandbyRulesTests
{
    private static readonly AgentSpec Command = new() { Name = "w", Cli = CliCatalog.Command, Command = ["/bin/sleep", "9"], Task = "declared" };

    [Fact]
    public void Only_a_plain_commands_own_declared_run_that_may_restart_gets_a_standby()
    {
        var plain = new RunRequest(Command);
        Assert.True(StandbyRules.Eligible(plain, RestartType.Permanent));
        Assert.True(StandbyRules.Eligible(plain, RestartType.Transient));
        Assert.False(StandbyRules.Eligible(plain, RestartType.Temporary)); // never restarted
        Assert.False(StandbyRules.Eligible(plain with { Task = "on demand" }, RestartType.Permanent));
        Assert.False(StandbyRules.Eligible(plain with { Hint = "slow down" }, RestartType.Permanent)); // Nightwatch's hint is once
        Assert.False(StandbyRules.Eligible(plain with { TaskId = "t1" }, RestartType.Permanent));
        Assert.False(StandbyRules.Eligible(plain with { Workdir = "/srv/review" }, RestartType.Permanent));
        Assert.False(StandbyRules.Eligible(new RunRequest(Command with { Cli = CliCatalog.Claude }), RestartType.Permanent)); // routed, a worktree
        Assert.False(StandbyRules.Eligible(new RunRequest(Command with { Isolation = IsolationMode.Worktree }), RestartType.Permanent));
    }

    [Fact]
    public void A_due_standby_waits_while_runs_of_its_layer_are_starting()
    {
        Assert.True(StandbyRules.WaitsForStarts(1));
        Assert.True(StandbyRules.WaitsForStarts(99)); // a cold start's last spawns
        Assert.False(StandbyRules.WaitsForStarts(0));
    }

    [Fact]
    public void A_standby_is_released_only_for_the_very_declaration_it_was_made_from()
    {
        var request = new RunRequest(Command);
        var standby = new StandbyRun(null!, ActorRefs.Nobody, request);
        Assert.True(StandbyRules.Matches(standby, request with { }, RestartType.Permanent));
        Assert.False(StandbyRules.Matches(standby, new RunRequest(Command with { }), RestartType.Permanent)); // an equal copy: a reload made it
        Assert.False(StandbyRules.Matches(standby, request with { Hint = "hint" }, RestartType.Permanent));
        Assert.Equal(AgentSpec.DefaultMinUptime, StandbyRules.Delay(Command));
    }

    [Fact]
    public void The_standby_shell_is_innermost_and_the_sandbox_still_shows_the_programs_directory()
    {
        var hidden = Directory.CreateTempSubdirectory("df-standby-tools-").FullName;
        try
        {
            var program = Path.Combine(hidden, "agent");
            var daemon = new DaemonContext("df-test", Path.GetTempPath()) { Sandbox = new SandboxSupport(true, "test", "/usr/bin/bwrap"), Hidden = [hidden] };
            var spec = Command with { Command = [program, "x"], Workdir = Path.GetTempPath() };
            var plan = LaunchPlanner.Plan(spec, [program, "x"], null, "r1", daemon, new Dictionary<string, string?> { ["PATH"] = "/usr/bin:/bin" }, _ => null, [], standby: true);
            var plain = LaunchPlanner.Plan(spec, [program, "x"], null, "r1", daemon, new Dictionary<string, string?> { ["PATH"] = "/usr/bin:/bin" }, _ => null, []);

            var argv = plan.Argv.ToList();
            Assert.Equal([.. Standby.Stub([program, "x"])], argv[^6..]);
            Assert.Equal(plain.Argv.Count(), argv.Count - 4); // the same chain, the shell's four words before the program
            Assert.Contains(hidden, argv.Take(argv.IndexOf("--")).ToList()); // bound back: the program, not the shell, is what the sandbox shows
        }
        finally
        {
            Directory.Delete(hidden);
        }
    }
}
