using System.Text.Json.Serialization;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Messages.Agents;

/// <summary>Lifecycle state of an agent as the operator sees it (the JSON names are the lower-case forms).</summary>
public enum AgentState
{
    Starting,
    Running,
    Stopping,
    Stopped,
    Backoff,
    Quarantined,
    Completed,
    Unavailable,

    /// <summary>The run waits in the admission queue (a declared limit: <c>limits.max_concurrent_runs</c>, a provider's <c>max_concurrent</c> or per-minute limit); it starts when a place frees.</summary>
    Queued,

    /// <summary>In a cluster: the node it is placed on did not answer in time (<see cref="AgentStatus.Node"/> names it).</summary>
    Unknown,
}

public enum OutputStream
{
    Stdout,
    Stderr,
}

/// <summary>What one output line means once the CLI's adapter parsed it.</summary>
public enum OutputKind
{
    Text,
    Error,
    ToolCall,
    ToolResult,
    Usage,
    RateLimit,
    Result,

    /// <summary>A tool result the CLI flagged as failed (is_error / status error): a failed tool call.</summary>
    ToolError,
}

/// <summary>One line an agent printed. Kind is what the adapter made of it; Text is the line as printed (redacted).</summary>
public sealed record OutputLine(OutputStream Stream, string Text, OutputKind Kind = OutputKind.Text);

/// <summary>
/// A batch of lines from one run of one agent, in order. Published on the output topic. <see cref="RunId"/>
/// tells runs apart, so late output of a dead run is never taken for the new one.
/// </summary>
/// <param name="TaskId">The task the run works on (from its <see cref="StartAgent"/>); null for a run without one.</param>
/// <param name="ProjectId">The project the task belongs to; null outside a project.</param>
[Manifest("agent-output")]
public sealed record AgentOutput(
    string Agent,
    string RunId,
    long FirstSeq,
    DateTimeOffset At,
    IReadOnlyList<OutputLine> Lines,
    string? TaskId = null,
    string? ProjectId = null) : IDarkFactoryMessage, IWithAgent;

/// <summary>How a run ended. Signal is set when the process was killed by one (code is then 128 + signal).</summary>
[Manifest("exit-info")]
public sealed record ExitInfo(int Code, int? Signal, DateTimeOffset At, string? Reason = null) : IDarkFactoryMessage
{
    public bool Success => Code == 0 && Signal is null;
}

/// <summary>An agent as `df agents` shows it.</summary>
[Manifest("agent-status")]
public sealed record AgentStatus : IDarkFactoryMessage, IWithAgent
{
    [JsonPropertyName("name")]
    public required string Agent { get; init; }
    public LayerName Layer { get; init; }
    public AgentState State { get; init; }
    public string Cli { get; init; } = CliCatalog.Command;
    public int? Pid { get; init; }
    public string? RunId { get; init; }
    public int Restarts { get; init; }
    public ExitInfo? LastExit { get; init; }
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>Why the agent is unavailable or quarantined, or what it waits for.</summary>
    public string? Reason { get; init; }

    /// <summary>For an unavailable AI agent: the one command that installs its CLI.</summary>
    public string? Install { get; init; }

    public DateTimeOffset? NextRestartAt { get; init; }

    /// <summary>In a cluster: the node the agent is placed on; null on a single node and for an agent placed nowhere (<see cref="Reason"/> says why).</summary>
    public string? Node { get; init; }
}

// ---- commands (answered with CommandResult) ----

public interface IAgentCommand : IDarkFactoryMessage, IWithAgent;

/// <summary>
/// Who asked for a command, as the agent's history records it: <c>operator</c> (the operator's API token),
/// <c>agent NAME</c> (a run's scoped token, or an @mention in its output), <c>nightwatch</c>, <c>scheduler</c>,
/// <c>compound-review</c>. Null: not said (recorded as "on request").
/// </summary>
public static class Requester
{
    public const string Operator = "operator";
    public const string Nightwatch = "nightwatch";
    public const string Scheduler = "scheduler";
    public const string CompoundReview = "compound-review";

    public static string Agent(string name) => "agent " + name;

    /// <summary>"by X" for a history detail; "on request" when nobody was named.</summary>
    public static string By(string? requester) => requester is null ? "on request" : "by " + requester;
}

/// <summary>
/// Start a run of the agent now (a task overrides the agent's default task for this run; a workdir its
/// working directory, as the compound review does with its worktree).
/// </summary>
/// <param name="TaskId">Names the task, so its runs, routes, output and costs can be followed; carried into every event of the run and of its restarts.</param>
/// <param name="ProjectId">The project the task belongs to, carried the same way.</param>
/// <param name="By">Who asked (<see cref="Requester"/>).</param>
[Manifest("start-agent")]
public sealed record StartAgent(string Agent, string? Task = null, string? Workdir = null, string? TaskId = null, string? ProjectId = null, string? By = null) : IAgentCommand
{
    /// <summary>
    /// The CLI conversation this run continues (a project task's retry): the run resumes it when the CLI can
    /// (claude <c>--resume</c>, <c>codex exec resume</c>) and the earlier run's conversation is still kept; otherwise
    /// it starts fresh (its task carries the handoff). Null: a fresh conversation.
    /// </summary>
    public SessionResume? Resume { get; init; }
}

