using Akka.Actor;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Scheduling;

namespace DarkFactory.Actors;

/// <summary>
/// The guardian at /user/factory and the single entry point of the control plane: it owns the fleet
/// (layers and agents), the per-agent history and the process sweeper, and routes every request to
/// the child that answers it. The scheduler gets every fleet revision and starts agents through it.
/// </summary>
public sealed class FactoryActor : ReceiveActor
{
    public FactoryActor(Func<IActorRef, IActorRef, LayerServices> services)
    {
        var sweeper = Context.ActorOf(ProcessSweeper.Props(), "sweeper");
        var history = Context.ActorOf(HistoryActor.Props(), "history");
        var layerServices = services(sweeper, history);
        var fleet = Context.ActorOf(FleetActor.Props(layerServices), "fleet");
        var scheduler = Context.ActorOf(SchedulerActor.Props(Self, new SchedulerSettings { Clock = layerServices.Clock }), "scheduler");

        Receive<ApplyFleet>(m =>
        {
            fleet.Forward(m);
            scheduler.Tell(m);
        });
        Receive<IAgentCommand>(m => fleet.Forward(m));
        Receive<GetAgents>(m => fleet.Forward(m));
        Receive<GetFleet>(m => fleet.Forward(m));
        Receive<DrainFleet>(m =>
        {
            scheduler.Tell(m); // no firings while the fleet drains
            fleet.Forward(m);
        });
        Receive<GetSchedule>(m => scheduler.Forward(m));
        Receive<FlushHistory>(m => history.Forward(m));
        Receive<GetHistory>(m => history.Forward(m));
        Receive<SweepRun>(m => sweeper.Forward(m));
    }

    /// <param name="services">Builds the layer services once the sweeper and history actors exist.</param>
    public static Props Props(Func<IActorRef, IActorRef, LayerServices> services) =>
        Akka.Actor.Props.Create(() => new FactoryActor(services));
}
