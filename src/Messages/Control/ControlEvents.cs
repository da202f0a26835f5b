namespace DarkFactory.Messages.Control;

/// <summary>
/// An agent left the fleet (a reload removed it). Published on the event stream by the control plane's
/// event bridge next to the <see cref="Agents.AgentStatus"/> changes it publishes, so a live view can drop it.
/// </summary>
[Manifest("agent-removed")]
public sealed record AgentRemoved(string Agent, DateTimeOffset At) : IDarkFactoryMessage, IWithAgent;