/// <summary>A CLI conversation to continue: the run that had it and the session id its CLI reported.</summary>
/// <param name="FromRunId">The run whose conversation is continued.</param>
/// <param name="SessionId">The CLI's session id (claude's <c>session_id</c>, codex's thread id).</param>
public sealed record SessionResume(string FromRunId, string SessionId);

/// <summary>Stop the agent gracefully (SIGTERM to its group, grace period, SIGKILL) and keep it stopped.</summary>
/// <param name="By">Who asked (<see cref="Requester"/>).</param>
[Manifest("stop-agent")]
public sealed record StopAgent(string Agent, string? By = null) : IAgentCommand;

/// <summary>Stop and start again; also releases a quarantined agent and clears its crash counters.</summary>
/// <param name="By">Who asked (<see cref="Requester"/>).</param>
[Manifest("restart-agent")]
public sealed record RestartAgent(string Agent, string? By = null) : IAgentCommand;

/// <summary>What an agent command did, as a value callers switch on (the message is for people).</summary>
public enum CommandOutcome
{
    /// <summary>A run started (<see cref="CommandResult.RunId"/> is set).</summary>
    Started,

    /// <summary>No provider can take the run now: it starts when one returns.</summary>
    WaitingForProvider,

    /// <summary>The run is being stopped (SIGTERM, grace, SIGKILL).</summary>
    Stopping,

    /// <summary>The run is being stopped and started again.</summary>
    Restarting,

    /// <summary>A stop for an agent that had no run.</summary>
    NotRunning,

    /// <summary>Nightwatch's hint is kept for the agent's next run.</summary>
    HintRecorded,

    /// <summary>Refused: no agent of that name.</summary>
    UnknownAgent,

    /// <summary>Refused: the agent has a run already.</summary>
    AlreadyRunning,

    /// <summary>Refused: the agent crash-looped; a restart releases it.</summary>
    Quarantined,

    /// <summary>Refused: the agent cannot run (its CLI is missing, or its declaration cannot be launched).</summary>
    Unavailable,

    /// <summary>Refused: the agent's layer escalated and is being started again.</summary>
    LayerRestarting,

    /// <summary>Refused: the command got no answer in time.</summary>
    NoAnswer,

    /// <summary>Accepted: the run waits in the admission queue (a declared limit) and starts when a place frees.</summary>
    Queued,

    /// <summary>Refused (a cluster node): the agent is placed on no node, or not on the node asked; the message says why.</summary>
    Unplaced,

    /// <summary>Refused: the daemon is draining its fleet to stop (SIGTERM); no new run starts, a stop still goes through.</summary>
    ShuttingDown,
}

/// <summary>The answer to an agent command: <see cref="Outcome"/> for programs, <see cref="Message"/> for people.</summary>
[Manifest("command-result")]
public sealed record CommandResult(bool Ok, CommandOutcome Outcome, string Message, string? RunId = null) : IDarkFactoryMessage
{
    public static CommandResult Done(CommandOutcome outcome, string message, string? runId = null) => new(true, outcome, message, runId);

    public static CommandResult Refused(CommandOutcome outcome, string message) => new(false, outcome, message);
}

// ---- queries ----

[Manifest("get-agents")]
public sealed record GetAgents : Signal<GetAgents>, IDarkFactoryMessage;

[Manifest("agents-snapshot")]
public sealed record AgentsSnapshot(IReadOnlyList<AgentStatus> Agents) : IDarkFactoryMessage;

/// <summary>The agent's history (its newest <paramref name="Limit"/> entries), answered with <see cref="AgentHistory"/>.</summary>
/// <param name="FromStore">Read it from the store (replayed afresh, nothing written) rather than from this node's record
/// in memory: in a cluster, for an agent placed on no node, whose last record another node may have written.</param>
[Manifest("get-history")]
public sealed record GetHistory(string Agent, int Limit = 200, bool FromStore = false) : IDarkFactoryMessage, IWithAgent;

[Manifest("history")]
public sealed record AgentHistory(string Agent, IReadOnlyList<AgentLifecycle> Entries) : IDarkFactoryMessage, IWithAgent;

/// <summary>Answered with <see cref="HistoryFlushed"/> once every history event sent before it is written.</summary>
[Manifest("flush-history")]
public sealed record FlushHistory : Signal<FlushHistory>, IDarkFactoryMessage;

[Manifest("history-flushed")]
public sealed record HistoryFlushed : Signal<HistoryFlushed>, IDarkFactoryMessage;

/// <summary>Kill every process carrying this run marker (or marker prefix), wherever it went, and everything in the run's cgroup (then remove it).</summary>
/// <param name="Cgroup">The run's cgroup directory (issue 14); null where runs have none.</param>
[Manifest("sweep-run")]
public sealed record SweepRun(string MarkerPrefix, string? Cgroup = null) : IDarkFactoryMessage;

