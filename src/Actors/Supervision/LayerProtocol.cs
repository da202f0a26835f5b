using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Routing;

namespace DarkFactory.Actors.Supervision;

/// <summary>Thrown by a layer whose restart intensity is exceeded: OTP escalation to the fleet.</summary>
public sealed class LayerIntensityExceededException(LayerName layer, string reason) : Exception($"layer {layer}: {reason}")
{
    public LayerName Layer { get; } = layer;
}

/// <summary>The services a layer supervisor uses to run agents. Shared, thread-safe, or pure.</summary>
public sealed record LayerServices(
    DaemonContext Daemon,
    LogSinks Logs,
    IActorRef Sweeper,
    IActorRef History,
    IReadOnlyDictionary<string, string?> Environment,
    TimeProvider Clock,
    Func<double> Random,
    Func<string, string?> FindExecutable,
    Func<string, string?> ReadSecretFile)
{
    /// <summary>Secrets that are not in any agent's env but must be redacted anyway (provider keys).</summary>
    public IReadOnlyCollection<string> GlobalSecrets { get; init; } = [];

    /// <summary>The router's published policy and provider board: each AI-agent run is routed against it when it starts; null = no routing.</summary>
    public RouteBoard? Routes { get; init; }

    /// <summary>
    /// The node's admission gate: each run is admitted against the declared limits (<c>limits.max_concurrent_runs</c>,
    /// providers' <c>max_concurrent</c>, <c>requests_per_minute</c>, <c>tokens_per_minute</c>) before it starts, or
    /// waits in its queue; null = no limits enforced.
    /// </summary>
    public Routing.Admission.RunGate? Gate { get; init; }

    /// <summary>Where queued runs' tasks wait on disk (<see cref="TaskSpill"/>); null: they wait in memory (specs, scenarios).</summary>
    public TaskSpill? Spill { get; init; }

    /// <summary>The router (told each run's <see cref="Messages.Providers.RouteChosen"/> and the agents that wait for a route).</summary>
    public IActorRef? Router { get; init; }

    /// <summary>
    /// Makes the actor that owns one run: a <see cref="ProcessActor"/> (an OS process) by default. Specs of
    /// the layer's rules and scenario runs pass fake runs (no process) that speak the same protocol:
    /// <see cref="RunStarted"/> to the parent, <see cref="RunEnded"/> then stop for a normal end or a
    /// requested <see cref="StopRun"/>, an <see cref="AgentCrashedException"/> for a crash.
    /// </summary>
    public Func<AgentRun, Props> RunProps { get; init; } = ProcessActor.Props;

    /// <summary>
    /// Whether a running plain-command agent gets a standby (<see cref="StandbyRules"/>): its next run spawned ahead
    /// and released by a pipe write at a crash. The daemon's runs do (<c>darkfactory.standby-runs</c>); fake runs
    /// of specs and scenarios do not.
    /// </summary>
    public bool Standbys { get; init; }

    /// <summary>
    /// Whether the store may hold Nightwatch pauses that outlived the last daemon, which the first fleet revision then
    /// waits for (<see cref="FactoryActor"/>). The daemon says false when the store holds nothing of Nightwatch's at
    /// start (a new data directory): its agents start without waiting for the journal's recovery.
    /// </summary>
    public bool PausesMayExist { get; init; } = true;

    /// <summary>
    /// The compound review's ports (repository, worktree, gates, forge), given the gateway; null: the real ones. A scenario
    /// sandbox gives ports that act on nothing real.
    /// </summary>
    public Func<IActorRef, Review.IReviewPorts>? ReviewPorts { get; init; }

    /// <summary>The projects' ports (repository, worktree, commits, gates, forge); null: the real ones (<see cref="Projects.ProjectPorts.Real"/>).</summary>
    public Projects.IProjectPorts? ProjectPorts { get; init; }

    /// <summary>Where the daemon makes git worktrees (reviews, projects, isolated runs): <c>$DF_WORKTREES</c>, else &lt;data&gt;/worktrees.</summary>
    public string WorktreeRoot =>
        Environment.GetValueOrDefault("DF_WORKTREES") is { Length: > 0 } root ? Path.GetFullPath(root) : Path.Combine(Daemon.DataDirectory, "worktrees");

    public static IReadOnlyDictionary<string, string?> CurrentEnvironment() =>
        System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);

    public static string? ReadFile(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
