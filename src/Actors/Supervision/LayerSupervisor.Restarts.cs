using DarkFactory.Actors.Agents;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// What follows the end of a run: <see cref="RestartRules"/> decide (restart after a backoff, quarantine, escalate
/// to the fleet, or stay down); a restart waits on its timer; a run stopped on request goes on as its
/// <see cref="AfterStop"/> says.
/// </summary>
public sealed partial class LayerSupervisor
{
    /// <summary>A run that ended by itself (exit, crash, max runtime): the restart rules decide.</summary>
    private void OnRunOver(AgentSlot slot, RunConclusion run, DateTimeOffset now)
    {
        if (run.Abnormal)
        {
            _log.Warning("Agent [{0}] run [{1}] crashed: {2}", slot.Name, slot.RunId, AgentCrashedException.Describe(run.Exit));
        }

        var (kind, detail, decision) = RestartRules.AfterRun(run, slot.Spec, slot.ConsecutiveCrashes, _layer, _intensity, now, _services.Random());
        Record(slot, kind, exit: run.Exit, detail: detail, uptime: run.Uptime);
        slot.Decided(run, decision);
        switch (decision.Action)
        {
            case RestartAction.Quarantine:
                Record(slot, LifecycleKind.Quarantined, detail: decision.Reason);
                _log.Warning("Agent [{0}] quarantined: {1}", slot.Name, decision.Reason);
                break;
            case RestartAction.Escalate:
                Record(slot, LifecycleKind.Escalated, detail: decision.Reason);

                // the fleet stops this layer: its runs die with it (their actors kill them as they stop), each
                // recorded now as stopped by its supervisor (no fault of its own: not a crash, a kill or a provider
                // failure), or its history would show a run that never ended and the next one overlapping it
                foreach (var sibling in _order.Where(s => s != slot && s.Running))
                {
                    Record(sibling, LifecycleKind.Stopped, detail: $"layer {_layer.Name.ToString().ToLowerInvariant()} escalated ({decision.Reason}): its runs are stopped with it");
                }

                throw new LayerIntensityExceededException(_layer.Name, decision.Reason);
            case RestartAction.Restart:
                if (run.Abnormal && _layer.Strategy == StrategyKind.OneForAll)
                {
                    foreach (var sibling in _order.Where(s => s != slot))
                    {
                        StopToRestart(sibling, $"one-for-all: {slot.Name} crashed");
                    }
                }

                ScheduleRestart(slot, decision.Delay, decision.Reason);
                break;
        }
    }

    private void ScheduleRestart(AgentSlot slot, TimeSpan delay, string reason)
    {
        Record(slot, LifecycleKind.Restarting, detail: delay > TimeSpan.Zero ? $"{reason}; restarting in {delay.TotalMilliseconds:0} ms" : reason);
        slot.Limit?.RestartDue(Now, delay);
        if (delay <= TimeSpan.Zero && !AwaitsLimitConfirmation(slot))
        {
            StartRun(slot, slot.Next());
            return;
        }

        slot.BackOff(Now + delay);
        Timers.StartSingleTimer(RestartKey(slot), new RestartDue(slot.Name, slot.Generation), delay);
    }

    private static string RestartKey(AgentSlot slot) => "restart-" + slot.Name;

    private void OnRestartDue(RestartDue due)
    {
        if (Find(due.Agent) is { Running: false, State: AgentState.Backoff } slot && slot.Generation == due.Generation)
        {
            if (AwaitsLimitConfirmation(slot))
            {
                Timers.StartSingleTimer(RestartKey(slot), due, RunLimitGuard.ConfirmCheck);
                return;
            }

            StartRun(slot, slot.Next());
        }
    }

    /// <summary>Whatever waited for this run to end: a restart (with a changed declaration, if one came), removal, a drain.</summary>
    /// <summary>What <see cref="AfterStopDue"/> will do with a stopped run: start the same task again at once.</summary>
    private bool RestartsAfterStop(AgentSlot slot) =>
        slot.AfterStop == AfterStop.Restart && _drainRequester is null && RunLauncher.Missing(slot.Declared, _services.FindExecutable) is null;

    private void AfterStopDue(AgentSlot slot)
    {
        switch (slot.TakeAfterStop())
        {
            case AfterStop.Remove:
                Remove(slot);
                break;
            case AfterStop.Restart when _drainRequester is null && Available(slot):
                StartRun(slot, slot.Next());
                break;
            case AfterStop.Stay or AfterStop.Restart when slot.Finished:
                Remove(slot); // a project's instance goes when its run is over
                break;
        }

        if (_drainRequester is not null && _order.All(s => !s.Running))
        {
            _drainRequester.Tell(new LayerDrained(_layer.Name));
            _drainRequester = null;
        }
    }
}
