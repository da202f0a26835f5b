namespace DarkFactory.Messages.Cluster;

/// <summary>
/// The cluster's router (a cluster singleton) on <paramref name="Node"/> has recovered its journal and takes inputs: on
/// the DistributedPubSub topic of its board and events, to every node's router feed, which sends it again the agents
/// of its node that wait for a route (the waits are not persisted: a router that took over from a lost node knows
/// none of them).
/// </summary>
[Manifest("router-started")]
public sealed record RouterStarted(string Node, DateTimeOffset At) : IDarkFactoryMessage;
