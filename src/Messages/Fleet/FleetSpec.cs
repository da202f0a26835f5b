namespace DarkFactory.Messages.Fleet;

/// <summary>The three supervision layers of a fleet, in start order.</summary>
public enum LayerName
{
    Safety,
    Core,
    Growth,
}

/// <summary>How a layer reacts when one of its agents crashes.</summary>
public enum StrategyKind
{
    /// <summary>Only the crashed agent is restarted.</summary>
    OneForOne,

    /// <summary>Every agent of the layer is stopped and started again, in declaration order.</summary>
    OneForAll,
}

/// <summary>OTP restart types.</summary>
public enum RestartType
{
    /// <summary>Always restarted, whatever the exit.</summary>
    Permanent,

    /// <summary>Restarted only after an abnormal exit (non-zero code or signal).</summary>
    Transient,

    /// <summary>Never restarted.</summary>
    Temporary,
}

/// <summary>What a cron firing does when the previous run of the agent is still going.</summary>
public enum OverlapPolicy
{
    Skip,
    Queue,
    Replace,
}

/// <summary>What happens to firings missed while the daemon was down.</summary>
public enum CatchUpPolicy
{
    Skip,
    Once,
    All,
}

/// <summary>A parsed, validated fleet.yaml. Immutable; a reload builds a new revision.</summary>
public sealed record FleetSpec
{
    public int Version { get; init; } = 1;

    /// <summary>Always holds all three layers (defaults fill the ones the file leaves out).</summary>
    public IReadOnlyDictionary<LayerName, LayerSpec> Layers { get; init; } = LayerSpec.Defaults();

    public IReadOnlyList<ProviderSpec> Providers { get; init; } = [];
    public IReadOnlyList<AgentSpec> Agents { get; init; } = [];
    public IReadOnlyList<RoutingRuleSpec> Routing { get; init; } = [];
    public NightwatchSpec Nightwatch { get; init; } = new();
    /// <summary>Without a <c>compound_review</c> section there is no nightly review (a manual one still runs).</summary>
    public CompoundReviewSpec CompoundReview { get; init; } = new() { Enabled = false };
    public RouterSpec Router { get; init; } = new();

    /// <summary>fleet.yaml <c>limits:</c> (fleet-wide caps).</summary>
    public FleetLimits Limits { get; init; } = new();

    /// <summary>fleet.yaml <c>projects:</c> (personas, runtime, audits, concurrency, gate commands per repository).</summary>
    public ProjectsSpec Projects { get; init; } = new();

    /// <summary>fleet.yaml <c>cluster:</c>; null without the section (a single-node daemon ignores it anyway).</summary>
    public ClusterSpec? Cluster { get; init; }

    /// <summary>The file it came from, for messages; null when built in code.</summary>
    public string? SourcePath { get; init; }

    public LayerSpec Layer(LayerName name) => Layers.TryGetValue(name, out var l) ? l : LayerSpec.Default(name);
}

