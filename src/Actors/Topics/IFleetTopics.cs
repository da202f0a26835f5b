namespace DarkFactory.Actors.Topics;

/// <summary>
/// Publish/subscribe for the fleet's events: the only way an actor publishes an event or subscribes to
/// one. A topic is a message type; subscribing to an interface (<see cref="IDarkFactoryMessage"/>) or a
/// base type gets every message assignable to it. Local today (<see cref="EventStreamTopics"/>); a
/// cluster supplies a DistributedPubSub implementation through <see cref="FleetTopicsSetup"/> without
/// changing a publisher or a subscriber. Only contract messages (serializable, with a manifest) travel.
/// </summary>
public interface IFleetTopics
{
    /// <summary>Delivers the message to every subscriber of its type (or of a type it is assignable to).</summary>
    void Publish(IDarkFactoryMessage message);

    /// <summary>Subscribes to the messages of <paramref name="topic"/> and of every type assignable to it.</summary>
    void Subscribe(IActorRef subscriber, Type topic);

    /// <summary>Ends every subscription of <paramref name="subscriber"/> (actors call it in PostStop).</summary>
    void Unsubscribe(IActorRef subscriber);
}

/// <summary>The node's own event stream: a publisher's events reach each subscriber in the order published.</summary>
public sealed class EventStreamTopics(ActorSystem system) : IFleetTopics
{
    public void Publish(IDarkFactoryMessage message) => system.EventStream.Publish(message);

    public void Subscribe(IActorRef subscriber, Type topic) => system.EventStream.Subscribe(subscriber, topic);

    public void Unsubscribe(IActorRef subscriber) => system.EventStream.Unsubscribe(subscriber);
}
