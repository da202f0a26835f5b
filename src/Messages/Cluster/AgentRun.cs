using DarkFactory.Messages.Agents;

namespace DarkFactory.Messages.Cluster;

/// <summary>
/// The agent's status where it runs now (a cluster singleton asks its node's <c>cluster-factory</c>, which asks the node
/// the agent is placed on): answered with an <see cref="AgentsSnapshot"/> holding that agent only, empty when it is placed
/// nowhere or its node does not answer. A singleton that took over reads from it whether a run it started before the
/// hand-over is still going (the compound review's awaited run).
/// </summary>
[Manifest("get-agent-run")]
public sealed record GetAgentRun(string Agent) : IDarkFactoryMessage, IWithAgent;
