using Akka.Actor.Setup;

namespace DarkFactory.Actors.Topics;

/// <summary>
/// The actor system's <see cref="IFleetTopics"/>, as an Akka extension: <c>FleetTopics.For(Context.System)</c>.
/// The implementation is the one a <see cref="FleetTopicsSetup"/> given to the actor system creates, or
/// the local <see cref="EventStreamTopics"/> when there is none.
/// </summary>
public sealed class FleetTopics : IExtension
{
    internal FleetTopics(IFleetTopics topics) => Topics = topics;

    public IFleetTopics Topics { get; }

    public static IFleetTopics For(ActorSystem system) => system.WithExtension<FleetTopics, FleetTopicsProvider>().Topics;
}

/// <summary>Chooses the implementation of <see cref="FleetTopics"/> once per actor system.</summary>
public sealed class FleetTopicsProvider : ExtensionIdProvider<FleetTopics>
{
    public override FleetTopics CreateExtension(ExtendedActorSystem system)
    {
        var setup = system.Settings.Setup.Get<FleetTopicsSetup>();
        return new FleetTopics(setup.HasValue ? setup.Value.Create(system) : new EventStreamTopics(system));
    }
}

/// <summary>
/// Replaces the local topics of an actor system (Akka.Hosting: <c>builder.AddSetup(new FleetTopicsSetup(...))</c>):
/// DistributedPubSub in a cluster, a recorder in a scenario sandbox.
/// </summary>
public sealed class FleetTopicsSetup(Func<ExtendedActorSystem, IFleetTopics> create) : Setup
{
    public IFleetTopics Create(ExtendedActorSystem system) => create(system);
}
