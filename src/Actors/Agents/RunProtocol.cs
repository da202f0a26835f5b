using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;

namespace DarkFactory.Actors.Agents;

// The protocol between a layer and the actor that owns one run of an agent: the ProcessActor, or a fake
// run in specs and scenarios (LayerServices.RunProps). Parent and child live on one node: no manifests.

/// <summary>What a ProcessActor needs to own one run of one agent.</summary>
public sealed record AgentRun(
    string Agent,
    string RunId,
    LaunchPlan Plan,
    TimeSpan Grace,
    TimeSpan? MaxRuntime,
    LogSink Log,
    Redactor Redactor,
    Func<OutputStream, string, OutputKind> Classify,
    IActorRef Sweeper)
{
    /// <summary>Typed events of an AI CLI's structured output (usage, limits); null for plain commands.</summary>
    public RunEvents? Events { get; init; }

    /// <summary>The provider an AI CLI run talks to (its route's, or the agent's); null for a plain command or when none is known.</summary>
    public string? Provider { get; init; }

    /// <summary>The task the run works on (<see cref="StartAgent.TaskId"/>): its output carries it.</summary>
    public string? TaskId { get; init; }

    public string? ProjectId { get; init; }

    /// <summary>The run works in a worktree the actor makes before the spawn and commits after the exit; null: in place.</summary>
    public Isolation.IsolationPlan? Isolation { get; init; }

    /// <summary>An AI CLI run still going this long after its final result is ended (<see cref="AfterResult"/>); null: never.</summary>
    public TimeSpan? ResultGrace { get; init; }

    /// <summary>
    /// A standby (<see cref="Processes.Standby"/>): the process is spawned at once and waits, and the run begins (its
    /// log line, stdin, max runtime, <see cref="RunStarted"/>) only at <see cref="ReleaseStandby"/>.
    /// </summary>
    public bool Standby { get; init; }
}

/// <summary>Parent -> a standby run's ProcessActor: the run begins now (its program is exec'd); once, later ones are ignored.</summary>
public sealed record ReleaseStandby : Signal<ReleaseStandby>;

/// <summary>Parent -> ProcessActor: end the run gracefully (SIGTERM to the group, grace, SIGKILL).</summary>
public sealed record StopRun(string Reason);

/// <summary>ProcessActor -> parent: the OS process is alive.</summary>
public sealed record RunStarted(string Agent, string RunId, int Pid, DateTimeOffset At);

/// <summary>
/// ProcessActor -> parent, before it stops itself: the run is over (exit 0, stopped on request, max runtime, or a
/// crash), its output drained. The layer decides what follows from this, at once: a restart does not wait for
/// the run's actor to be gone.
/// </summary>
/// <param name="StopReason">Why the run was stopped on request; null when it ended by itself.</param>
/// <param name="TimedOut">The daemon stopped it for exceeding its max runtime.</param>
/// <param name="Crashed">It ended by itself abnormally (non-zero exit, signal).</param>
/// <param name="Limited">It reported its provider's rate limit (a structured 429 in its output, or an exit code that means one).</param>
public sealed record RunEnded(string Agent, string RunId, ExitInfo Exit, string? StopReason, bool TimedOut = false, bool Crashed = false, bool Limited = false);

/// <summary>
/// A run's actor that failed (or a fake run that reports a crash by throwing): "let it crash" to the layer
/// supervisor, which learns the exit from it and decides when the actor is gone. The ProcessActor reports its
/// crashes as <see cref="RunEnded"/> with <see cref="RunEnded.Crashed"/> instead (no exception on the restart path).
/// </summary>
public sealed class AgentCrashedException(string agent, string runId, ExitInfo exit)
    : Exception($"agent '{agent}' run {runId} {Describe(exit)}")
{
    public string Agent { get; } = agent;
    public string RunId { get; } = runId;
    public ExitInfo Exit { get; } = exit;

    public static string Describe(ExitInfo exit) =>
        (exit.Signal is { } s ? $"killed by signal {s}" : $"exited with code {exit.Code}") + (exit.Reason is null ? string.Empty : $" ({exit.Reason})");
}
