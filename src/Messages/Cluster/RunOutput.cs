using DarkFactory.Messages.Agents;

namespace DarkFactory.Messages.Cluster;

// The compound review's PR carries the tail of its agent's run (its summary). The review hears the output of runs on
// its own node only (output does not cross nodes), so for a run on another node it asks that node, which keeps the
// tails of its newest runs: one request, one bounded reply, a typed outcome when there is none.

/// <summary>
/// Node -> the node that runs <paramref name="Agent"/> (through the asking node's <c>cluster-factory</c> and the owner's
/// <c>placement-node</c>): the tail of what run <paramref name="RunId"/> printed, at most <paramref name="MaxChars"/>
/// characters (the node caps it at <see cref="MaxTailChars"/>). Answered with a <see cref="RunOutput"/>, always.
/// </summary>
[Manifest("get-run-output")]
public sealed record GetRunOutput(string Agent, string RunId, int MaxChars = GetRunOutput.MaxTailChars) : IDarkFactoryMessage, IWithAgent
{
    /// <summary>The most a reply carries (the review's summary is this long): far under Akka.Remote's frame.</summary>
    public const int MaxTailChars = 2000;
}

/// <summary>What became of a <see cref="GetRunOutput"/>.</summary>
public enum RunOutputOutcome
{
    /// <summary>The node has the run: <see cref="RunOutput.Text"/> is its tail (empty when it printed nothing).</summary>
    Found,

    /// <summary>The node answered but keeps nothing of that run (it did not run it, or not since it started, or only older runs are kept).</summary>
    NotKept,

    /// <summary>No node answered: the agent is placed nowhere, its node is not reached, or it did not answer in time.</summary>
    NoAnswer,
}

/// <summary>
/// The answer to <see cref="GetRunOutput"/>: the run's tail when <paramref name="Outcome"/> is
/// <see cref="RunOutputOutcome.Found"/>; otherwise <paramref name="Reason"/> says why there is none, naming the node.
/// </summary>
/// <param name="Node">The node that answered (null when none did).</param>
[Manifest("run-output")]
public sealed record RunOutput(string Agent, string RunId, RunOutputOutcome Outcome, string Text = "", string? Node = null, string? Reason = null) : IDarkFactoryMessage, IWithAgent
{
    public static RunOutput NoAnswer(GetRunOutput q, string reason, string? node = null) => new(q.Agent, q.RunId, RunOutputOutcome.NoAnswer, Node: node, Reason: reason);
}
