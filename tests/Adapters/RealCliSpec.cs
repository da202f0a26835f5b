using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using DarkFactory.MockModelServer;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Adapters.Tests;

/// <summary>
/// The real CLIs (npm, pinned in .ci/install-clis) run by a LayerSupervisor, headless, against the mock
/// model server on 127.0.0.1: the provider's base_url and key reach the CLI, its usage and limits come back
/// as typed events, the run's private directory is removed afterwards, and the key never reaches the log.
/// </summary>
public sealed class RealCliSpec : TestKit, IAsyncLifetime
{
    private const string Key = "sk-mock-5f1c0ffee0ddba11";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempDaemon _daemon = new();
    private readonly string _workdir;
    private readonly IActorRef _sweeper;
    private MockServer _mock = null!;

    public RealCliSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _sweeper = Sys.ActorOf(ProcessSweeper.Props(), "sweeper");
        _workdir = _daemon.Workdir();
    }

    public async Task InitializeAsync() => _mock = await MockServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _mock.DisposeAsync();
        _daemon.Dispose();
    }

    private Dictionary<string, string?> Environment()
    {
        var env = LayerServices.CurrentEnvironment().ToDictionary(StringComparer.Ordinal);
        env["PATH"] = RealClis.BinDirectory + ":" + env.GetValueOrDefault("PATH");
        env["MOCK_KEY"] = Key;
        return env;
    }

    private IActorRef Run(string cli, string model, TimeSpan? maxRuntime = null, Func<AgentSpec, AgentSpec>? shape = null)
    {
        var provider = new ProviderSpec { Name = "mock-" + cli, Cli = cli, BaseUrl = _mock.BaseUrl, ApiKeyEnv = "MOCK_KEY", Model = model };
        var agent = new AgentSpec
        {
            Name = "real-" + cli,
            Layer = LayerName.Safety,
            Cli = cli,
            Task = "Say hello",
            Provider = provider.Name,
            Workdir = _workdir,
            Autostart = true,
            Restart = RestartType.Temporary,
            MaxRuntime = maxRuntime ?? TimeSpan.FromMinutes(3),
            Grace = TimeSpan.FromSeconds(2),
        };
        agent = shape?.Invoke(agent) ?? agent;
        var layer = new LayerSpec { Name = LayerName.Safety, DefaultRestart = RestartType.Temporary };
        var actor = Sys.ActorOf(LayerSupervisor.Props(layer, _daemon.RealCliServices(_sweeper, ActorRefs.Nobody, Environment())));
        actor.Tell(new ReconcileLayer(layer, [agent], 1, [provider]), TestActor);
        ExpectMsg<LayerReconciled>(Wait);
        return actor;
    }

    private void Subscribe()
    {
        Sys.EventStream.Subscribe(TestActor, typeof(AgentUsage));
        Sys.EventStream.Subscribe(TestActor, typeof(ProviderLimited));
        Sys.EventStream.Subscribe(TestActor, typeof(AgentLifecycle));
    }

    private AgentLifecycle ExpectEnd(string agent) =>
        (AgentLifecycle)FishForMessage(
            m => m is AgentLifecycle l && (l.Kind.EndsRun() || l.Kind == LifecycleKind.Unavailable) && l.Kind != LifecycleKind.Stopped && l.Agent == agent,
            Wait);

    private async Task CompletesWithUsage(string cli, string model)
    {
        Subscribe();
        _mock.Reply(MockReply.Answer("Hello from the mock.", inputTokens: 120, outputTokens: 7));
        Run(cli, model);

        var usage = (AgentUsage)FishForMessage(m => m is AgentUsage, Wait);
        Assert.Equal("mock-" + cli, usage.Provider);
        Assert.Equal("real-" + cli, usage.Agent);
        Assert.True(usage.OutputTokens >= 7, $"output tokens {usage.OutputTokens}");
        Assert.True(usage.InputTokens + usage.CachedInputTokens >= 120, $"input tokens {usage.InputTokens}");

        var end = ExpectEnd("real-" + cli);
        Assert.Equal(LifecycleKind.Exited, end.Kind);
        Assert.Equal(0, end.ExitCode);

        var requests = _mock.Requests;
        Assert.NotEmpty(requests);
        Assert.All(requests, r => Assert.True(r.Authenticated, $"{r.Describe()} carried no key"));
        Assert.Contains(requests, r => r.Model == model);

        // the run's private HOME/TMPDIR is removed once the run is over
        await AwaitAssertAsync(() => Assert.Empty(_daemon.RunDirectories()), TimeSpan.FromSeconds(10));
        var log = await File.ReadAllTextAsync(Path.Combine(_daemon.Context.LogDirectory, $"real-{cli}.log"));
        Assert.DoesNotContain(Key, log);
    }

    [RealCliFact("claude")]
    public Task Claude_completes_a_task_and_its_usage_is_published() => CompletesWithUsage(CliCatalog.Claude, "claude-mock-1");

    [RealCliFact("codex")]
    public Task Codex_completes_a_task_and_its_usage_is_published() => CompletesWithUsage(CliCatalog.Codex, "gpt-mock-1");

    [RealCliFact("opencode")]
    public Task OpenCode_completes_a_task_and_its_usage_is_published() => CompletesWithUsage(CliCatalog.OpenCode, "mock-model-1");

    [RealCliFact("gemini")]
    public Task Gemini_completes_a_task_and_its_usage_is_published() => CompletesWithUsage(CliCatalog.Gemini, "gemini-mock-1");

    private void LimitedWithReset(string cli, string model, TimeSpan retryAfter, bool expectReset)
    {
        Subscribe();
        _mock.Reply(MockReply.RateLimited(retryAfter));
        var before = DateTimeOffset.UtcNow;
        Run(cli, model);

        // the first report may come before the CLI knows the reset time (gemini's retry notice on stderr):
        // a later one carries it
        var limited = (ProviderLimited)FishForMessage(m => m is ProviderLimited p && (!expectReset || p.ResetAt is not null), Wait);
        Assert.Equal("mock-" + cli, limited.Provider);
        Assert.Equal(LimitSource.Structured, limited.Source);
        Assert.Contains("429", limited.Reason);
        if (expectReset)
        {
            Assert.NotNull(limited.ResetAt);
            // CLIs add their own back-off and jitter to the server's retry-after
            Assert.InRange(limited.ResetAt!.Value, before + retryAfter - TimeSpan.FromSeconds(5), DateTimeOffset.UtcNow + (2 * retryAfter) + TimeSpan.FromSeconds(5));
        }
    }

    [RealCliFact("claude")]
    public void Claude_429_publishes_provider_limited_with_the_reset_time() => LimitedWithReset(CliCatalog.Claude, "claude-mock-1", TimeSpan.FromSeconds(30), expectReset: true);

    [RealCliFact("codex")]
    public void Codex_429_publishes_provider_limited() => LimitedWithReset(CliCatalog.Codex, "gpt-mock-1", TimeSpan.FromSeconds(1), expectReset: false);

    [RealCliFact("opencode")]
    public void OpenCode_429_publishes_provider_limited_with_the_reset_time() => LimitedWithReset(CliCatalog.OpenCode, "mock-model-1", TimeSpan.FromSeconds(1), expectReset: true);

    [RealCliFact("gemini")]
    public void Gemini_429_publishes_provider_limited_with_the_reset_time() => LimitedWithReset(CliCatalog.Gemini, "gemini-mock-1", TimeSpan.FromSeconds(2), expectReset: true);

    /// <summary>
    /// Gemini gives up on a 429 after its own retries and exits 173 (the status &amp; 0xFF): the run ends
    /// <c>limited</c> with that code, after its limit was published — not <c>crashed</c>, so it counts toward no
    /// quarantine.
    /// </summary>
    [RealCliFact("gemini")]
    public void Gemini_giving_up_on_a_429_ends_its_run_limited_not_crashed()
    {
        Subscribe();
        _mock.Reply(MockReply.RateLimited(TimeSpan.FromSeconds(1)));
        Run(CliCatalog.Gemini, "gemini-mock-1");

        FishForMessage(m => m is ProviderLimited { Provider: "mock-gemini" }, Wait);
        var end = ExpectEnd("real-gemini");
        Assert.True(end.Kind == LifecycleKind.Limited, $"{end.Kind} (exit {end.ExitCode}): {end.Detail}");
        Assert.Equal(173, end.ExitCode);
    }

    private void ServerErrorEndsTheRunWithoutALimit(string cli, string model)
    {
        Subscribe();
        _mock.Reply(MockReply.Error(500));
        Run(cli, model);

        var end = (AgentLifecycle)FishForMessage(
            m => m is ProviderLimited || m is AgentLifecycle { Kind: LifecycleKind.Exited or LifecycleKind.Crashed or LifecycleKind.Killed },
            Wait);
        Assert.Equal(LifecycleKind.Crashed, end.Kind); // no ProviderLimited came first: a 500 is an error, not a limit
        Assert.NotEqual(0, end.ExitCode);
    }

    [RealCliFact("claude")]
    public void Claude_500s_end_the_run_as_a_crash_after_its_bounded_retry() => ServerErrorEndsTheRunWithoutALimit(CliCatalog.Claude, "claude-mock-1");

    [RealCliFact("codex")]
    public void Codex_500s_end_the_run_as_a_crash_after_its_bounded_retry() => ServerErrorEndsTheRunWithoutALimit(CliCatalog.Codex, "gpt-mock-1");

    /// <summary>
    /// The mock accepts the model call and never answers: none of the CLIs gives up by itself for minutes
    /// (FACTS.md), so the daemon's max runtime ends the run (SIGTERM, then SIGKILL after the grace), records
    /// the end with its reason, and nothing of the run is left: no process, no run directory.
    /// </summary>
    private async Task HangIsBoundedByMaxRuntime(string cli, string model)
    {
        Subscribe();
        _mock.Reply(MockReply.Hang());

        // on a loaded machine a CLI may not even reach its model call within a short max runtime: then the run
        // proves nothing about a hang, and runs again with twice the time
        for (var attempt = 0; ; attempt++)
        {
            var maxRuntime = TimeSpan.FromSeconds(15 << attempt);
            var before = _mock.Requests.Count;
            Run(cli, model, maxRuntime);

            var started = (AgentLifecycle)FishForMessage(m => m is AgentLifecycle { Kind: LifecycleKind.Started } l && l.Agent == "real-" + cli, Wait);
            var end = ExpectEnd("real-" + cli);
            Assert.True(end.Kind == LifecycleKind.Killed, $"{end.Kind}: {end.Detail}");
            Assert.Equal($"max runtime {maxRuntime} exceeded", end.Detail);
            Assert.Equal(started.RunId, end.RunId);
            // ended by the watchdog: after max runtime, within the grace (and a loaded machine's slack) after it
            Assert.InRange(end.At - started.At, maxRuntime - TimeSpan.FromSeconds(1), maxRuntime + TimeSpan.FromSeconds(20));
            await AwaitAssertAsync(() => Assert.Empty(_daemon.RunDirectories()), TimeSpan.FromSeconds(10));
            await AwaitAssertAsync(() => Assert.Empty(ProcessTree.FindMarked(_daemon.Context.DaemonId + "/")), TimeSpan.FromSeconds(10));
            var log = await File.ReadAllTextAsync(Path.Combine(_daemon.Context.LogDirectory, $"real-{cli}.log"));
            Assert.Contains($"(max runtime {maxRuntime} exceeded)", log);

            // it was the model call that hung, not a CLI that never got that far
            if (_mock.Requests.Skip(before).Any(r => r.Reply is HangReply))
            {
                return;
            }

            Assert.True(attempt < 2, $"{cli} never reached its model call within max runtime {maxRuntime}");
        }
    }

    [RealCliFact("claude")]
    public Task Claude_against_a_provider_that_never_answers_is_ended_by_max_runtime() => HangIsBoundedByMaxRuntime(CliCatalog.Claude, "claude-mock-1");

    [RealCliFact("codex")]
    public Task Codex_against_a_provider_that_never_answers_is_ended_by_max_runtime() => HangIsBoundedByMaxRuntime(CliCatalog.Codex, "gpt-mock-1");

    [RealCliFact("opencode")]
    public Task OpenCode_against_a_provider_that_never_answers_is_ended_by_max_runtime() => HangIsBoundedByMaxRuntime(CliCatalog.OpenCode, "mock-model-1");

    [RealCliFact("gemini")]
    public Task Gemini_against_a_provider_that_never_answers_is_ended_by_max_runtime() => HangIsBoundedByMaxRuntime(CliCatalog.Gemini, "gemini-mock-1");

    /// <summary>
    /// The model asks claude to run <c>git init</c> (a command acceptEdits does not allow by itself): refused by
    /// default (the run goes on and ends), run with an <c>allowed_tools</c> rule, and run in bypass mode (as
    /// root, which claude accepts only with IS_SANDBOX=1, set by the adapter).
    /// </summary>
    [RealCliTheory("claude")]
    [InlineData(null, null, false)]
    [InlineData(PermissionMode.AcceptEdits, "Bash(git init:*)", true)]
    [InlineData(PermissionMode.Bypass, null, true)]
    public async Task Claude_runs_a_command_only_when_its_permissions_allow_it(PermissionMode? mode, string? allowed, bool runs)
    {
        Subscribe();
        _mock.Reply(MockReply.Tool("Bash", """{"command":"git init made-by-claude"}"""), times: 1);
        _mock.Reply(MockReply.Answer("Done."));
        Run(CliCatalog.Claude, "claude-mock-1", shape: a => a with
        {
            PermissionMode = mode ?? PermissionMode.AcceptEdits,
            AllowedTools = allowed is null ? [] : [allowed],
        });

        var end = ExpectEnd("real-claude");
        Assert.True(end.Kind == LifecycleKind.Exited, $"{end.Kind}: {end.Detail}");
        Assert.Equal(runs, Directory.Exists(Path.Combine(_workdir, "made-by-claude", ".git")));
        var log = await File.ReadAllTextAsync(Path.Combine(_daemon.Context.LogDirectory, "real-claude.log"));
        Assert.Equal(!runs, log.Contains("\"permission_denials\":[{", StringComparison.Ordinal));
    }

    /// <summary>
    /// A project task's retry continues the CLI's conversation (issue 13's handoff): the first run of the task is told a
    /// code word; its conversation is kept when it ends; the retry, started with that run and the session id its CLI
    /// reported, sends the model the earlier turn (the code word is in its request), not a fresh conversation. A start
    /// that names a session the CLI never had (a forged id, a run whose conversation was not kept) starts fresh.
    /// </summary>
    private async Task RetryContinuesTheConversation(string cli, string model)
    {
        Subscribe();
        _mock.Reply(MockReply.Answer("Noted."));
        var agent = "real-" + cli;
        var layer = Run(cli, model, shape: a => a with { Autostart = false });

        layer.Tell(new StartAgent(agent, "Remember the code word PELICAN-7 for later.", TaskId: "t1", ProjectId: "p1"), TestActor);
        var first = ExpectEnd(agent);
        Assert.True(first.Kind == LifecycleKind.Exited, $"{first.Kind}: {first.Detail}");
        var adapter = DarkFactory.Actors.Adapters.CliAdapters.For(cli)!;
        var log = await File.ReadAllLinesAsync(Path.Combine(_daemon.Context.LogDirectory, agent + ".log"));
        var session = log.Select(adapter.Reply).Select(r => r?.SessionId).LastOrDefault(id => id is not null);
        Assert.NotNull(session);
        var asked = _mock.Requests.Count;

        layer.Tell(new StartAgent(agent, "Attempt 2: what was the code word?", TaskId: "t1", ProjectId: "p1") { Resume = new SessionResume(first.RunId!, session!) }, TestActor);
        var second = ExpectEnd(agent);
        Assert.True(second.Kind == LifecycleKind.Exited, $"{second.Kind}: {second.Detail}");
        var resumed = _mock.Requests.Skip(asked).Where(r => r.Body?.Contains("Attempt 2", StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(resumed);
        Assert.Contains(resumed, r => r.Body!.Contains("PELICAN-7", StringComparison.Ordinal));

        // a session id that is a flag never reaches the command line; the run starts fresh and works
        asked = _mock.Requests.Count;
        layer.Tell(new StartAgent(agent, "Attempt 3: fresh start.", TaskId: "t1", ProjectId: "p1") { Resume = new SessionResume(second.RunId!, "--dangerously-skip-permissions") }, TestActor);
        var third = ExpectEnd(agent);
        Assert.True(third.Kind == LifecycleKind.Exited, $"{third.Kind}: {third.Detail}");
        var fresh = _mock.Requests.Skip(asked).Where(r => r.Body?.Contains("Attempt 3", StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(fresh);
        Assert.DoesNotContain(fresh, r => r.Body!.Contains("PELICAN-7", StringComparison.Ordinal));
    }

    [RealCliFact("claude")]
    public Task Claude_retry_of_a_project_task_continues_its_conversation() => RetryContinuesTheConversation(CliCatalog.Claude, "claude-mock-1");

    [RealCliFact("codex")]
    public Task Codex_retry_of_a_project_task_continues_its_conversation() => RetryContinuesTheConversation(CliCatalog.Codex, "gpt-mock-1");

    [Fact]
    public void A_recorded_transcript_replayed_by_a_process_publishes_usage_and_limits_through_the_process_actor()
    {
        Subscribe();
        var fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        var provider = new ProviderSpec { Name = "anthropic-a", Cli = CliCatalog.Claude, BaseUrl = _mock.BaseUrl, ApiKeyEnv = "MOCK_KEY" };
        AgentSpec Replayer(string name, string fixture) => new()
        {
            Name = name,
            Layer = LayerName.Safety,
            Cli = CliCatalog.Claude,
            Command = ["/bin/cat", Path.Combine(fixtures, fixture)],
            Autostart = true,
            Restart = RestartType.Temporary,
            Workdir = _workdir,
        };
        var layer = new LayerSpec { Name = LayerName.Safety, DefaultRestart = RestartType.Temporary };
        var actor = Sys.ActorOf(LayerSupervisor.Props(layer, _daemon.RealCliServices(_sweeper, ActorRefs.Nobody, Environment())));
        actor.Tell(new ReconcileLayer(layer, [Replayer("ok", "claude-text.jsonl"), Replayer("limited", "claude-429.jsonl")], 1, [provider]), TestActor);

        // the two runs race: take both events in whatever order they come
        AgentUsage? usage = null;
        ProviderLimited? limited = null;
        FishForMessage(
            m =>
            {
                usage ??= m as AgentUsage;
                limited ??= m as ProviderLimited;
                return usage is not null && limited is not null;
            },
            Wait);
        Assert.Equal(("ok", "anthropic-a", 12L, 5L), (usage!.Agent, usage.Provider, usage.InputTokens, usage.OutputTokens));
        Assert.Equal(("limited", "anthropic-a", LimitSource.Structured), (limited!.Agent, limited.Provider, limited.Source));
        Assert.NotNull(limited.ResetAt);
    }

    [Fact]
    public async Task A_missing_cli_makes_the_agent_unavailable_with_the_install_command()
    {
        Subscribe();
        var agent = new AgentSpec { Name = "ghost", Layer = LayerName.Safety, Cli = CliCatalog.Claude, Autostart = true, Workdir = _workdir };
        var layer = new LayerSpec { Name = LayerName.Safety };
        var env = new Dictionary<string, string?> { ["PATH"] = "/nonexistent" };
        var services = _daemon.RealCliServices(_sweeper, ActorRefs.Nobody, env) with { FindExecutable = _ => null };
        var actor = Sys.ActorOf(LayerSupervisor.Props(layer, services));
        actor.Tell(new ReconcileLayer(layer, [agent], 1, []), TestActor);

        var unavailable = (AgentLifecycle)FishForMessage(m => m is AgentLifecycle { Kind: LifecycleKind.Unavailable }, Wait);
        Assert.Contains("'claude' is not installed", unavailable.Detail);
        var status = (await actor.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single();
        Assert.Equal(AgentState.Unavailable, status.State);
        Assert.Equal("npm install -g @anthropic-ai/claude-code", status.Install);
    }
}
