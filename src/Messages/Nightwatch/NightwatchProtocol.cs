using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Messages.Nightwatch;

/// <summary>Drift levels, in order. Thresholds are in fleet.yaml <c>nightwatch.thresholds</c>.</summary>
public enum DriftLevel
{
    Normal,
    Minor,
    Moderate,
    Severe,
    Critical,
}

/// <summary>The rungs of the correction ladder, one per level above Normal.</summary>
public enum CorrectionAction
{
    /// <summary>Minor: a corrective hint recorded and prepended to the agent's next task.</summary>
    Hint,

    /// <summary>Moderate: restart with fresh context and the hint.</summary>
    Restart,

    /// <summary>Severe: pause the agent and ask the router for another provider or model.</summary>
    Pause,

    /// <summary>Critical: stop the agent and escalate to a human.</summary>
    Stop,
}

/// <summary>
/// The drift signals, one per <see cref="DriftComponents"/> field. Their names (<see cref="DriftSignals.Name"/>:
/// errors, tool_failures, health, stall, loops, cost) are the keys of fleet.yaml <c>nightwatch.weights</c>.
/// </summary>
public enum DriftSignal
{
    Errors,
    ToolFailures,
    Health,
    Stall,
    Loops,
    Cost,
}

/// <summary>The drift signals' names and values.</summary>
public static class DriftSignals
{
    private static readonly string[] Names = ["errors", "tool_failures", "health", "stall", "loops", "cost"];

    /// <summary>Every signal, in <see cref="DriftComponents"/> order.</summary>
    public static readonly IReadOnlyList<DriftSignal> All = Enum.GetValues<DriftSignal>();

    /// <summary>The signal's name in fleet.yaml and in words (snake_case, as JSON writes the enum).</summary>
    public static string Name(this DriftSignal signal) => Names[(int)signal];
}

/// <summary>The drift signals of one agent over its window, each in [0, 1] (1 = this signal alone is critical drift).</summary>
public sealed record DriftComponents(
    double Errors = 0,
    double ToolFailures = 0,
    double Health = 0,
    double Stall = 0,
    double Loops = 0,
    double Cost = 0)
{
    public static readonly DriftComponents Zero = new();

    /// <summary>The value of one signal.</summary>
    public double Of(DriftSignal signal) => signal switch
    {
        DriftSignal.Errors => Errors,
        DriftSignal.ToolFailures => ToolFailures,
        DriftSignal.Health => Health,
        DriftSignal.Stall => Stall,
        DriftSignal.Loops => Loops,
        _ => Cost,
    };
}

/// <summary>Nightwatch's verdict for an agent whose drift level changed. Published on the event stream.</summary>
[Manifest("drift-verdict")]
public sealed record DriftVerdict(
    string Agent,
    DateTimeOffset At,
    double Score,
    DriftLevel Level,
    DriftLevel Previous,
    DriftComponents Components,
    string Reason,
    string? RunId = null) : IDarkFactoryMessage, IWithAgent;

/// <summary>
/// One step of the correction ladder, persisted by Nightwatch (persistence id <c>nightwatch</c>), published
/// on the event stream and recorded in the agent's history. A storage contract: add fields with defaults,
/// never rename or remove; the manifest stays.
/// </summary>
/// <param name="Hint">The corrective hint prepended to the agent's next task.</param>
/// <param name="Provider">The provider the agent ran on, when a switch was asked for.</param>
[Manifest("drift-correction")]
public sealed record DriftCorrection(
    string Agent,
    DateTimeOffset At,
    DriftLevel Level,
    CorrectionAction Action,
    double Score,
    string Reason,
    string Hint,
    string? RunId = null,
    string? Provider = null) : IDarkFactoryMessage, IWithAgent;

/// <summary>A critical drift handed to a human: persisted, listed by the API, POSTed to the escalation webhook.</summary>
[Manifest("escalation")]
public sealed record Escalation(
    string Id,
    string Agent,
    DateTimeOffset At,
    DriftLevel Level,
    double Score,
    string Reason,
    DriftComponents Components,
    string? RunId = null) : IDarkFactoryMessage, IWithAgent;

/// <summary>What became of an escalation's webhook POST (persisted).</summary>
/// <param name="Detail">HTTP status or the error; never the URL's secrets (only its scheme and host are shown).</param>
[Manifest("escalation-delivered")]
public sealed record EscalationDelivered(string Id, DateTimeOffset At, bool Ok, string Detail) : IDarkFactoryMessage;

/// <summary>An escalation as the API lists it.</summary>
[Manifest("escalation-entry")]
public sealed record EscalationEntry(Escalation Escalation, EscalationDelivered? Delivery) : IDarkFactoryMessage;

/// <summary>Nightwatch -> layer (through the factory): prepend this hint to the agent's next task. Answered with a CommandResult.</summary>
[Manifest("agent-hint")]
public sealed record AgentHint(string Agent, string Hint) : IAgentCommand;

/// <summary>The agent's pending hint went into a run (persisted, so a restarted daemon does not give it again).</summary>
[Manifest("drift-hint-used")]
public sealed record DriftHintUsed(string Agent, DateTimeOffset At, string? RunId) : IDarkFactoryMessage, IWithAgent;