public sealed record BackoffSpec
{
    public TimeSpan Min { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan Max { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Random spread added to each delay, as a fraction of it (0.2 = up to +20 %).</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>A run that stays up this long resets the backoff and the crash-loop counter.</summary>
    public TimeSpan ResetAfter { get; init; } = TimeSpan.FromSeconds(30);
}

public sealed record LayerSpec
{
    public LayerName Name { get; init; }
    public StrategyKind Strategy { get; init; } = StrategyKind.OneForOne;

    /// <summary>Restart intensity: more than this many restarts within <see cref="Within"/> escalates.</summary>
    public int MaxRestarts { get; init; } = 10;

    public TimeSpan Within { get; init; } = TimeSpan.FromSeconds(60);
    public BackoffSpec Backoff { get; init; } = new();

    /// <summary>Consecutive crashes (none lasting <see cref="BackoffSpec.ResetAfter"/>) that quarantine an agent.</summary>
    public int QuarantineAfter { get; init; } = 5;

    /// <summary>Restart type of agents that do not declare one.</summary>
    public RestartType DefaultRestart { get; init; } = RestartType.Transient;

    public static LayerSpec Default(LayerName name) => name switch
    {
        LayerName.Safety => new LayerSpec { Name = name, DefaultRestart = RestartType.Permanent },
        LayerName.Core => new LayerSpec { Name = name, DefaultRestart = RestartType.Transient },
        _ => new LayerSpec { Name = name, DefaultRestart = RestartType.Temporary },
    };

    public static IReadOnlyDictionary<LayerName, LayerSpec> Defaults() =>
        Enum.GetValues<LayerName>().ToDictionary(n => n, Default);
}

/// <summary>fleet.yaml <c>limits:</c>: caps across the whole fleet (on each node, in a cluster).</summary>
public sealed record FleetLimits
{
    /// <summary>Runs of core and growth agents at the same time; the rest wait in order. Safety agents are exempt. Null: no cap.</summary>
    public int? MaxConcurrentRuns { get; init; }
}

public sealed record ProviderLimits
{
    public int? RequestsPerMinute { get; init; }
    public long? TokensPerMinute { get; init; }
    public int? MaxConcurrent { get; init; }
    public decimal? BudgetPerHour { get; init; }
    public decimal? BudgetPerDay { get; init; }
    public decimal? BudgetPerMonth { get; init; }
    public decimal? Credits { get; init; }
}

/// <summary>Prices in USD per million tokens.</summary>
public sealed record ProviderPrices
{
    public decimal InputPerMillion { get; init; }
    public decimal OutputPerMillion { get; init; }
    public decimal CachedInputPerMillion { get; init; }
}

public sealed record ProviderSpec
{
    public required string Name { get; init; }

    /// <summary>The CLI kind that talks to this provider (see <see cref="CliCatalog"/>).</summary>
    public required string Cli { get; init; }

    public string? Model { get; init; }
    public string? BaseUrl { get; init; }

    /// <summary>Name of the environment variable that holds the API key (never the key itself).</summary>
    public string? ApiKeyEnv { get; init; }

    /// <summary>Lower is preferred.</summary>
    public int Priority { get; init; } = DefaultPriority;

    /// <summary>The priority of a provider that declares none (fleet.yaml's and <c>df provider add</c>'s).</summary>
    public const int DefaultPriority = 100;

    public ProviderLimits Limits { get; init; } = new();
    public ProviderPrices Prices { get; init; } = new();
}

public sealed record RoutingRuleSpec
{
    /// <summary>Words or phrases; a task matching any of them matches the rule (case-insensitive).</summary>
    public IReadOnlyList<string> Keywords { get; init; } = [];

    public IReadOnlyList<string> Capabilities { get; init; } = [];
    public string? Cli { get; init; }
    public string? Provider { get; init; }
    public string? Model { get; init; }
}

/// <summary>A value of an agent's environment: a literal, or a secret taken from the daemon's environment or a file.</summary>
public sealed record EnvValue
{
    public string? Value { get; init; }
    public string? FromEnv { get; init; }
    public string? FromFile { get; init; }

    public bool IsSecret => FromEnv is not null || FromFile is not null;

    public static EnvValue Literal(string value) => new() { Value = value };
}

public sealed record ResourceLimits
{
    public long? MemoryBytes { get; init; }
    public long? CpuSeconds { get; init; }
    public int? OpenFiles { get; init; }

    public bool Any => MemoryBytes is not null || CpuSeconds is not null || OpenFiles is not null;
}

public sealed record AgentSpec
{
    public required string Name { get; init; }
    public LayerName Layer { get; init; }

    /// <summary>CLI kind: command, claude, codex, opencode or gemini.</summary>
    public string Cli { get; init; } = CliCatalog.Command;

    /// <summary>argv for the generic command kind (and an override for the AI CLIs).</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    public string? Task { get; init; }
    public string? Schedule { get; init; }
    public string Timezone { get; init; } = "UTC";
    public IReadOnlyList<string> Capabilities { get; init; } = [];
    public string? Provider { get; init; }
    public string? Model { get; init; }
    public string? Workdir { get; init; }
    public IReadOnlyDictionary<string, EnvValue> Env { get; init; } = new Dictionary<string, EnvValue>();
    public ResourceLimits Limits { get; init; } = new();
    public TimeSpan? MaxRuntime { get; init; }

    /// <summary>Null: the layer's default restart type.</summary>
    public RestartType? Restart { get; init; }

    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// An AI CLI run that printed its final result and is still going this long after is ended as the result said
    /// (fleet.yaml <c>agents[].result_grace</c>): a CLI that never exits does not hold its slot, its task or its project.
    /// </summary>
    public TimeSpan ResultGrace { get; init; } = DefaultResultGrace;

    public static readonly TimeSpan DefaultResultGrace = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A run that crashed after being up this long is restarted at once and counts for neither backoff, quarantine,
    /// restart intensity nor Nightwatch's crash judgement (fleet.yaml <c>agents[].min_uptime</c>; pm2's
    /// <c>min_uptime</c>, runit's 1 s rule). Only runs that die sooner make a crash loop.
    /// </summary>
    public TimeSpan MinUptime { get; init; } = DefaultMinUptime;

    public static readonly TimeSpan DefaultMinUptime = TimeSpan.FromSeconds(1);

    /// <summary>Node name, or <c>role:&lt;r&gt;</c>, this agent is pinned to when clustered; null = anywhere.</summary>
    public string? Node { get; init; }

    /// <summary>What happens when its node leaves the cluster; null: stay when pinned to a node by name, move otherwise (<see cref="AgentPins.EffectiveFailover"/>).</summary>
    public FailoverPolicy? Failover { get; init; }

    public const string RolePrefix = "role:";

    public OverlapPolicy Overlap { get; init; } = OverlapPolicy.Skip;
    public int QueueLimit { get; init; } = 1;
    public CatchUpPolicy CatchUp { get; init; } = CatchUpPolicy.Once;
    public int CatchUpLimit { get; init; } = 3;
    public TimeSpan Jitter { get; init; } = TimeSpan.Zero;

    /// <summary>Start when the daemon starts (default: true in the safety layer, false elsewhere).</summary>
    public bool? Autostart { get; init; }

    /// <summary>1-based line of the agent in its file, for messages; 0 when built in code.</summary>
    public int SourceLine { get; init; }

    /// <summary>Spend caps of this agent across providers (fleet.yaml <c>agents[].budget</c>).</summary>
    public AgentBudget Budget { get; init; } = new();

    /// <summary>How much an AI CLI may do without asking (fleet.yaml <c>agents[].permission_mode</c>).</summary>
    public PermissionMode PermissionMode { get; init; } = PermissionMode.AcceptEdits;

    /// <summary>
    /// Tools the CLI may use without asking, beyond what the mode allows (fleet.yaml <c>agents[].allowed_tools</c>;
    /// claude permission rules such as <c>Bash(git:*)</c>).
    /// </summary>
    public IReadOnlyList<string> AllowedTools { get; init; } = [];

    /// <summary>Whether runs are sandboxed (fleet.yaml <c>agents[].sandbox</c>; docs/security.md).</summary>
    public SandboxMode Sandbox { get; init; } = SandboxMode.Auto;

    /// <summary>Whether a sandboxed run reaches the network (fleet.yaml <c>agents[].network</c>).</summary>
    public NetworkAccess Network { get; init; } = NetworkAccess.Open;

    /// <summary>Rotation and retention of the agent's output log (fleet.yaml <c>agents[].log</c>).</summary>
    public LogRetention Log { get; init; } = new();

    /// <summary>
    /// Where the agent's own runs (cron, @mention, <c>df run</c>) edit its <see cref="Workdir"/> (fleet.yaml
    /// <c>agents[].isolation</c>); null: the default, <see cref="IsolationMode.Worktree"/> for an AI CLI agent and
    /// <see cref="IsolationMode.None"/> for a plain command (<see cref="Isolated()"/>).
    /// </summary>
    public IsolationMode? Isolation { get; init; }

    /// <summary>
    /// Checks of the branch an isolated run leaves (fleet.yaml <c>agents[].gates</c>, like <c>compound_review.gates</c>):
    /// run in a fresh worktree of the daemon's commit, results recorded with the branch.
    /// </summary>
    public IReadOnlyList<GateSpec> Gates { get; init; } = [];

    /// <summary>
    /// Whether the agent's own runs work in a worktree: its declared <see cref="Isolation"/>, else worktree for
    /// every AI CLI agent (both permission modes let it edit files) and none for a plain command.
    /// </summary>
    public bool Isolated() => (Isolation ?? (Cli == CliCatalog.Command ? IsolationMode.None : IsolationMode.Worktree)) == IsolationMode.Worktree;
}

/// <summary>Where an agent's own runs edit its working directory (fleet.yaml <c>agents[].isolation</c>).</summary>
public enum IsolationMode
{
    /// <summary>In a worktree of the working directory's repository on a <c>df/&lt;agent&gt;/&lt;date&gt;-&lt;n&gt;</c> branch it cannot push; the daemon commits what it left.</summary>
    Worktree,

    /// <summary>In the working directory itself (the operator's choice; <c>df validate</c> warns for an AI agent).</summary>
    None,
}

/// <summary>
/// An agent's output log: rotated when the next write would pass <see cref="MaxBytes"/> (agent.log -> agent.log.1
/// ...), <see cref="Keep"/> rotated files kept (0: only the current one). At most (Keep + 1) x MaxBytes on disk.
/// </summary>
public sealed record LogRetention
{
    public const long DefaultMaxBytes = 16L * 1024 * 1024;
    public const int DefaultKeep = 3;

    /// <summary>The smallest <see cref="MaxBytes"/> the loader accepts.</summary>
    public const long MinMaxBytes = 64L * 1024;

    /// <summary>The largest <see cref="MaxBytes"/> the loader accepts (1 TiB: beyond it a size is a typo).</summary>
    public const long MaxMaxBytes = 1L << 40;

    public long MaxBytes { get; init; } = DefaultMaxBytes;
    public int Keep { get; init; } = DefaultKeep;
}

/// <summary>Whether an agent's runs are sandboxed (bubblewrap: its working directory read-write, the data directory, other runs and the operator's HOME hidden).</summary>
public enum SandboxMode
{
    /// <summary>Sandboxed where the machine allows it (the daemon says at start when it does not).</summary>
    Auto,

    /// <summary>Sandboxed, or the agent is unavailable.</summary>
    Required,

    /// <summary>Never sandboxed (a tool that needs the whole machine; the operator's decision).</summary>
    Off,
}

/// <summary>Whether a sandboxed run reaches the network (agents need it for their model APIs).</summary>
public enum NetworkAccess
{
    Open,

    /// <summary>A network namespace of its own with loopback only; needs the sandbox.</summary>
    Closed,
}

/// <summary>How much an AI CLI may do in an unattended run without asking (nobody is there to answer).</summary>
public enum PermissionMode
{
    /// <summary>File edits in the working directory and the tools in <c>allowed_tools</c>; anything else is refused (the run goes on).</summary>
    AcceptEdits,

    /// <summary>Everything, without asking: only for a run that is sandboxed (a container or VM) by the operator.</summary>
    Bypass,
}

/// <summary>Spend caps of one agent in USD per UTC calendar hour, day and month; null = no cap.</summary>
public sealed record AgentBudget
{
    public decimal? PerHour { get; init; }
    public decimal? PerDay { get; init; }
    public decimal? PerMonth { get; init; }

    public bool Any => PerHour is not null || PerDay is not null || PerMonth is not null;
}

/// <summary>How the router orders the candidates that fit a task (fleet.yaml <c>router.strategy</c>).</summary>
public enum RoutingStrategy
{
    /// <summary>The first matching routing rule wins (the task's and the agent's needs first), then provider priority.</summary>
    CapabilityFirst,

    /// <summary>Among the fitting providers the cheapest (blended price per million tokens), then priority.</summary>
    Cost,

    /// <summary>Among the fitting providers the fastest (measured run time, else priority).</summary>
    Latency,

    /// <summary>The fitting providers take turns.</summary>
    RoundRobin,

    /// <summary>The fitting providers are picked in proportion to <c>router.weights</c> (default weight 1).</summary>
    Weighted,
}

/// <summary>What a run does when its provider (or its agent) is over a budget.</summary>
public enum BudgetAction
{
    /// <summary>Route to the next candidate.</summary>
    Switch,

    /// <summary>Wait (polling) until the budget window resets.</summary>
    Wait,
}

/// <summary>The router's settings (fleet.yaml <c>router</c>).</summary>
public sealed record RouterSpec
{
    public RoutingStrategy Strategy { get; init; } = RoutingStrategy.CapabilityFirst;

    /// <summary>Consecutive failed runs on a provider that open its circuit breaker.</summary>
    public int BreakerFailures { get; init; } = 3;

    /// <summary>How long an open breaker refuses routes before one half-open probe run is let through.</summary>
    public TimeSpan BreakerOpenFor { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>While every candidate is exhausted, how often the router probes for one that returned.</summary>
    public TimeSpan PollingInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a rate limit without a reset time lasts.</summary>
    public TimeSpan LimitBackoff { get; init; } = TimeSpan.FromMinutes(1);

    public BudgetAction OnBudgetExceeded { get; init; } = BudgetAction.Switch;

    /// <summary>
    /// After Nightwatch's <c>RouteAvoid</c> (severe drift: the agent is paused until its <c>until</c>, then runs
    /// again), how much longer the agent's runs keep off the provider / model it drifted on. Zero: only until then.
    /// </summary>
    public TimeSpan AvoidFor { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Provider name -> weight for the weighted strategy (missing: 1).</summary>
    public IReadOnlyDictionary<string, double> Weights { get; init; } = new Dictionary<string, double>();
}

public sealed record NightwatchThresholds
{
    public double Minor { get; init; } = 0.10;
    public double Moderate { get; init; } = 0.20;
    public double Severe { get; init; } = 0.40;
    public double Critical { get; init; } = 0.70;
}

public sealed record NightwatchSpec
{
    /// <summary>The signal names <see cref="Weights"/> accepts.</summary>
    public static readonly IReadOnlyList<string> SignalNames = [.. Nightwatch.DriftSignals.All.Select(Nightwatch.DriftSignals.Name)];

    /// <summary>Used when a fleet declares no <c>rate_limit_patterns</c> (the default fleet.yaml spells them out).</summary>
    public static readonly IReadOnlyList<string> DefaultRateLimitPatterns =
    [
        @"(?i)\brate[ _-]?limit",
        @"(?i)\b429\b",
        @"(?i)too many requests",
        @"(?i)quota (exceeded|exhausted)|insufficient_quota|resource has been exhausted",
        @"(?i)usage limit|hit your limit",
        @"(?i)overloaded_error|\b529\b",
    ];

    /// <summary>Used when a fleet declares no <c>error_patterns</c>.</summary>
    public static readonly IReadOnlyList<string> DefaultErrorPatterns =
    [
        @"^\s*(?i:error|fatal|panic)\b",
        @"(?i)\berror(\[\w+\])?:",
        @"(?i)\b(unhandled|uncaught) exception\b|exception:|\bexception in thread\b",
        @"^Traceback \(most recent call last\)",
        @"(?i)\bsegmentation fault\b|\bcore dumped\b",
    ];

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan StallAfter { get; init; } = TimeSpan.FromMinutes(3);
    public int LoopRepeats { get; init; } = 5;
    public NightwatchThresholds Thresholds { get; init; } = new();

    /// <summary>Per signal (see <see cref="SignalNames"/>): 1 = as calibrated, 0 = ignored, 2 = counts double. Missing = 1.</summary>
    public IReadOnlyDictionary<string, double> Weights { get; init; } = new Dictionary<string, double>();

    public TimeSpan Cooldown { get; init; } = TimeSpan.FromMinutes(2);
    public string? EscalationWebhook { get; init; }
    public IReadOnlyList<string> RateLimitPatterns { get; init; } = DefaultRateLimitPatterns;

    /// <summary>Regular expressions that mark a plain-text output line as an error.</summary>
    public IReadOnlyList<string> ErrorPatterns { get; init; } = DefaultErrorPatterns;

    /// <summary>A level is left only when the score falls this far below its threshold (no flapping).</summary>
    public double Hysteresis { get; init; } = 0.05;

    /// <summary>Spend rate (USD per hour, over the window) that alone is critical drift.</summary>
    public decimal MaxBurnPerHour { get; init; } = 10m;

    /// <summary>How long a severe drift pauses the agent before it runs again (on another route).</summary>
    public TimeSpan PauseFor { get; init; } = TimeSpan.FromMinutes(5);

    public double Weight(string signal) => Weights.TryGetValue(signal, out var w) ? w : 1.0;
}

public sealed record ForgeSpec
{
    public string Kind { get; init; } = "github";
    public string BaseUrl { get; init; } = "https://api.github.com";
    public string? Repository { get; init; }
    public string TokenEnv { get; init; } = "GITHUB_TOKEN";
}

public sealed record GateSpec
{
    public required string Name { get; init; }

    /// <summary>argv; a string in the file becomes ["sh", "-c", string].</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    public int ExpectExit { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);
}

public sealed record CompoundReviewSpec
{
    public bool Enabled { get; init; } = true;
    public string Schedule { get; init; } = "0 2 * * *";
    public string Timezone { get; init; } = "UTC";
    public string Repo { get; init; } = ".";
    public string BaseBranch { get; init; } = "main";
    public string? Agent { get; init; }
    public TimeSpan Since { get; init; } = TimeSpan.FromHours(24);

    /// <summary>A firing missed while the daemon was down (within <see cref="Since"/>): run one review on start (Once) or not (Skip).</summary>
    public CatchUpPolicy CatchUp { get; init; } = CatchUpPolicy.Once;
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(30);
    public bool CreatePrs { get; init; }
    public string Remote { get; init; } = "origin";
    public ForgeSpec Forge { get; init; } = new();
    public IReadOnlyList<GateSpec> Gates { get; init; } = [];
}
