using DarkFactory.Actors.Agents;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// Standbys (<see cref="Processes.Standby"/>, <see cref="StandbyRules"/>): once a plain command's run has been up
/// for its min uptime (a crash after it restarts at once), its next run is spawned and waits; the restart
/// releases it instead of spawning. One per agent at most, never released twice (taken from the slot when
/// released or discarded), discarded when it cannot be the next run (a changed declaration, a backoff, a stop,
/// the agent removed, the daemon draining, any fleet revision: its sandbox hides the other agents' working directories of its own). A discarded standby's actor is stopped: it kills and sweeps its
/// process like any run's. A standby due while a run of the layer is still starting (launched, its process not yet
/// reported) waits for the layer's starts to be over: a cold start's last spawns do not compete with the first
/// runs' standbys for the cores (<see cref="StandbyRules.WaitsForStarts"/>).
/// </summary>
public sealed partial class LayerSupervisor
{
    /// <summary>Standbys due while runs of the layer were starting: agent → the generation they were due for.</summary>
    private readonly Dictionary<string, int> _standbysAfterStarts = new(StringComparer.Ordinal);

    private static string StandbyKey(AgentSlot slot) => "standby-" + slot.Name;

    private RestartType RestartTypeOf(AgentSlot slot) => slot.Declared.Restart ?? _layer.DefaultRestart;

    /// <summary>A run started: its standby is due once the run is past the agent's min uptime.</summary>
    private void ArmStandby(AgentSlot slot)
    {
        if (_services.Standbys && StandbyRules.Eligible(slot.Next(), RestartTypeOf(slot)))
        {
            Timers.StartSingleTimer(StandbyKey(slot), new StandbyDue(slot.Name, slot.Generation), StandbyRules.Delay(slot.Declared));
        }
    }

    private void OnStandbyDue(StandbyDue due)
    {
        if (Find(due.Agent) is not { Running: true, Standby: null, StopReason: null } slot || slot.Generation != due.Generation || _drainRequester is not null)
        {
            return;
        }

        if (StandbyRules.WaitsForStarts(_order.Count(s => s.State == AgentState.Starting)))
        {
            _standbysAfterStarts[due.Agent] = due.Generation;
            return;
        }

        var request = slot.Next();
        if (!StandbyRules.Eligible(request, RestartTypeOf(slot))
            || RunLauncher.Launch(request, _providers, _services, Now, _workdirs, standby: true) is not LaunchResult.Ready { Run: var run })
        {
            return;
        }

        var child = Context.ActorOf(_services.RunProps(run), $"agent-{slot.Name}-{run.RunId}");
        Context.WatchWith(child, new ChildTerminated(slot.Name, run.RunId));
        slot.Prepared(new StandbyRun(run, child, request) { Workdirs = _workdirs });
    }

    /// <summary>The layer's starts are over (a run reported its process, or ended): the standbys that waited for them are made now.</summary>
    private void StandbysAfterStarts()
    {
        if (_standbysAfterStarts.Count == 0 || StandbyRules.WaitsForStarts(_order.Count(s => s.State == AgentState.Starting)))
        {
            return;
        }

        var due = _standbysAfterStarts.Select(d => new StandbyDue(d.Key, d.Value)).ToList();
        _standbysAfterStarts.Clear();
        due.ForEach(OnStandbyDue); // each checked again: its run may have ended or changed meanwhile
    }

    /// <summary>The slot's standby if it can be the run <paramref name="request"/> asks for; any other is discarded.</summary>
    private StandbyRun? TakeStandbyFor(AgentSlot slot, RunRequest request)
    {
        var standby = slot.TakeStandby();
        if (standby is null || (StandbyRules.Matches(standby, request, RestartTypeOf(slot)) && ReferenceEquals(standby.Workdirs, _workdirs)))
        {
            return standby;
        }

        Discard(standby);
        return null;
    }

    private void DiscardStandby(AgentSlot slot)
    {
        Timers.Cancel(StandbyKey(slot));
        Discard(slot.TakeStandby());
    }

    private static void Discard(StandbyRun? standby)
    {
        if (standby is not null)
        {
            Context.Stop(standby.Child); // its PostStop kills the waiting process and sweeps its cgroup and marker
        }
    }

    private sealed record StandbyDue(string Agent, int Generation);
}
