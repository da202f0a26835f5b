using Akka.Actor;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>From a run request to a launchable run (or why not), without an actor.</summary>
public sealed class RunLauncherTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDaemon _daemon = new();

    private LayerServices Services => _daemon.Services(ActorRefs.Nobody, ActorRefs.Nobody);

    private static AgentSpec Command(string name = "worker") => new() { Name = name, Command = ["/bin/echo", "hi"], Task = "declared task" };

    private static ProviderSpec Provider(string name, int priority) => new() { Name = name, Cli = CliCatalog.Claude, Priority = priority, Model = name + "-model" };

    [Fact]
    public void A_command_agent_is_planned_with_its_task_and_ids_and_no_route()
    {
        var request = new RunRequest(Command()) { Task = "fix it", TaskId = "t-1", ProjectId = "p-1" };

        var ready = Assert.IsType<LaunchResult.Ready>(RunLauncher.Launch(request, [], Services, Now));

        Assert.Null(ready.Route);
        Assert.Equal(("worker", "t-1", "p-1"), (ready.Run.Agent, ready.Run.TaskId, ready.Run.ProjectId));
        Assert.Equal("fix it", ready.Run.Plan.Stdin);
        Assert.Equal("fix it", ready.Run.Plan.Environment["DF_TASK"]);
        Assert.Equal(("t-1", "p-1"), (ready.Run.Plan.Environment["DF_TASK_ID"], ready.Run.Plan.Environment["DF_PROJECT"]));
        Assert.Equal(ready.Run.Plan.Environment["TMPDIR"], ready.Run.Plan.WorkingDirectory); // its own run directory, never the data directory
        Assert.EndsWith("/worker/" + ready.Run.RunId, ready.Run.Plan.RunMarker);
        Assert.Null(ready.Run.Events);
    }

    [Fact]
    public void A_run_without_ids_has_no_id_variables()
    {
        var ready = Assert.IsType<LaunchResult.Ready>(RunLauncher.Launch(new RunRequest(Command()), [], Services, Now));

        Assert.False(ready.Run.Plan.Environment.ContainsKey("DF_TASK_ID"));
        Assert.False(ready.Run.Plan.Environment.ContainsKey("DF_PROJECT"));
    }

    [Theory]
    [InlineData(null, null, null)]
    [InlineData(null, "fix it", "fix it")]
    [InlineData("say what you do", "fix it", "say what you do\n\nfix it")]
    [InlineData("say what you do", null, "say what you do\n\ndeclared task")]
    public void The_prompt_is_the_hint_before_the_task(string? hint, string? task, string? expected) =>
        Assert.Equal(expected, RunLauncher.Prompt(new RunRequest(Command()) { Hint = hint, Task = task }));

    [Fact]
    public void A_run_gets_its_own_working_directory_when_the_request_names_one()
    {
        var worktree = Directory.CreateDirectory(Path.Combine(_daemon.Directory, "worktree")).FullName;

        var ready = Assert.IsType<LaunchResult.Ready>(RunLauncher.Launch(new RunRequest(Command()) { Workdir = worktree }, [], Services, Now));

        Assert.Equal(worktree, ready.Run.Plan.WorkingDirectory);
    }

    [Fact]
    public void A_declaration_that_cannot_be_launched_is_unavailable_with_the_reason()
    {
        var missingSecret = Command() with { Env = new Dictionary<string, EnvValue> { ["TOKEN"] = new() { FromEnv = "DF_TEST_UNSET_SECRET_9f3" } } };
        var missingDir = Command() with { Workdir = Path.Combine(_daemon.Directory, "nope") };

        Assert.Equal(
            "env.TOKEN: environment variable DF_TEST_UNSET_SECRET_9f3 is not set",
            Assert.IsType<LaunchResult.Unavailable>(RunLauncher.Launch(new RunRequest(missingSecret), [], Services, Now)).Reason);
        Assert.Contains("does not exist", Assert.IsType<LaunchResult.Unavailable>(RunLauncher.Launch(new RunRequest(missingDir), [], Services, Now)).Reason);
    }

    [Fact]
    public void An_ai_run_is_routed_past_a_limited_provider_and_waits_when_every_one_is_limited()
    {
        var coder = new AgentSpec { Name = "coder", Cli = CliCatalog.Claude, Command = ["/fake/claude"] };
        var fleet = new FleetSpec { Providers = [Provider("a", 1), Provider("b", 2)], Agents = [coder] };
        var routes = new RouteBoard();
        var services = Services with { Routes = routes };
        var limited = new ProviderCondition(ProviderState.Limited, Now.AddHours(1), "429");
        var request = new RunRequest(coder) { Task = "add a test", TaskId = "t-1" };

        routes.Publish(new RoutingPolicy(fleet), ProviderBoard.Empty.With(providers: new Dictionary<string, ProviderCondition> { ["a"] = limited }));
        var ready = Assert.IsType<LaunchResult.Ready>(RunLauncher.Launch(request, fleet.Providers, services, Now));

        Assert.Equal(("b", "b-model", "t-1"), (ready.Route!.Provider, ready.Route.Model, ready.Route.TaskId));
        Assert.Equal((ready.Run.RunId, Now), (ready.Route.RunId, ready.Route.At));
        Assert.Equal("b", ready.Run.Provider);
        Assert.NotNull(ready.Run.Events);

        routes.Publish(new RoutingPolicy(fleet), ProviderBoard.Empty.With(providers: new Dictionary<string, ProviderCondition> { ["a"] = limited, ["b"] = limited }));
        Assert.IsType<LaunchResult.WaitingForRoute>(RunLauncher.Launch(request, fleet.Providers, services, Now));
    }

    [Fact]
    public void An_agent_whose_program_is_not_on_the_path_is_missing_with_the_command_that_installs_it()
    {
        var claude = new AgentSpec { Name = "coder", Cli = CliCatalog.Claude };

        var missing = RunLauncher.Missing(claude, _ => null);

        Assert.Equal(("'claude' is not installed", "npm install -g @anthropic-ai/claude-code"), missing);
        Assert.Null(RunLauncher.Missing(claude, name => "/usr/bin/" + name));
        Assert.Null(RunLauncher.Missing(Command(), _ => null)); // an explicit path needs no lookup
        Assert.Equal(("'my-tool' is not installed", null), RunLauncher.Missing(Command() with { Command = ["my-tool"] }, _ => null));
    }

    public void Dispose() => _daemon.Dispose();
}