// ---- fleet ----

/// <summary>Apply a validated fleet revision by reconciliation.</summary>
[Manifest("apply-fleet")]
public sealed record ApplyFleet(FleetSpec Fleet) : IDarkFactoryMessage
{
    /// <summary>
    /// Agents not to autostart, with when their hold ends: a daemon's first revision carries the pauses Nightwatch
    /// recorded before the restart (<see cref="DarkFactory.Messages.Nightwatch.PausesInForce"/>), so a paused agent does not start at boot;
    /// Nightwatch starts it when the pause ends. Null: none.
    /// </summary>
    public IReadOnlyDictionary<string, DateTimeOffset>? Held { get; init; }
}

/// <summary>What the fleet did with an <see cref="ApplyFleet"/>: its layers' <see cref="LayerReconciled"/> lists joined.</summary>
[Manifest("fleet-applied")]
public sealed record FleetApplied(int Revision) : ReconcileChanges, IDarkFactoryMessage;

// ---- lifecycle events (persisted; storage contracts) ----

public enum LifecycleKind
{
    Started,
    Exited,
    Crashed,
    Restarting,
    Quarantined,
    Released,
    Stopped,
    Unavailable,
    Killed,
    Escalated,

    /// <summary>Nightwatch corrected the agent (hint, restart, pause or stop); the detail says how and why.</summary>
    Corrected,

    /// <summary>
    /// A routed run ended by itself on its provider's rate limit (it reported the limit, then exited non-zero: a
    /// CLI that gives up on a 429, gemini's exit 173). Ends the run like an exit; not a crash of the agent.
    /// </summary>
    Limited,
}

public static class LifecycleKinds
{
    /// <summary>The kind ends a run that had started (exited, crashed, killed, stopped, limited); not <see cref="LifecycleKind.Unavailable"/>, which ends a run that never started.</summary>
    public static bool EndsRun(this LifecycleKind kind) =>
        kind is LifecycleKind.Exited or LifecycleKind.Crashed or LifecycleKind.Killed or LifecycleKind.Stopped or LifecycleKind.Limited;
}

/// <summary>
/// One entry of an agent's persisted history. A storage contract: add fields with defaults, never rename
/// or remove; the manifest stays.
/// </summary>
/// <param name="LaunchedAt">On <see cref="LifecycleKind.Started"/>: when the layer began the run (route, launch plan, spawn); <c>At</c> is when its process was running.</param>
/// <param name="ExitedAt">On an exit (exited, crashed, killed, stopped): when the process exited; <c>At</c> is when the layer recorded it (output drained, process group killed).</param>
/// <param name="TaskId">The task of the run (from its <see cref="StartAgent"/>); null for a run without one.</param>
/// <param name="ProjectId">The project of that task; null outside a project.</param>
/// <param name="By">Who asked for it (<see cref="Requester"/>): on a start, stop or release someone requested; null when the fleet did it by itself.</param>
/// <summary>
/// An agent's log file stopped taking writes (the file system refused them: full, read-only, gone) or took them
/// again. Its output is still captured and streamed meanwhile; what could not be written is counted.
/// </summary>
/// <param name="Failing">True: writes fail from now on; false: they are written again.</param>
/// <param name="Error">The file system's error (the last one, on a resume).</param>
/// <param name="DroppedBytes">Bytes of this agent's output that could not be written to its log since the daemon started.</param>
[Manifest("log-write")]
public sealed record AgentLogWrite(string Agent, string RunId, DateTimeOffset At, bool Failing, string? Error, long DroppedBytes) : IDarkFactoryMessage, IWithAgent;

[Manifest("agent-lifecycle")]
public sealed record AgentLifecycle(
    string Agent,
    LifecycleKind Kind,
    DateTimeOffset At,
    string? RunId = null,
    int? Pid = null,
    int? ExitCode = null,
    int? Signal = null,
    string? Detail = null,
    DateTimeOffset? LaunchedAt = null,
    DateTimeOffset? ExitedAt = null,
    string? TaskId = null,
    string? ProjectId = null,
    string? By = null) : IDarkFactoryMessage, IWithAgent
{
    /// <summary>
    /// On a run's end the layer concluded (exited, crashed, killed, limited): how long the process was up, as the layer
    /// measured it for its min_uptime rule, so Nightwatch judges a crash by the same figure (null on older entries).
    /// </summary>
    public TimeSpan? Uptime { get; init; }

    /// <summary>
    /// On <see cref="LifecycleKind.Stopped"/>: the layer starts the same task again at once (a restart: Nightwatch's
    /// correction, a route's failover, an operator's <c>df restart</c>), so whoever waits for this task's end waits for
    /// that run's (the compound review does). False on older entries and on a stop that stays stopped; written only
    /// when true, so the history of every other entry reads as it did.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Restarts { get; init; }
}
