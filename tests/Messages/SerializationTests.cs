using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using DarkFactory.Actors.Serialization;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Control;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;
using Xunit;

namespace DarkFactory.Messages.Tests;

/// <summary>Every message round-trips through the Dark Factory serializer, and every manifest is pinned.</summary>
public sealed class SerializationTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 7, 30, 0, TimeSpan.Zero);
    private readonly ActorSystem _system = ActorSystem.Create("serialization", ConfigurationFactory.ParseString(File.ReadAllText(Hocon())));

    private static readonly ReviewStarted SampleReviewStarted = new("r1", At, ReviewTrigger.Manual, "/srv/repo", "main", "compound-reviewer", true, TimeSpan.FromMinutes(30));
    private static readonly Finding SampleFinding = new(FindingKind.Revert, 80, "Revert abc: speed up", "abc1234567", "the problem may be back", "revert-speed-up", At);
    private static readonly GateResult SampleGate = new("build", true, 0, 0, 1234, Output: "Build succeeded.");

    private static readonly ReviewView SampleView = new()
    {
        Id = "r1",
        Status = ReviewStatus.Completed,
        StartedAt = At,
        EndedAt = At.AddMinutes(5),
        Steps = [new ReviewStepView(ReviewStage.Scan, StepStatus.Completed, At, At.AddSeconds(1))],
        Gates = [SampleGate],
        PrUrl = "https://github.com/acme/widgets/pull/42",
        PrNumber = 42,
        Finding = SampleFinding,
        FindingsCount = 3,
        Branch = "df/compound/2026-11-22-revert-speed-up",
    };

    private static readonly ProviderBoard SampleBoard = new ProviderBoard(
        new Dictionary<string, ProviderCondition>
        {
            ["anthropic"] = new(ProviderState.Limited, At.AddHours(1), "429 Too Many Requests"),
            ["openai"] = new(ProviderState.OverBudget, At.AddHours(12), "daily budget $30.00 reached", Budget: true),
            ["google"] = ProviderCondition.Ok with { LatencyMs = 900 },
        },
        new Dictionary<string, AgentCondition> { ["implementer"] = new("daily budget $15.00 reached", At.AddHours(3)) },
        new Dictionary<string, string> { ["gemini"] = "'gemini' is not installed (install: npm install -g @google/gemini-cli)" })
    {
        EnforceInstalled = false,
        Avoids = new Dictionary<string, IReadOnlyList<RouteAvoidRecorded>>
        {
            ["coder"] = [new RouteAvoidRecorded("coder", "anthropic", null, At.AddMinutes(65), "severe drift 0.45 (stall 0.45)", At)],
        },
        Added = [new ProviderSpec { Name = "spare", Cli = "codex", Model = "gpt-5-codex", ApiKeyEnv = "SPARE_OPENAI_KEY", Priority = 1, Limits = new ProviderLimits { Credits = 100m } }],
    };

    /// <summary>One realistic sample of every message type; a new message without a sample fails <see cref="Every_manifest_has_a_sample"/>.</summary>
    public static readonly IReadOnlyList<IDarkFactoryMessage> Samples =
    [
        new FleetDiagnostic(DiagnosticSeverity.Error, "fleet.yaml", 12, 7, "agents[2].schedule", "bad cron expression"),
        new Placement(7, [AgentPlacement.On("coder", "n2"), new AgentPlacement("gpu-bench", null, "no up node has role gpu"), new AgentPlacement("nightly", null, "node n1 left the cluster; failover: stay waits for it", WaitingFor: "n1"), new AgentPlacement("once", null, "node n3 left the cluster; failover: never keeps it stopped", Parked: true)]),
        new NodeAssignment("n2", new Placement(7, [AgentPlacement.On("coder", "n2"), AgentPlacement.On("reviewer", "n1"), new AgentPlacement("gpu-bench", null, "no up node has role gpu")])),
        new NodeAssignment("n1", new Placement(8, [new AgentPlacement("coder", null, "moving from node n1 to node n2: waiting for node n1 to stop it", MovingFrom: "n1", MovingTo: "n2", ReleaseEpoch: 8)])),
        new PlacementReleased("n1", 8),
        new PlacementSnapshot(new Placement(3, [AgentPlacement.On("coder", "n1")]), new PlacementFleet("n2", [new PlacementAgent("coder", null, FailoverPolicy.Move)], new Dictionary<string, int>())),
        new NodeLifecycle("n2", new AgentLifecycle("coder", LifecycleKind.Started, At, "ab12", Pid: 4242, By: Requester.Operator)),
        new NodeSchedulerFired("n1", new SchedulerFired("nightly", At, At.AddSeconds(1), FiringOutcome.Started, "ab12")),
        new NodeProjectEvent("n3", Output: new AgentOutput("engineer@p-7f3a", "ab12", 0, At, [new OutputLine(OutputStream.Stdout, "{\"answer\":\"done\"}")], "t1", "p-7f3a")),
        new NodeProjectEvent("n3", Usage: new AgentUsage("engineer@p-7f3a", "ab12", "anthropic", "claude-sonnet-4-5", 1200, 340, At, TaskId: "t1", ProjectId: "p-7f3a")),
        new NodeProjectEvent("n2", Route: new RouteChosen("engineer@p-7f3a", "ab12", "claude", "anthropic", "claude-sonnet-4-5", "the agent's declared cli", At, "declared", "t1", "p-7f3a")),
        new OutputInterest("n2", ["coder", "reviewer"]),
        new NodeOutput("n3", new AgentOutput("coder", "ab12", 40, At, [new OutputLine(OutputStream.Stdout, "building…")]), Skipped: 120),
        new WatchOutput(["coder"]),
        new NodeEvent("n2", Status: new AgentStatus { Agent = "coder", State = AgentState.Running, Pid = 4242, Restarts = 1 }),
        new NodeEvent("n3", Route: new RouteChosen("coder", "ab12", "claude", "anthropic", "claude-sonnet-4-5", "the agent's declared cli", At)),
        new GetAgentRun("fixer"),
        new GetRunOutput("fixer", "ab12"),
        new RunOutput("fixer", "ab12", RunOutputOutcome.Found, "cwd: /wt/r1\nsummary: fix done", "n3"),
        new RunOutput("fixer", "ab12", RunOutputOutcome.NotKept, Node: "n2", Reason: "node n2 keeps no output of run ab12 of agent 'fixer' (it keeps the newest 32 runs it started since the daemon started)"),
        RunOutput.NoAnswer(new GetRunOutput("fixer", "ab12"), "node n3 did not answer within 5 s", "n3"),
        new RouterStarted("n2", At),
        new SingletonUnavailable("scheduler", "n1", "the scheduler singleton is moving from node n1, which this node does not reach; try again in a few seconds", 5),
        new SingletonUnavailable("compound-review", null, "no node of role control is up to run the compound-review singleton; try again once one has joined", 5),
        new ReadLog("coder", null, Tail: 100),
        new ReadLog("coder", 65536, MaxBytes: 4096),
        new LogPage("coder", "tick 1\ntick 2\n"u8.ToArray(), 65536, 70000),
        LogPage.Refusal("../etc/passwd", "no agent named '../etc/passwd' in this node's fleet"),
        new PlacementFleet("n1", [new PlacementAgent("coder", null, FailoverPolicy.Move), new PlacementAgent("gpu-bench", "role:gpu", FailoverPolicy.Never), new PlacementAgent("sentinel", "n2", FailoverPolicy.Stay)], new Dictionary<string, int> { ["n1"] = 8, ["n2"] = 4 }),
        new DriftVerdict("coder", At, 0.27, DriftLevel.Moderate, DriftLevel.Minor, new DriftComponents(Errors: 0.2, Loops: 0.1), "moderate drift 0.27 (errors 0.20, loops 0.10)", "ab12"),
        new DriftCorrection("coder", At, DriftLevel.Severe, CorrectionAction.Pause, 0.45, "severe drift 0.45 (stall 0.45)", "Report what you are doing as you go.", "ab12", "anthropic"),
        new Escalation("0a1b2c3d4e5f", "coder", At, DriftLevel.Critical, 0.74, "critical drift 0.74 (errors 0.70)", new DriftComponents(Errors: 0.7), "ab12"),
        new EscalationDelivered("0a1b2c3d4e5f", At, true, "https://hooks.example.com: HTTP 204"),
        new EscalationEntry(new Escalation("0a1b2c3d4e5f", "coder", At, DriftLevel.Critical, 0.74, "critical", DriftComponents.Zero), null),
        new AgentHint("coder", "Do not retry the same thing again."),
        new DriftHintUsed("coder", At, "ab13"),
        new RouteAvoid("coder", "anthropic", "claude-sonnet-4-5", At.AddMinutes(5), "severe drift 0.45 (stall 0.45)"),
        new GetDrift("coder"),
        new GetPauses(TimeSpan.FromMinutes(5)),
        new PausesInForce(new Dictionary<string, DateTimeOffset> { ["coder"] = new(2026, 12, 7, 9, 6, 10, TimeSpan.Zero) }),
        new AgentDrift("coder", 0.12, DriftLevel.Minor, new DriftComponents(ToolFailures: 0.12), At, null, "Check each tool's arguments.", false, "anthropic"),
        new DriftSnapshot([new AgentDrift("a", 0, DriftLevel.Normal, DriftComponents.Zero, At)]),
        new GetEscalations(20),
        new GetNightwatchRecords(At),
        new CorrectionDue("n3", new DriftCorrection("coder", At, DriftLevel.Severe, CorrectionAction.Pause, 0.45, "severe drift 0.45 (loops 0.45)", "Try a different approach.", "ab12", "anthropic"), "claude-sonnet-4-5", new DriftComponents(Loops: 0.45)),
        new CorrectionDecided(
            new CorrectionDue("n3", new DriftCorrection("coder", At, DriftLevel.Critical, CorrectionAction.Stop, 0.8, "critical", "h", "ab12"), null, new DriftComponents(Errors: 0.8)),
            true,
            new Escalation("0a1b2c3d4e5f", "coder", At, DriftLevel.Critical, 0.8, "critical", new DriftComponents(Errors: 0.8), "ab12")),
        new CorrectionDecided(new CorrectionDue("n2", new DriftCorrection("coder", At, DriftLevel.Minor, CorrectionAction.Hint, 0.12, "minor", "h"), null, DriftComponents.Zero), false, Refused: "hint of agent 'coder' recorded 00:00:10 ago (cooldown 00:05:00)"),
        new DriftSeen("n3", new DriftVerdict("coder", At, 0.27, DriftLevel.Moderate, DriftLevel.Minor, new DriftComponents(Loops: 0.27), "moderate drift 0.27 (loops 0.27)", "ab12"), "anthropic"),
        new NightwatchRecords(
            [new DriftCorrection("a", At, DriftLevel.Severe, CorrectionAction.Pause, 0.5, "stall 0.8", "say what you do", "r1", "anthropic")],
            [new EscalationEntry(new Escalation("x", "a", At, DriftLevel.Critical, 0.9, "r", DriftComponents.Zero), null)]),
        new EscalationList([new EscalationEntry(new Escalation("x", "a", At, DriftLevel.Critical, 0.9, "r", DriftComponents.Zero), new EscalationDelivered("x", At, false, "https://hooks.example.com: HTTP 500"))]),
        new NightwatchSnapshot([new DriftCorrection("a", At, DriftLevel.Minor, CorrectionAction.Hint, 0.1, "r", "h")], [], new Dictionary<string, string> { ["a"] = "h" }),
        new AgentOutput("repo-health", "ab12", 42, At, [new OutputLine(OutputStream.Stdout, "ok"), new OutputLine(OutputStream.Stderr, "error: x", OutputKind.Error)]),
        new ExitInfo(137, 9, At, "max runtime 00:30:00 exceeded"),
        new AgentStatus { Agent = "ci-watchdog", Layer = LayerName.Safety, State = AgentState.Running, Pid = 4242, RunId = "ab12", Restarts = 3, LastExit = new ExitInfo(1, null, At), StartedAt = At, Install = "npm install -g x" },
        new StartAgent("implementer", "add a test"),
        new StopAgent("implementer"),
        new RestartAgent("implementer"),
        new StartAgent("implementer", "add a test", By: "agent planner (@mention)"),
        new StopAgent("implementer", Requester.Nightwatch),
        new RestartAgent("implementer", Requester.Operator),
        new AgentLifecycle("a", LifecycleKind.Stopped, At, "ab12", Detail: "stopped by nightwatch", By: Requester.Nightwatch),
        new AgentLifecycle("a", LifecycleKind.Stopped, At, "ab12", Detail: "rerouted: anthropic limited", By: Requester.Nightwatch) { Restarts = true },
        CommandResult.Done(CommandOutcome.Started, "started", "ab12"),
        GetAgents.Instance,
        new AgentsSnapshot([new AgentStatus { Agent = "a", State = AgentState.Quarantined, Reason = "crash loop" }]),
        new AgentsSnapshot([new AgentStatus { Agent = "a", State = AgentState.Running, Pid = 7, Node = "n2" }, new AgentStatus { Agent = "b", State = AgentState.Unknown, Node = "n3", Reason = "node n3 did not answer in time" }]),
        new GetHistory("a", 10),
        new GetHistory("a", 10, FromStore: true),
        new AgentHistory("a", [new AgentLifecycle("a", LifecycleKind.Crashed, At, "ab12", null, 3, null, "boom")]),
        new ApplyFleet(SampleFleet()),
        new ApplyFleet(SampleFleet()) { Held = new Dictionary<string, DateTimeOffset> { ["coder"] = new(2026, 12, 7, 9, 6, 10, TimeSpan.Zero) } },
        new FleetApplied(3) { Started = ["a"], Restarted = ["b"], Stopped = ["c"], Unchanged = ["d"], Updated = ["e"] },
        new FleetReloadRefused(At, "/etc/df/fleet.yaml", "the new fleet file declares no agents", ["a", "b"], []),
        new FleetReloadRefused(At, "fleet.yaml", "invalid fleet file", [], ["fleet.yaml:1:1: version: missing"]),
        new AgentLifecycle("a", LifecycleKind.Started, At, "ab12", 4242, LaunchedAt: At.AddMilliseconds(-3)),
        new AgentLifecycle("a", LifecycleKind.Crashed, At, "ab12", ExitCode: 1, ExitedAt: At.AddMilliseconds(-2)),
        new AgentLifecycle("a", LifecycleKind.Crashed, At, "ab12", ExitCode: 1, ExitedAt: At) { Uptime = TimeSpan.FromMilliseconds(2500) },
        new AgentLifecycle("a", LifecycleKind.Limited, At, "ab12", ExitCode: 173, Detail: "rate limited (exited with code 173)", ExitedAt: At),
        new SchedulerFired("repo-health", At, At.AddSeconds(42), FiringOutcome.Started, "ab12"),
        new SchedulerSnapshot([new SchedulerFired("a", At, At, FiringOutcome.Skipped, Detail: "the previous run is still going (overlap: skip)", CatchUp: true)]),
        new SchedulerSnapshot(
            [new SchedulerFired("a", At, At, FiringOutcome.Started, "r1")],
            [new ScheduleArmed("b", At)],
            [new SchedulerFired("a", At.AddHours(1), At.AddHours(1), FiringOutcome.Queued, Detail: "overlap: queue")]),
        new ScheduleArmed("repo-health", At),
        new FiringDue("repo-health", At),
        new SchedulerSnapshot([], Due: [new FiringDue("a", At)]),
        new GetSchedule(5),
        new AgentSchedule("repo-health", "0 * * * *", "Europe/Berlin", [At, At.AddHours(1)], OverlapPolicy.Queue, CatchUpPolicy.All, TimeSpan.FromMinutes(2), 1, new SchedulerFired("repo-health", At, At, FiringOutcome.Queued)),
        new ScheduleSnapshot([new AgentSchedule("a", "*/5 * * * * *", "UTC", [At], OverlapPolicy.Skip, CatchUpPolicy.Once, TimeSpan.Zero)]),
        new AgentUsage("code-reviewer", "ab12", "anthropic", "claude-sonnet-4-5", 1200, 340, At, CachedInputTokens: 800, CostUsd: 0.0123m),
        new ProviderLimited("anthropic", "code-reviewer", "ab12", At, At.AddHours(3), "You've hit your limit", LimitSource.Pattern, "You've hit your limit · resets 7pm (America/Los_Angeles)"),
        new StartAgent("compound-reviewer", "fix the revert", "/data/worktrees/r1"),
        SampleReviewStarted,
        new FindingsRecorded("r1", At, [SampleFinding], 12),
        new TaskAssigned("r1", At, "compound-reviewer", "Work on: Revert abc", "df/compound/2026-11-22-revert-x", "/data/worktrees/r1"),
        new TaskAssigned("r1", At, "reviewer", "Work on: Revert abc", "df/compound/2026-11-22-revert-x", "/data/worktrees/r1", "router: best fit by capabilities [review]"),
        new ReviewScheduleFired(At, At, FiringOutcome.CaughtUp, "r1", "1 firing(s) missed"),
        new ReviewViewsChanged([SampleView], ["r0"], Reset: true),
        new ReviewAgentStarted("r1", At, "ab12"),
        new ReviewAgentFinished("r1", At, "ab12", true, 0, "summary: fixed", "c0ffee", ["src/a.cs"]),
        new ReviewAgentFinished("r1", At, "ab12", true, 0, string.Empty, "c0ffee", ["src/a.cs"], SummaryUnavailable: "node n3 did not answer within 5 s"),
        new GatesEvaluated("r1", At, [SampleGate]),
        new PrIntended("r1", At, "df/compound/2026-11-22-revert-x", "Compound review: Revert abc", "## Finding"),
        new PrOpened("r1", At, 42, "https://github.com/acme/widgets/pull/42", Existing: true),
        new DryRunRecorded("r1", At, "/data/reviews/r1/report.md"),
        new ReviewCompleted("r1", At, "nothing found to work on"),
        new ReviewFailed("r1", At, ReviewStage.Gates, "gates failed: build (exit 1, expected 0)"),
        new ReviewSnapshot([new ReviewRecord(SampleReviewStarted, Runs: [new ReviewAgentStarted("r1", At, "ab12")])]),
        new ReviewSnapshot([new ReviewRecord(SampleReviewStarted)], new ReviewScheduleFired(At, At, FiringOutcome.Armed)),
        new ReviewRecord(SampleReviewStarted, new FindingsRecorded("r1", At, [SampleFinding])),
        new RunReview(ReviewTrigger.Schedule),
        new ReviewAccepted(true, "review r1 started", "r1"),
        new GetReviews(20),
        new GetReview("r1"),
        new ReviewStepView(ReviewStage.Gates, StepStatus.Completed, At, At.AddSeconds(30), "1/1 passed"),
        SampleView,
        new ReviewsSnapshot([SampleView]),
        new ReviewFound("r1", SampleView),
        new AgentRemoved("retired-agent", At),
        new AgentLogWrite("flood", "ab12", At, true, "No space left on device : '/data/logs/flood.log'", 131072),
        new AgentLogWrite("flood", "ab12", At, false, null, 0),
        new Route("codex", "openai", "gpt-5-codex", "rule 1 (keywords security) routes to openai", "rule"),
        new RouteCandidate("claude", "anthropic", null, 6.8, "rate limited (429) until 2026-11-22T08:30:00Z"),
        new RouteDecision(new Route("codex", "openai", null, "rule 1"), [new RouteCandidate("codex", "openai", null, 7.6, null)], "security-sentinel"),
        new RouteTask("audit the dependencies for CVEs", "security-sentinel"),
        new AwaitRoute("implementer", "add a test", "all providers limited; polling"),
        new ResumeAgent("implementer", "add a test"),
        GetProviders.Instance,
        new ProviderStatus("anthropic", "claude", ProviderState.Limited, At.AddHours(1), 12.5m, "429", 1.25m, 2),
        new ProvidersSnapshot([new ProviderStatus("openai", "codex", ProviderState.Ok, null, 0m)], ["implementer"], [new ProviderSwitched("a", "r2", "openai", "anthropic", SwitchReason.RateLimit, "openai is rate limited", At)]),
        new GetCosts("agent"),
        new CostRow("anthropic", 3, 1000, 200, 50, 0.0123m),
        new CostReport("provider", [new CostRow("anthropic", 3, 1000, 200, 50, 0.0123m)], 0.0123m, [new BudgetLine("anthropic", "provider", 1.5m, 40m, 12m, 600m, 100m)]),
        new BudgetLine("implementer", "agent", 1.5m, 15m, 12m, null),
        RouteChosen.Of("implementer", "ab12", new Route("claude", "anthropic", "claude-sonnet-4-5", "failover"), At),
        new CostRecorded("implementer", "ab12", "anthropic", "claude-sonnet-4-5", 1200, 340, 800, 0.0123m, true, At),
        new ProviderLimitRecorded("anthropic", At.AddHours(1), "429 Too Many Requests", At),
        new BreakerTransitioned("openai", BreakerState.Open, At, "3 consecutive failures; last: exit 1", 3),
        new ProviderSwitched("implementer", "ab12", "openai", "anthropic", SwitchReason.CreditsExhausted, "openai: credits exhausted", At),
        new CostBucket("implementer", "anthropic", At, 2, 1200, 340, 800, 0.0123m),
        new RouterSnapshot(
            [new CostBucket("implementer", "anthropic", At, 2, 1200, 340, 800, 0.0123m)],
            [new CostBucket("implementer", "anthropic", At, 1, 1200, 340, 800, 0.0123m, "ab12")],
            [new ProviderLimitRecorded("anthropic", At.AddHours(1), "429", At)],
            [new BreakerTransitioned("openai", BreakerState.Closed, At, "a run succeeded", 0)],
            [RouteChosen.Of("implementer", "ab12", new Route("claude", "anthropic", null, "own"), At)],
            [new ProviderSwitched("implementer", "ab12", "openai", "anthropic", SwitchReason.Timeout, "timed out", At)],
            [new RouteAvoidRecorded("coder", "anthropic", null, At.AddMinutes(65), "severe drift 0.45 (stall 0.45)", At)],
            [new ProviderAdded("spare", "codex", "gpt-5-codex", "SPARE_OPENAI_KEY", 100m, 1, "operator", At)]),
        new ProviderAdded("spare", "codex", "gpt-5-codex", "SPARE_OPENAI_KEY", 100m, 1, "operator", At),
        new ProviderRemoved("spare", "operator", At),
        new AddProvider("spare", "codex", "gpt-5-codex", "SPARE_OPENAI_KEY", 100m, 1),
        new RemoveProvider("spare"),
        GetProviderConfigs.Instance,
        new ProviderConfig("spare", "codex", "gpt-5-codex", "SPARE_OPENAI_KEY", 100m, 1, "runtime", "operator", At),
        new ProviderConfigs([new ProviderConfig("anthropic", "claude", null, "ANTHROPIC_API_KEY", null, 100, "fleet")]),
        new ProviderCommandResult(true, ProviderCommandOutcome.Added, "provider 'spare' added", new ProviderConfig("spare", "codex", "m", "K", null, 100, "runtime")),
        new RouteAvoidRecorded("coder", "anthropic", "claude-sonnet-4-5", At.AddMinutes(65), "severe drift 0.45 (stall 0.45)", At),
        new ProvidersSnapshot([], [], [], [new RouteAvoidRecorded("coder", "anthropic", null, At.AddMinutes(65), "severe drift", At)]),
        new ProviderCondition(ProviderState.Open, At.AddMinutes(2), "3 consecutive failures", Probe: false, LatencyMs: 1234.5),
        new AgentCondition("daily budget $15.00 reached: $15.20 spent", At.AddHours(3)),
        SampleBoard,
        new ProviderBoardPublished(SampleBoard),
        new ProviderBoardPublished(ProviderBoard.Empty),
        GetProviderBoard.Instance,
        new CurrentProviderBoard(SampleBoard),

        // the fleet's and the layers' protocol
        DrainFleet.Instance,
        FleetDrained.Instance,
        GetFleet.Instance,
        new CurrentFleet(SampleFleet(), 7),
        new ReconcileLayer(LayerSpec.Default(LayerName.Core) with { Strategy = StrategyKind.OneForAll }, SampleFleet().Agents, 7, SampleFleet().Providers),
        new ReconcileLayer(LayerSpec.Default(LayerName.Core), SampleFleet().Agents, 8) { Workdirs = ["/srv/repo", "/srv/other"], Held = new Dictionary<string, DateTimeOffset> { ["coder"] = new(2026, 12, 7, 9, 6, 10, TimeSpan.Zero) } },
        new LayerReconciled(LayerName.Core, 7) { Started = ["a"], Restarted = ["b"], Stopped = ["c"], Unchanged = ["d"], Updated = ["e"] },
        DrainLayer.Instance,
        new LayerDrained(LayerName.Growth),
        FlushHistory.Instance,
        HistoryFlushed.Instance,
        new SweepRun("dft-0123/implementer/ab12"),
        new SweepRun("dft-0123/implementer/ab12", "/sys/fs/cgroup/unified/dft-0123/implementer-ab12"),
        CommandResult.Refused(CommandOutcome.AlreadyRunning, "agent 'a' is already running (run ab12)"),

        // a task's and a project's ids, carried from the start into every event of the run
        new StartAgent("implementer", "add a test", "/data/worktrees/p1", "task-42", "project-7"),
        new StartAgent("implementer", "fix the failing gate", "/data/worktrees/p1", "task-42", "project-7") { Resume = new SessionResume("9f2c4e1a7b3d5c60", "3f1e2d4c-5b6a-4789-90ab-cdef01234567") },
        new AgentLifecycle("a", LifecycleKind.Exited, At, "ab12", ExitCode: 0, TaskId: "task-42", ProjectId: "project-7"),
        new AgentOutput("implementer", "ab12", 0, At, [new OutputLine(OutputStream.Stdout, "ok")], "task-42", "project-7"),
        new AgentUsage("implementer", "ab12", "anthropic", null, 10, 2, At, TaskId: "task-42", ProjectId: "project-7"),
        RouteChosen.Of("implementer", "ab12", new Route("claude", "anthropic", null, "own"), At, "task-42", "project-7"),
        .. ProjectSamples.All,
    ];

    private static FleetSpec SampleFleet() => new()
    {
        Providers = [new ProviderSpec { Name = "anthropic", Cli = "claude", ApiKeyEnv = "ANTHROPIC_API_KEY", Prices = new ProviderPrices { InputPerMillion = 3m } }],
        Agents =
        [
            new AgentSpec
            {
                Name = "a",
                Layer = LayerName.Core,
                Command = ["bash", "-c", "true"],
                Env = new Dictionary<string, EnvValue> { ["K"] = EnvValue.Literal("v"), ["T"] = new EnvValue { FromEnv = "TOKEN" } },
                Limits = new ResourceLimits { MemoryBytes = 1024 * 1024 * 512, OpenFiles = 128 },
                MaxRuntime = TimeSpan.FromMinutes(30),
                Restart = RestartType.Transient,
                Node = "role:gpu",
                Failover = FailoverPolicy.Move,
            },
        ],
        Cluster = new ClusterSpec
        {
            Seeds = ["127.0.0.1:4053"],
            SplitBrain = SplitBrainStrategy.KeepOldest,
            Nodes = [new ClusterNodeSpec { Name = "n1", Roles = ["control", "gpu"], MaxAgents = 4 }],
        },
        CompoundReview = new CompoundReviewSpec { Gates = [new GateSpec { Name = "build", Command = ["dotnet", "build"] }] },
    };

    private static string Hocon()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "DarkFactory.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir.FullName, "hocon", "darkfactory.conf");
    }

    [Fact]
    public void Every_manifest_has_a_sample()
    {
        var sampled = Samples.Select(s => s.GetType()).ToHashSet();
        var missing = DarkFactoryJson.Manifests.Values.Where(t => !sampled.Contains(t)).Select(t => t.Name).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Every_message_uses_the_dark_factory_serializer_and_round_trips()
    {
        var serialization = _system.Serialization;
        foreach (var sample in Samples)
        {
            var serializer = serialization.FindSerializerFor(sample);
            Assert.IsType<DarkFactorySerializer>(serializer);
            var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, sample);
            var bytes = serializer.ToBinary(sample);
            var back = serialization.Deserialize(bytes, serializer.Identifier, manifest);

            // records compare collections by reference: compare the canonical JSON instead
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(sample, sample.GetType(), DarkFactoryJson.Options), System.Text.Json.JsonSerializer.Serialize(back, back.GetType(), DarkFactoryJson.Options));
            Assert.Equal(sample.GetType(), back.GetType());
        }
    }

    [Fact]
    public void Output_lines_held_as_bytes_cross_the_wire_as_the_same_json_as_their_strings()
    {
        // a plain command's batch (issue 18): its bytes with each line's place, not a string per line
        var bytes = System.Text.Encoding.UTF8.GetBytes("ok\r\nerror: überall\n\nlast");
        var batch = new LineBatch(OutputStream.Stderr, bytes, [0, 2, 4, 15, 20, 0, 21, 4], 4, ascii: false);
        var sample = new AgentOutput("repo-health", "ab12", 42, At, batch);
        var strings = sample with { Lines = [new(OutputStream.Stderr, "ok"), new(OutputStream.Stderr, "error: überall"), new(OutputStream.Stderr, ""), new(OutputStream.Stderr, "last")] };
        var serializer = _system.Serialization.FindSerializerFor(sample);

        var back = (AgentOutput)_system.Serialization.Deserialize(serializer.ToBinary(sample), serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, sample));

        Assert.Equal(serializer.ToBinary(strings), serializer.ToBinary(sample));
        Assert.Equal(strings.Lines, back.Lines);
    }

    [Fact]
    public void Persisted_event_manifests_are_pinned()
    {
        // Storage contracts: changing one of these breaks every stored journal.
        Assert.Equal(typeof(AgentLifecycle), DarkFactoryJson.Manifests["agent-lifecycle"]);
        Assert.Equal(typeof(AgentHistory), DarkFactoryJson.Manifests["history"]);
        Assert.Equal(typeof(SchedulerFired), DarkFactoryJson.Manifests["scheduler-fired"]);
        Assert.Equal(typeof(SchedulerSnapshot), DarkFactoryJson.Manifests["scheduler-snapshot"]);
        Assert.Equal(typeof(ScheduleArmed), DarkFactoryJson.Manifests["schedule-armed"]);
        Assert.Equal(typeof(ReviewStarted), DarkFactoryJson.Manifests["review-started"]);
        Assert.Equal(typeof(FindingsRecorded), DarkFactoryJson.Manifests["review-findings-recorded"]);
        Assert.Equal(typeof(TaskAssigned), DarkFactoryJson.Manifests["review-task-assigned"]);
        Assert.Equal(typeof(ReviewAgentStarted), DarkFactoryJson.Manifests["review-agent-started"]);
        Assert.Equal(typeof(ReviewAgentFinished), DarkFactoryJson.Manifests["review-agent-finished"]);
        Assert.Equal(typeof(GatesEvaluated), DarkFactoryJson.Manifests["review-gates-evaluated"]);
        Assert.Equal(typeof(PrIntended), DarkFactoryJson.Manifests["review-pr-intended"]);
        Assert.Equal(typeof(PrOpened), DarkFactoryJson.Manifests["review-pr-opened"]);
        Assert.Equal(typeof(DryRunRecorded), DarkFactoryJson.Manifests["review-dry-run-recorded"]);
        Assert.Equal(typeof(ReviewCompleted), DarkFactoryJson.Manifests["review-completed"]);
        Assert.Equal(typeof(ReviewFailed), DarkFactoryJson.Manifests["review-failed"]);
        Assert.Equal(typeof(ReviewSnapshot), DarkFactoryJson.Manifests["review-snapshot"]);
        Assert.Equal(typeof(RouteChosen), DarkFactoryJson.Manifests["route-chosen"]);
        Assert.Equal(typeof(CostRecorded), DarkFactoryJson.Manifests["cost-recorded"]);
        Assert.Equal(typeof(ProviderLimitRecorded), DarkFactoryJson.Manifests["provider-limit-recorded"]);
        Assert.Equal(typeof(BreakerTransitioned), DarkFactoryJson.Manifests["breaker-transitioned"]);
        Assert.Equal(typeof(ProviderSwitched), DarkFactoryJson.Manifests["provider-switched"]);
        Assert.Equal(typeof(RouterSnapshot), DarkFactoryJson.Manifests["router-snapshot"]);
        Assert.Equal(typeof(RouteAvoidRecorded), DarkFactoryJson.Manifests["route-avoid-recorded"]);
        Assert.Equal(typeof(Placement), DarkFactoryJson.Manifests["placement"]);
        Assert.Equal(typeof(PlacementFleet), DarkFactoryJson.Manifests["placement-fleet"]);
        Assert.Equal(typeof(PlacementSnapshot), DarkFactoryJson.Manifests["placement-snapshot"]);
        Assert.Equal(typeof(PlacementReleased), DarkFactoryJson.Manifests["placement-released"]);
        Assert.Equal(typeof(ProviderAdded), DarkFactoryJson.Manifests["provider-added"]);
        Assert.Equal(typeof(ProviderRemoved), DarkFactoryJson.Manifests["provider-removed"]);
        foreach (var (manifest, type) in ProjectSamples.Pinned)
        {
            Assert.Equal(type, DarkFactoryJson.Manifests[manifest]);
        }
    }

    [Fact]
    public void A_provider_board_that_crossed_the_wire_reads_the_same_and_freezes_for_the_hot_path()
    {
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        var back = ((ProviderBoardPublished)serializer.FromBinary(serializer.ToBinary(new ProviderBoardPublished(SampleBoard)), "provider-board-published")).Board;

        Assert.Equal(ProviderState.Limited, back.Of("anthropic").State);
        Assert.Equal(At.AddHours(1), back.Of("anthropic").ResetAt);
        Assert.True(back.Of("openai").Budget);
        Assert.Equal(900, back.Of("google").LatencyMs);
        Assert.True(back.Of("google").Available);
        Assert.Same(ProviderCondition.Ok, back.Of("mistral"));
        Assert.Equal("daily budget $15.00 reached", back.Agents["implementer"].Reason);
        Assert.StartsWith("'gemini' is not installed", back.MissingClis["gemini"]);
        Assert.Equal("anthropic", Assert.Single(back.Avoids["coder"]).Provider);
        Assert.Equal(100m, Assert.Single(back.Added).Limits.Credits);
        Assert.False(back.EnforceInstalled);

        var frozen = back.Frozen();
        Assert.IsAssignableFrom<System.Collections.Frozen.FrozenDictionary<string, ProviderCondition>>(frozen.Providers);
        Assert.IsAssignableFrom<System.Collections.Frozen.FrozenDictionary<string, IReadOnlyList<RouteAvoidRecorded>>>(frozen.Avoids);
        Assert.Equal(back.Of("openai"), frozen.Of("openai"));
        Assert.False(frozen.EnforceInstalled);
        Assert.Equal("spare", Assert.Single(frozen.Added).Name);
        Assert.Equal("spare", Assert.Single(frozen.With(avoids: new Dictionary<string, IReadOnlyList<RouteAvoidRecorded>>()).Added).Name);
        Assert.Same(frozen, frozen.Frozen());
        Assert.Same(ProviderBoard.Empty, ProviderBoard.Empty.Frozen());
    }

    [Fact]
    public void A_signal_is_an_empty_object_on_the_wire_and_its_copy_equals_the_instance()
    {
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        IDarkFactoryMessage[] signals = [DrainFleet.Instance, FleetDrained.Instance, GetFleet.Instance, DrainLayer.Instance, FlushHistory.Instance, HistoryFlushed.Instance, GetAgents.Instance];
        foreach (var signal in signals)
        {
            var bytes = serializer.ToBinary(signal);
            Assert.Equal("{}", System.Text.Encoding.UTF8.GetString(bytes));
            var back = serializer.FromBinary(bytes, serializer.Manifest(signal));
            Assert.Equal(signal, back);
            Assert.Equal(signal.GetHashCode(), back.GetHashCode());
        }

        Assert.NotEqual<object>(DrainFleet.Instance, FleetDrained.Instance);
    }

    [Fact]
    public void The_reconcile_results_keep_their_json_field_for_field()
    {
        // the lists moved into ReconcileChanges: the wire keeps the message's own fields first, then the lists in order
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        var fleet = new FleetApplied(3) { Started = ["a"], Restarted = ["b"], Stopped = ["c"], Unchanged = ["d"], Updated = ["e"] };
        var layer = new LayerReconciled(LayerName.Core, 7) { Started = ["a"], Unchanged = ["d"] };

        Assert.Equal("""{"revision":3,"started":["a"],"restarted":["b"],"stopped":["c"],"unchanged":["d"],"updated":["e"]}""", System.Text.Encoding.UTF8.GetString(serializer.ToBinary(fleet)));
        Assert.Equal("""{"layer":"core","revision":7,"started":["a"],"restarted":[],"stopped":[],"unchanged":["d"],"updated":[]}""", System.Text.Encoding.UTF8.GetString(serializer.ToBinary(layer)));
        var old = (FleetApplied)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes("""{"revision":2,"started":["x"],"restarted":[],"stopped":[],"unchanged":["y"]}"""), "fleet-applied");
        Assert.Equal((2, "x", "y", 0), (old.Revision, old.Started.Single(), old.Unchanged.Single(), old.Updated.Count));
    }

    [Fact]
    public void Stored_json_stays_readable()
    {
        const string stored = """{"agent":"a","kind":"crashed","at":"2026-11-22T07:30:00+00:00","run_id":"ab12","exit_code":3,"detail":"boom"}""";
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        var e = (AgentLifecycle)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(stored), "agent-lifecycle");
        Assert.Equal(LifecycleKind.Crashed, e.Kind);
        Assert.Equal(3, e.ExitCode);
    }

    [Theory]
    [InlineData("agent-lifecycle", """{"agent":"a","kind":"started","at":"2026-11-22T07:30:00+00:00","run_id":"ab12","pid":42}""")]
    [InlineData("start-agent", """{"agent":"a","task":"add a test"}""")]
    [InlineData("agent-output", """{"agent":"a","run_id":"ab12","first_seq":0,"at":"2026-11-22T07:30:00+00:00","lines":[{"stream":"stdout","text":"ok","kind":"text"}]}""")]
    [InlineData("agent-usage", """{"agent":"a","run_id":"ab12","provider":"anthropic","input_tokens":10,"output_tokens":2,"at":"2026-11-22T07:30:00+00:00"}""")]
    [InlineData("route-chosen", """{"agent":"a","run_id":"ab12","cli":"claude","provider":"anthropic","reason":"own","at":"2026-11-22T07:30:00+00:00"}""")]
    public void Events_stored_before_task_and_project_ids_existed_stay_readable(string manifest, string stored)
    {
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);

        var e = serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(stored), manifest);

        Assert.Equal("a", ((IWithAgent)e).Agent);
        var ids = e.GetType().GetProperties().Where(p => p.Name is "TaskId" or "ProjectId").ToList();
        Assert.Equal(2, ids.Count);
        Assert.All(ids, p => Assert.Null(p.GetValue(e)));
    }

    [Fact]
    public void A_command_result_keeps_its_json_fields_and_adds_the_outcome()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(CommandResult.Refused(CommandOutcome.AlreadyRunning, "agent 'a' is already running (run ab12)"), DarkFactoryJson.Options);

        Assert.Equal("""{"ok":false,"outcome":"already_running","message":"agent 'a' is already running (run ab12)"}""", json);
    }

    [Fact]
    public void A_router_snapshot_stored_before_runtime_providers_existed_stays_readable_and_an_added_provider_holds_no_key()
    {
        const string stored = """{"buckets":[],"runs":[],"limits":[],"breakers":[],"routes":[],"switches":[]}""";
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        var snapshot = (RouterSnapshot)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(stored), "router-snapshot");
        Assert.Null(snapshot.Added);
        Assert.Null(snapshot.Avoids);

        var json = System.Text.Json.JsonSerializer.Serialize(new ProviderAdded("spare", "codex", "m", "SPARE_KEY", null, 100, "operator", At), DarkFactoryJson.Options);
        Assert.Equal("""{"name":"spare","cli":"codex","model":"m","api_key_env":"SPARE_KEY","credits":null,"priority":100,"by":"operator","at":"2026-11-22T07:30:00+00:00"}""", json);
    }

    [Fact]
    public void A_scheduler_snapshot_stored_before_armed_and_waiting_existed_stays_readable()
    {
        const string stored = """{"last":[{"agent":"a","scheduled_at":"2026-11-22T07:00:00+00:00","fired_at":"2026-11-22T07:00:01+00:00","outcome":"started","run_id":"r1"}]}""";
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        var snapshot = (SchedulerSnapshot)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(stored), "scheduler-snapshot");
        Assert.Equal("r1", Assert.Single(snapshot.Last).RunId);
        Assert.Null(snapshot.Armed);
        Assert.Null(snapshot.Waiting);
    }

    /// <summary>Review and scheduler events as journals written before their strings became enums hold them.</summary>
    public static TheoryData<string, string> StoredReviewJson() => new()
    {
        { "review-started", """{"review_id":"r1","at":"2026-11-22T07:30:00+00:00","trigger":"catch-up","repo":"/srv/repo","base_branch":"main","agent":"fixer","create_prs":true,"max_duration":"00:30:00"}""" },
        { "review-started", """{"review_id":"r2","at":"2026-11-22T07:30:00+00:00","trigger":"schedule","repo":"/srv/repo","base_branch":"main","create_prs":false,"max_duration":"01:00:00"}""" },
        { "review-failed", """{"review_id":"r1","at":"2026-11-22T07:30:00+00:00","step":"dry_run","reason":"disk full"}""" },
        { "review-failed", """{"review_id":"r1","at":"2026-11-22T07:30:00+00:00","step":"review","reason":"max_duration 00:30:00 exceeded; the review was stopped"}""" },
        { "review-schedule-fired", """{"due":"2026-11-22T02:00:00+00:00","at":"2026-11-22T07:30:00+00:00","outcome":"caught-up","detail":"1 firing(s) missed"}""" },
        { "review-schedule-fired", """{"due":"2026-11-22T07:30:00+00:00","at":"2026-11-22T07:30:00+00:00","outcome":"armed","detail":"no firing recorded before: missed firings are counted from here"}""" },
        { "review-schedule-fired", """{"due":"2026-11-22T02:00:00+00:00","at":"2026-11-22T02:00:00+00:00","outcome":"skipped","review_id":"r0","detail":"review r0 was still running"}""" },
        { "review-agent-started", """{"review_id":"r1","at":"2026-11-22T07:30:00+00:00","run_id":"ab12"}""" },
        { "review-agent-finished", """{"review_id":"r1","at":"2026-11-22T07:30:00+00:00","run_id":"ab12","success":true,"exit_code":0,"summary":"fixed","commit":"c0ffee","files_changed":["src/a.cs"]}""" },
        { "review-snapshot", """{"reviews":[{"started":{"review_id":"r1","at":"2026-11-22T07:30:00+00:00","trigger":"manual","repo":"/srv/repo","base_branch":"main","create_prs":false,"max_duration":"00:30:00"},"runs":[{"review_id":"r1","at":"2026-11-22T07:31:00+00:00","run_id":"ab12"}],"failed":{"review_id":"r1","at":"2026-11-22T07:40:00+00:00","step":"agent","reason":"the agent changed nothing in its worktree"}}],"last_firing":{"due":"2026-11-22T02:00:00+00:00","at":"2026-11-22T02:00:00+00:00","outcome":"started","review_id":"r1"}}""" },
        { "scheduler-fired", """{"agent":"a","scheduled_at":"2026-11-22T07:00:00+00:00","fired_at":"2026-11-22T07:00:01+00:00","outcome":"queued","detail":"missed while the daemon was down (catch_up: all, 2 missed)","catch_up":true}""" },
    };

    [Theory]
    [MemberData(nameof(StoredReviewJson))]
    public void Review_and_scheduler_json_stored_before_the_enums_reads_and_writes_back_the_same(string manifest, string stored)
    {
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        var e = serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(stored), manifest);
        Assert.Equal(stored, System.Text.Encoding.UTF8.GetString(serializer.ToBinary(e)));
    }

    [Fact]
    public void Stored_review_strings_read_as_their_enums()
    {
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        var rows = StoredReviewJson().ToList();
        T Read<T>(int row) => (T)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes((string)rows[row][1]), (string)rows[row][0]);

        Assert.Equal(ReviewTrigger.CatchUp, Read<ReviewStarted>(0).Trigger);
        Assert.Equal(ReviewTrigger.Schedule, Read<ReviewStarted>(1).Trigger);
        Assert.Equal(ReviewStage.DryRun, Read<ReviewFailed>(2).Step);
        Assert.Equal(ReviewStage.Review, Read<ReviewFailed>(3).Step);
        Assert.Equal(FiringOutcome.CaughtUp, Read<ReviewScheduleFired>(4).Outcome);
        Assert.Equal(FiringOutcome.Armed, Read<ReviewScheduleFired>(5).Outcome);
        Assert.Equal(FiringOutcome.Skipped, Read<ReviewScheduleFired>(6).Outcome);
        Assert.Equal("ab12", Read<ReviewAgentStarted>(7).RunId);
        Assert.Equal("c0ffee", Read<ReviewAgentFinished>(8).Commit);
        var snapshot = Read<ReviewSnapshot>(9);
        Assert.Equal(ReviewStage.Agent, snapshot.Reviews[0].Failed!.Step);
        Assert.Equal(FiringOutcome.Started, snapshot.LastFiring!.Outcome);
        Assert.Equal(FiringOutcome.Queued, Read<SchedulerFired>(10).Outcome);
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));
}
