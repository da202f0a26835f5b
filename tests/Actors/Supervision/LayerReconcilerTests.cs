using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Supervision;

public sealed class LayerReconcilerTests
{
    private static readonly AgentSpec Worker = new()
    {
        Name = "worker",
        Layer = LayerName.Core,
        Cli = CliCatalog.Claude,
        Task = "keep the build green",
        Env = new Dictionary<string, EnvValue> { ["MODE"] = EnvValue.Literal("a"), ["TOKEN"] = new EnvValue { FromEnv = "T" } },
        AllowedTools = ["Bash(git:*)"],
        Schedule = "0 * * * *",
        Capabilities = ["code"],
    };

    /// <summary>Fields a running process does not use: each one edited alone.</summary>
    public static TheoryData<string, AgentSpec> NotLaunchEdits() => new()
    {
        { nameof(AgentSpec.Schedule), Worker with { Schedule = "*/5 * * * *" } },
        { nameof(AgentSpec.Timezone), Worker with { Timezone = "Europe/Berlin" } },
        { nameof(AgentSpec.Capabilities), Worker with { Capabilities = ["code", "review"] } },
        { nameof(AgentSpec.Budget), Worker with { Budget = new AgentBudget { PerDay = 3m } } },
        { nameof(AgentSpec.Restart), Worker with { Restart = RestartType.Temporary } },
        { nameof(AgentSpec.MinUptime), Worker with { MinUptime = TimeSpan.FromSeconds(5) } },
        { nameof(AgentSpec.Log), Worker with { Log = new LogRetention { MaxBytes = 1L << 30, Keep = 9 } } },
        { nameof(AgentSpec.Overlap), Worker with { Overlap = OverlapPolicy.Queue } },
        { nameof(AgentSpec.QueueLimit), Worker with { QueueLimit = 4 } },
        { nameof(AgentSpec.CatchUp), Worker with { CatchUp = CatchUpPolicy.All } },
        { nameof(AgentSpec.CatchUpLimit), Worker with { CatchUpLimit = 9 } },
        { nameof(AgentSpec.Jitter), Worker with { Jitter = TimeSpan.FromSeconds(30) } },
        { nameof(AgentSpec.Autostart), Worker with { Autostart = true } },
        { nameof(AgentSpec.Node), Worker with { Node = "worker-2" } },
        { nameof(AgentSpec.Failover), Worker with { Failover = FailoverPolicy.Never } },
        { nameof(AgentSpec.Layer), Worker with { Layer = LayerName.Growth } },
        { nameof(AgentSpec.Isolation), Worker with { Isolation = IsolationMode.None } }, // taken at the next run's launch
        { nameof(AgentSpec.Gates), Worker with { Gates = [new GateSpec { Name = "t", Command = ["true"] }] } }, // run after the exit
    };

    /// <summary>Fields the process is launched with: each one edited alone.</summary>
    public static TheoryData<string, AgentSpec> LaunchEdits() => new()
    {
        { nameof(AgentSpec.Cli), Worker with { Cli = CliCatalog.Codex } },
        { nameof(AgentSpec.Command), Worker with { Command = ["my-claude", "-p"] } },
        { nameof(AgentSpec.Task), Worker with { Task = "keep the tests green" } },
        { nameof(AgentSpec.Provider), Worker with { Provider = "anthropic" } },
        { nameof(AgentSpec.Model), Worker with { Model = "claude-sonnet-4-5" } },
        { nameof(AgentSpec.Workdir), Worker with { Workdir = "/srv/repo" } },
        { nameof(AgentSpec.Env), Worker with { Env = new Dictionary<string, EnvValue> { ["MODE"] = EnvValue.Literal("b"), ["TOKEN"] = new EnvValue { FromEnv = "T" } } } },
        { nameof(AgentSpec.Limits), Worker with { Limits = new ResourceLimits { OpenFiles = 64 } } },
        { nameof(AgentSpec.MaxRuntime), Worker with { MaxRuntime = TimeSpan.FromMinutes(5) } },
        { nameof(AgentSpec.Grace), Worker with { Grace = TimeSpan.FromSeconds(3) } },
        { nameof(AgentSpec.ResultGrace), Worker with { ResultGrace = TimeSpan.FromSeconds(5) } },
        { nameof(AgentSpec.PermissionMode), Worker with { PermissionMode = PermissionMode.Bypass } },
        { nameof(AgentSpec.AllowedTools), Worker with { AllowedTools = ["Bash(git:*)", "Bash(npm:*)"] } },
        { nameof(AgentSpec.Sandbox), Worker with { Sandbox = SandboxMode.Off } },
        { nameof(AgentSpec.Network), Worker with { Network = NetworkAccess.Closed } },
    };

    [Theory]
    [MemberData(nameof(NotLaunchEdits))]
    public void An_edit_of_a_field_the_process_does_not_use_updates_the_agent_without_a_restart(string field, AgentSpec edited)
    {
        var plan = LayerReconciler.Diff([Worker], [edited]);

        Assert.False(LayerReconciler.LaunchFields.Contains(field));
        Assert.Same(edited, Assert.Single(plan.Updated));
        Assert.Empty(plan.Changed);
        Assert.Empty(plan.Unchanged);
    }

    [Theory]
    [MemberData(nameof(LaunchEdits))]
    public void An_edit_of_a_field_the_process_is_launched_with_restarts_it(string field, AgentSpec edited)
    {
        var plan = LayerReconciler.Diff([Worker], [edited]);

        Assert.Contains(field, LayerReconciler.LaunchFields);
        Assert.Same(edited, Assert.Single(plan.Changed));
        Assert.Empty(plan.Updated);
    }

    [Fact]
    public void Every_field_of_an_agent_is_classified_as_launch_or_not()
    {
        // a new AgentSpec field must be placed: does editing it change the running process?
        var classified = LayerReconciler.LaunchFields
            .Concat(NotLaunchEdits().Select(row => (string)row[0]))
            .Append(nameof(AgentSpec.Name))
            .Append(nameof(AgentSpec.SourceLine))
            .ToHashSet();
        var fields = typeof(AgentSpec).GetProperties().Select(p => p.Name).ToList();

        Assert.Empty(fields.Except(classified));
        Assert.Equal(LayerReconciler.LaunchFields.Count, LaunchEdits().Count());
    }

    [Fact]
    public void Added_removed_and_untouched_agents_are_told_apart_in_declaration_order()
    {
        var keep = Worker with { Name = "keep" };
        var moved = Worker with { Name = "moved", SourceLine = 10 };
        var gone = Worker with { Name = "gone" };
        var fresh = Worker with { Name = "fresh" };

        var plan = LayerReconciler.Diff([keep, moved, gone], [fresh, moved with { SourceLine = 42 }, keep]);

        Assert.Equal(["fresh"], plan.Added.Select(a => a.Name));
        Assert.Equal(["gone"], plan.Removed);
        Assert.Equal(["moved", "keep"], plan.Unchanged);
        Assert.Empty(plan.Changed);
        Assert.Empty(plan.Updated);
    }

    [Fact]
    public void The_same_environment_in_another_order_is_the_same_launch()
    {
        var reordered = Worker with { Env = new Dictionary<string, EnvValue> { ["TOKEN"] = new EnvValue { FromEnv = "T" }, ["MODE"] = EnvValue.Literal("a") } };

        Assert.True(LayerReconciler.SameLaunch(Worker, reordered));
        Assert.False(LayerReconciler.SameLaunch(Worker, Worker with { Env = new Dictionary<string, EnvValue> { ["MODE"] = EnvValue.Literal("a") } }));
    }
}
