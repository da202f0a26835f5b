namespace DarkFactory.Actors.Nightwatch;

/// <summary>Settings of the <see cref="NightwatchActor"/>; tests inject a virtual clock.</summary>
public sealed record NightwatchSettings
{
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public string PersistenceId { get; init; } = "nightwatch";

    public int SnapshotEvery { get; init; } = 200;
    public int KeepCorrections { get; init; } = 1000;
    public int KeepEscalations { get; init; } = 500;

    /// <summary>The same agent's rate-limit lines within this time make one provider-limited event.</summary>
    public TimeSpan LimitDebounce { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Least time between two @mention starts of the same agent.</summary>
    public TimeSpan MentionCooldown { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Posts escalations; null = <see cref="EscalationWebhook.SharedClient"/> (10 s timeout).</summary>
    public HttpClient? Http { get; init; }

    /// <summary>Which part of Nightwatch the actor is: both (a single node), a cluster node's windows, or the cluster's decisions.</summary>
    public NightwatchPart Part { get; init; } = NightwatchPart.Whole;

    /// <summary><see cref="NightwatchPart.Windows"/>: where its corrections are decided (the <c>nightwatch</c> singleton's face).</summary>
    public IActorRef? Decider { get; init; }

    /// <summary><see cref="NightwatchPart.Windows"/>: this node's name, as its <see cref="CorrectionDue"/> and <see cref="DriftSeen"/> say it.</summary>
    public string Node { get; init; } = "";
}

/// <summary>
/// The two halves of Nightwatch (issue 17), composed in one actor on a single node and split in a cluster: the windows
/// read every output line beside the agents, on each node; the decisions record and carry out the corrections once
/// per cluster (a singleton).
/// </summary>
public enum NightwatchPart
{
    /// <summary>A single node: the windows and the decisions in one actor, as before the cluster.</summary>
    Whole,

    /// <summary>
    /// A cluster node's share: the windows of the agents placed on it (signals, verdicts, the ladder's climb, rate
    /// limits, mentions). A rung due goes to the decider as a <see cref="CorrectionDue"/>, each level change as a
    /// <see cref="DriftSeen"/>; a recorded correction comes back (<see cref="CorrectionDecided"/>) and is published
    /// and written in the agent's history here. Persists nothing.
    /// </summary>
    Windows,

    /// <summary>
    /// The cluster's decisions (the <c>nightwatch</c> singleton, persistence id <c>nightwatch</c>): records or refuses
    /// each correction, carries it out through the factory (which reaches the agent's node), escalates, holds the
    /// pauses across moves and hand-overs, gives the pending hints, and answers the reads for the whole cluster. Reads
    /// no output.
    /// </summary>
    Decisions,
}

/// <summary>The registry key of a cluster node's Nightwatch windows (<see cref="NightwatchPart.Windows"/>): the gateway hands it the node's fleet revisions.</summary>
public sealed class NightwatchWindows
{
    private NightwatchWindows()
    {
    }
}
