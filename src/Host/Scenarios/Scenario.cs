using System.Text.Json.Serialization;

namespace DarkFactory.Host.Scenarios;

/// <summary>
/// A scenario file (scenarios/*.yaml): a fleet, a start time and how long to run, the fake behaviour of
/// each agent's runs, the steps injected at virtual times, and the expectations checked on the timeline.
/// </summary>
public sealed record Scenario
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public required string Path { get; init; }
    public required FleetSpec Fleet { get; init; }

    /// <summary>Where the fleet came from: a file, or the scenario file's inline <c>fleet:</c> mapping.</summary>
    public required string FleetSource { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>
    /// <c>time: real</c>: the fleet's real commands run as OS processes on the wall clock, from now for <see cref="Until"/>
    /// (no scripted behaviours, no <c>missing</c>, no injected <c>exit</c>; a <c>crash</c> is a SIGKILL).
    /// </summary>
    public bool RealTime { get; init; }
    public required DateTimeOffset Start { get; init; }
    public required TimeSpan Until { get; init; }

    /// <summary>Per agent: the behaviour of its runs in order (the last one repeats).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<RunBehaviour>> Agents { get; init; } = new Dictionary<string, IReadOnlyList<RunBehaviour>>();

    /// <summary>Binaries (a CLI or a command's program) the sandbox reports as not installed.</summary>
    public IReadOnlyList<string> Missing { get; init; } = [];

    /// <summary>What the compound review's repository, gates and forge do in the sandbox (<c>review:</c>).</summary>
    public RepositoryScript Review { get; init; } = RepositoryScript.Default;

    /// <summary>What the projects' repositories, gates and forge do in the sandbox (<c>projects:</c>).</summary>
    public RepositoryScript Projects { get; init; } = RepositoryScript.Default;

    /// <summary>How long the virtual cluster takes to act on a lost node (<c>cluster:</c>; a fleet with <c>cluster.nodes</c> only).</summary>
    public ClusterTiming ClusterTiming { get; init; } = ClusterTiming.Default;

    public IReadOnlyList<ScenarioStep> Steps { get; init; } = [];
    public IReadOnlyList<Expectation> Expectations { get; init; } = [];
}

/// <summary>What one fake run does.</summary>
/// <param name="Run">How long it runs before it ends by itself; null = it hangs (never ends by itself).</param>
/// <param name="Exit">Its exit code when it ends by itself.</param>
/// <param name="Signal">It is killed by this signal when it ends by itself (code 128 + signal).</param>
/// <param name="IgnoreSigterm">Asked to stop, it keeps going until its grace period ends (then SIGKILL).</param>
/// <param name="Output">Lines it prints at its start (classified by the agent's CLI adapter, as a real run's).</param>
/// <param name="OutputEvery">It prints <paramref name="Output"/> again at this interval, each round numbered ("line (2)"): a CLI that keeps making progress; null: once.</param>
public sealed record RunBehaviour(
    TimeSpan? Run,
    int Exit = 0,
    int? Signal = null,
    bool IgnoreSigterm = false,
    IReadOnlyList<string>? Output = null,
    UsageBehaviour? Usage = null,
    LimitBehaviour? Limited = null,
    TimeSpan? OutputEvery = null)
{
    public static RunBehaviour Default { get; } = new(TimeSpan.FromSeconds(30));
}

/// <summary>Tokens and cost the run reports at its start (an <c>AgentUsage</c> on the run's provider).</summary>
public sealed record UsageBehaviour(long InputTokens, long OutputTokens, decimal? CostUsd);

/// <summary>The run reports a structured 429 (a <c>ProviderLimited</c> on its provider), reset after <paramref name="ResetIn"/> (null: no reset time given).</summary>
/// <param name="AtExit">Reported as the run exits (a CLI that gives up on a 429) rather than at its start (one that waits or retries).</param>
public sealed record LimitBehaviour(TimeSpan? ResetIn, string Reason, bool AtExit = false);

public enum StepKind
{
    /// <summary>The agent's live run crashes (exit code, default 1).</summary>
    Crash,

    /// <summary>The agent's live run exits normally.</summary>
    Exit,

    /// <summary>A provider is rate-limited until a time (a structured 429 as an adapter reports it).</summary>
    ProviderLimited,

    /// <summary>Cost reported on a provider (an <c>AgentUsage</c>): budgets consumed.</summary>
    Usage,

    /// <summary><c>df run AGENT</c>.</summary>
    Run,

    /// <summary><c>df stop AGENT</c>.</summary>
    Stop,

    /// <summary><c>df restart AGENT</c> (also releases a quarantined agent).</summary>
    Restart,

    /// <summary>
    /// The daemon dies with its host (every run with it) and comes back after <see cref="ScenarioStep.Down"/> on the
    /// same journal: agents recover, the scheduler's missed firings follow <c>catch_up</c>.
    /// </summary>
    DaemonRestart,

    /// <summary>
    /// SIGHUP with another fleet file (<see cref="ScenarioStep.Reload"/>): the daemon's own decision — an invalid file,
    /// or one that would stop every agent or every safety agent, is refused (a <c>FleetReloadRefused</c> event) and the
    /// running fleet stays; otherwise the fleet is applied, and a later <c>daemon_restart</c> comes back with it.
    /// </summary>
    Reload,

