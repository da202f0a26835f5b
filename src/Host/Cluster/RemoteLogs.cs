using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Host.Cluster;

/// <summary>Why following another node's log ended.</summary>
public enum LogEndReason
{
    /// <summary>The node that runs the agent is unreachable, or no longer an Up member.</summary>
    NodeUnreachable,

    /// <summary>The agent is placed on another node now (or on this one): follow it again.</summary>
    Moved,

    /// <summary>The agent is placed on no node now.</summary>
    Unplaced,

    /// <summary>The node did not answer a page in time though the cluster still shows it reachable.</summary>
    NoAnswer,

    /// <summary>The node refused the read (it has no log of that name, or could not read it).</summary>
    Refused,
}

/// <summary>The typed end of a remote log stream: the reason for programs, the detail for people.</summary>
public sealed record LogFollowEnded(LogEndReason Reason, string Detail);

/// <summary>
/// <c>df logs AGENT [-f]</c> on a cluster node for an agent another node runs: pulls pages of its log from that node
/// (<see cref="ReadLog"/> to its placement-node, one page in flight, the next asked only after the last was written), so a
/// slow reader holds at most one page here and nothing on the other node. Between pages it checks where the agent runs;
/// when its node becomes unreachable or leaves, or the agent moves, the stream ends with a <see cref="LogFollowEnded"/>.
/// </summary>
public static class RemoteLogs
{
    /// <summary>How long one page may take.</summary>
    public static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How often a caught-up follower asks again (as the local follower reads its file).</summary>
    public static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(200);

    /// <summary>Whether following <paramref name="followed"/> can go on, given where the agent runs <paramref name="now"/> (pure): null to go on.</summary>
    public static LogFollowEnded? Check(AgentOwner followed, AgentOwner now) => now.Kind switch
    {
        OwnerKind.Remote when now.Node == followed.Node => null,
        OwnerKind.Unreachable when now.Node == followed.Node => new LogFollowEnded(LogEndReason.NodeUnreachable, now.Reason ?? $"node {followed.Node} is unreachable"),
        OwnerKind.Unplaced => new LogFollowEnded(LogEndReason.Unplaced, now.Reason ?? "the agent is placed on no node now"),
        _ => new LogFollowEnded(LogEndReason.Moved, $"the agent moved from node {followed.Node} to {(now.Kind == OwnerKind.Here ? "this node" : "node " + now.Node)}: follow it again"),
    };

    /// <summary>
    /// Copies the agent's log from <paramref name="owner"/> to <paramref name="write"/>: the last <paramref name="tail"/>
    /// lines, then (with <paramref name="follow"/>) what is appended, until <paramref name="ct"/> is cancelled or the stream
    /// ends; null when it ended by itself (all of it copied, without follow).
    /// </summary>
    /// <param name="ask">Asks the owner for one page (<see cref="ClusterMembership.AskOwnerAsync{T}"/>).</param>
    /// <param name="where">Where the agent runs now (<see cref="ClusterMembership.OwnerOf"/>).</param>
    public static async Task<LogFollowEnded?> CopyAsync(
        AgentOwner owner,
        string agent,
        int tail,
        bool follow,
        Func<ReadLog, CancellationToken, Task<LogPage>> ask,
        Func<AgentOwner> where,
        Func<ReadOnlyMemory<byte>, Task> write,
        CancellationToken ct)
    {
        long? from = null;
        var end = -1L; // without follow: the log's length when first asked
        while (true)
        {
            LogPage page;
            try
            {
                page = await ask(new ReadLog(agent, from, tail), ct);
            }
            catch (AskTimeoutException)
            {
                return Check(owner, where()) ?? new LogFollowEnded(LogEndReason.NoAnswer, $"node {owner.Node} did not answer within {PageTimeout.TotalSeconds:0} s");
            }

            if (page.Refused is { } refused)
            {
                return new LogFollowEnded(LogEndReason.Refused, $"node {owner.Node}: {refused}");
            }

            end = end < 0 ? page.Length : end;
            if (page.Bytes.Length > 0)
            {
                await write(page.Bytes);
            }

            from = page.Next;
            if (!follow && (page.Bytes.Length == 0 || from >= end))
            {
                return null;
            }

            if (page.Bytes.Length == 0)
            {
                await Task.Delay(PollEvery, ct);
            }

            if (Check(owner, where()) is { } ended)
            {
                return ended;
            }
        }
    }
}
