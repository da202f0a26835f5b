using Akka.Event;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Processes;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// The daemon's CoordinatedShutdown task (phase service-stop, before persistence and logging go away):
/// drain the fleet (every agent stopped within its grace period), kill whatever carries this daemon's run
/// marker, then flush the agents' history so the drain's own lifecycle events reach the journal.
/// </summary>
public static class FleetDrain
{
    public static void Register(ActorSystem system, IActorRef gateway, string daemonId, TimeSpan grace, RunCgroups? cgroups = null) =>
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceStop, "drain-fleet", async () =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await gateway.Ask<FleetDrained>(DrainFleet.Instance, grace + TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // fall through to the sweep: nothing may outlive the daemon
            }

            var drained = clock.ElapsedMilliseconds;
            ProcessTree.KillMarked([daemonId + "/"]);
            cgroups?.SweepAll(); // what cleared its environment is still in its run's cgroup
            var swept = clock.ElapsedMilliseconds;

            // the drain's own lifecycle events (stopped ...) must reach the journal before it closes
            try
            {
                await gateway.Ask<HistoryFlushed>(FlushHistory.Instance, TimeSpan.FromSeconds(15));
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
            }

            system.Log.Info("Fleet drained in {0} ms (final sweep {1} ms, history flushed {2} ms)", drained, swept - drained, clock.ElapsedMilliseconds - swept);
            return Akka.Done.Instance;
        });
}