    /// <summary>
    /// The journal goes away for <see cref="ScenarioStep.Down"/> (a database outage, a full disk): every write and
    /// recovery fails, so each persistent actor that persists is stopped and its keeper starts it again after a
    /// backoff; what was written before stays. The runner ends it with <see cref="JournalRecovered"/>.
    /// </summary>
    JournalFailure,

    /// <summary>The end of a <see cref="JournalFailure"/> (put on the timeline by the runner; not written in a scenario file).</summary>
    JournalRecovered,

    /// <summary><c>df init</c>: a project named <see cref="ScenarioStep.Project"/> on the sandbox's stand-in repository.</summary>
    InitProject,

    /// <summary><c>df start PROJECT</c>.</summary>
    StartProject,

    /// <summary><c>df pause PROJECT</c>: its run is stopped (an interruption) and its slot given back.</summary>
    PauseProject,

    /// <summary><c>df resume PROJECT [--extend]</c>.</summary>
    ResumeProject,

    /// <summary>
    /// A cluster node's daemon dies with its runs (SIGKILL, OOM kill) (<see cref="ScenarioStep.Node"/>): its runs end at
    /// once; after failure detection it is unreachable (<see cref="NodeUnreachable"/>), after <c>stable_after</c> more it is
    /// downed and removed (<see cref="NodeRemoved"/>) and its agents follow their failover.
    /// </summary>
    LoseNode,

    /// <summary>The lost node's daemon starts again and joins as a new incarnation: agents waiting for it (stay, a pin) are placed on it.</summary>
    RestoreNode,

    /// <summary>The failure detector's verdict on a lost node (put on the timeline by the runner; not written in a scenario file).</summary>
    NodeUnreachable,

    /// <summary>The resolver downed a lost node and it was removed (put on the timeline by the runner; not written in a scenario file).</summary>
    NodeRemoved,
}

/// <summary>The fleet file a reload step reads, as the fleet loader read it (it may be invalid), and where it came from.</summary>
public sealed record ReloadFleet(FleetLoadResult Loaded, string Source);

/// <summary>One injected step at a virtual time (an offset from the start).</summary>
public sealed record ScenarioStep(TimeSpan At, StepKind Kind, int Line)
{
    public string? Agent { get; init; }
    public string? Provider { get; init; }
    public int ExitCode { get; init; } = 1;

    /// <summary>For <see cref="StepKind.ProviderLimited"/>: the reset time (null: none given).</summary>
    public DateTimeOffset? Until { get; init; }

    public string? Task { get; init; }
    public decimal CostUsd { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }

    /// <summary>For <see cref="StepKind.DaemonRestart"/>: how long the daemon stays down; for <see cref="StepKind.JournalFailure"/>, the journal.</summary>
    public TimeSpan Down { get; init; }

    /// <summary>For <see cref="StepKind.Reload"/>: the fleet file as read (not on the timeline: its source is).</summary>
    [JsonIgnore]
    public FleetLoadResult? Reload { get; init; }

    /// <summary>For <see cref="StepKind.Reload"/>: the file read (or the scenario's line of an inline fleet).</summary>
    public string? FleetSource { get; init; }

    /// <summary>For <see cref="StepKind.Reload"/>: <c>df reload --allow-empty</c> (a SIGHUP never asks).</summary>
    public bool AllowEmpty { get; init; }

    /// <summary>For the project steps: the project's name (an id works too).</summary>
    public string? Project { get; init; }

    /// <summary>For <see cref="StepKind.InitProject"/>: what the project is to achieve.</summary>
    public string? Description { get; init; }

    /// <summary>For <see cref="StepKind.InitProject"/>: the personas of its tasks.</summary>
    public IReadOnlyList<string> Personas { get; init; } = [];

    /// <summary>For <see cref="StepKind.InitProject"/>: the repository it names (the sandbox never touches it; default: the scenario file's directory).</summary>
    public string? Repo { get; init; }

    /// <summary>For <see cref="StepKind.InitProject"/>: the base branch (default main).</summary>
    public string? BaseBranch { get; init; }

    /// <summary>For <see cref="StepKind.InitProject"/>: <c>df init --max-runtime</c> (null: projects.max_runtime).</summary>
    public TimeSpan? MaxRuntime { get; init; }

    /// <summary>For <see cref="StepKind.InitProject"/>: <c>--create-pr</c> (null: projects.create_pr).</summary>
    public bool? CreatePr { get; init; }

    /// <summary>For <see cref="StepKind.ResumeProject"/>: <c>--extend</c>.</summary>
    public TimeSpan? Extend { get; init; }

    /// <summary>For <see cref="StepKind.LoseNode"/> and <see cref="StepKind.RestoreNode"/>: a node of the fleet's <c>cluster.nodes</c>.</summary>
    public string? Node { get; init; }
}

/// <summary>An event (by type and fields) that must happen (a number of times) or never happen, in a window of virtual time.</summary>
public sealed record Expectation(string Event, IReadOnlyDictionary<string, string> Where, int Line)
{
    public bool Never { get; init; }

    /// <summary>The window: from start + <see cref="After"/> to start + <see cref="Within"/> (null: the scenario's end).</summary>
    public TimeSpan After { get; init; }

    public TimeSpan? Within { get; init; }
    public int? Count { get; init; }
    public int? AtLeast { get; init; }
    public int? AtMost { get; init; }
}
