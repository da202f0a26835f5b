using Akka.Actor;
using Akka.Hosting;
using DarkFactory.Actors.Supervision;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>
/// A daemon's whole actor tree (<see cref="FactoryTree.Start"/>) under one actor: every message goes to the
/// gateway, and stopping the root stops the tree — a test's daemon restart on the same journal.
/// </summary>
public sealed class TreeRoot : ReceiveActor
{
    public TreeRoot(LayerServices node)
    {
        var gateway = FactoryTree.Start(Context, ActorRegistry.For(Context.System), node);
        ReceiveAny(m => gateway.Forward(m));
    }

    public static Props Props(LayerServices node) => Akka.Actor.Props.Create(() => new TreeRoot(node));
}