/// <summary>
/// Nightwatch -> router (published on the event stream): route this agent away from its provider / model
/// until <see cref="Until"/> (a severe drift's "switch provider or model").
/// </summary>
[Manifest("route-avoid")]
public sealed record RouteAvoid(string Agent, string? Provider, string? Model, DateTimeOffset Until, string Reason) : IDarkFactoryMessage, IWithAgent;

// ---- queries ----

/// <summary>
/// Gateway -> Nightwatch, before a daemon's first fleet revision: which agents its recorded pauses still hold
/// (each pause lasts <paramref name="PauseFor"/>, the revision's <c>nightwatch.pause_for</c>). Answered with
/// <see cref="PausesInForce"/> once Nightwatch has recovered its journal.
/// </summary>
[Manifest("get-pauses")]
public sealed record GetPauses(TimeSpan PauseFor) : IDarkFactoryMessage, ISingletonRead;

/// <summary>The agents Nightwatch's pauses hold, each with when its pause ends.</summary>
[Manifest("pauses-in-force")]
public sealed record PausesInForce(IReadOnlyDictionary<string, DateTimeOffset> Until) : IDarkFactoryMessage;

[Manifest("get-drift")]
public sealed record GetDrift(string? Agent = null) : IDarkFactoryMessage, ISingletonRead;

/// <summary>One agent's drift as `df drift` shows it.</summary>
[Manifest("agent-drift")]
public sealed record AgentDrift(
    string Agent,
    double Score,
    DriftLevel Level,
    DriftComponents Components,
    DateTimeOffset UpdatedAt,
    DriftCorrection? LastCorrection = null,
    string? PendingHint = null,
    bool Paused = false,
    string? Provider = null) : IDarkFactoryMessage, IWithAgent;

[Manifest("drift-snapshot")]
public sealed record DriftSnapshot(IReadOnlyList<AgentDrift> Agents) : IDarkFactoryMessage;

[Manifest("get-escalations")]
public sealed record GetEscalations(int Limit = 100) : IDarkFactoryMessage, ISingletonRead;

[Manifest("escalation-list")]
public sealed record EscalationList(IReadOnlyList<EscalationEntry> Escalations) : IDarkFactoryMessage;

/// <summary>Nightwatch's persisted snapshot: recent corrections, escalations and pending hints.</summary>
[Manifest("nightwatch-snapshot")]
public sealed record NightwatchSnapshot(
    IReadOnlyList<DriftCorrection> Corrections,
    IReadOnlyList<EscalationEntry> Escalations,
    IReadOnlyDictionary<string, string> PendingHints) : IDarkFactoryMessage;

/// <summary>
/// The corrections and escalations Nightwatch recorded at or after <see cref="Since"/> (oldest first),
/// answered with <see cref="NightwatchRecords"/> from its persisted state. The compound review's scan asks it.
/// </summary>
[Manifest("get-nightwatch-records")]
public sealed record GetNightwatchRecords(DateTimeOffset Since) : IDarkFactoryMessage, ISingletonRead;

[Manifest("nightwatch-records")]
public sealed record NightwatchRecords(IReadOnlyList<DriftCorrection> Corrections, IReadOnlyList<EscalationEntry> Escalations) : IDarkFactoryMessage;

// ---- a cluster: the windows beside the agents on each node, the decisions once per cluster ----

/// <summary>
/// A node's Nightwatch windows -> the cluster's Nightwatch decisions (the <c>nightwatch</c> singleton): the ladder of the
/// agent's watch on <paramref name="Node"/> reached a rung. The singleton records it under its one persistence id and
/// carries it out through the factory, which reaches the agent's node, or refuses it (the same rung of the agent recorded
/// within the cooldown: a move or a hand-over never corrects twice); either way it answers with
/// <see cref="CorrectionDecided"/>. A few hundred bytes per correction: the lines stay on the node.
/// </summary>
/// <param name="Model">The model the agent ran on (a pause asks the router to avoid it).</param>
/// <param name="Components">The signals the correction was judged on (an escalation carries them).</param>
[Manifest("nightwatch-correction-due")]
public sealed record CorrectionDue(string Node, DriftCorrection Correction, string? Model, DriftComponents Components) : IDarkFactoryMessage;

/// <summary>
/// The Nightwatch singleton -> the node whose watch sent <see cref="Due"/>: recorded (with the escalation of a stop), or
/// refused with why. The node publishes a recorded correction on its event stream and writes it in the agent's history
/// (the agent's node keeps its history).
/// </summary>
[Manifest("nightwatch-correction-decided")]
public sealed record CorrectionDecided(CorrectionDue Due, bool Recorded, Escalation? Escalation = null, string? Refused = null) : IDarkFactoryMessage;

/// <summary>
/// A node's Nightwatch windows -> the Nightwatch singleton: an agent's drift level changed (the verdict, with its score
/// and signals, and the provider of its run), so <c>df drift</c> from any node shows every agent's level.
/// </summary>
[Manifest("nightwatch-drift-seen")]
public sealed record DriftSeen(string Node, DriftVerdict Verdict, string? Provider) : IDarkFactoryMessage;
