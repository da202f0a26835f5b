using DarkFactory.Actors.Agents;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// The layer's reconciliation: the pure <see cref="LayerReconciler"/> diff of the declared agents against
/// its slots, carried out (new agents start if they autostart, changed ones start again with their new
/// declaration, updated ones keep their run, removed ones are stopped and forgotten).
/// </summary>
public sealed partial class LayerSupervisor
{
    private void OnReconcile(ReconcileLayer msg)
    {
        _layer = msg.Layer;
        _providers = msg.Providers ?? [];
        _workdirs = msg.Workdirs ?? [];
        _intensity.Reconfigure(_layer.MaxRestarts, _layer.Within);
        var plan = LayerReconciler.Diff(_order.Where(s => !s.Instance).Select(s => s.Declared).ToList(), msg.Agents);

        // a project's instance of an agent stays while its agent is declared
        var wanted = msg.Agents.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var orphans = _order.Where(s => s.Instance && !wanted.Contains(AgentInstance.BaseOf(s.Name))).ToList();
        foreach (var slot in plan.Removed.Select(n => _slots[n]).Concat(orphans))
        {
            Stop(slot, "removed from the fleet", AfterStop.Remove);
            if (!slot.Running)
            {
                Remove(slot);
            }
        }

        foreach (var spec in plan.Updated)
        {
            _slots[spec.Name].Update(spec);
        }

        // in declaration order: new agents start, changed ones are started again with their new declaration
        var added = plan.Added.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var changed = plan.Changed.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        List<string> started = [];
        foreach (var spec in msg.Agents)
        {
            if (added.Contains(spec.Name))
            {
                var slot = _slots[spec.Name] = new AgentSlot(spec);
                _order.Add(slot);
                if (Available(slot) && Autostart(spec) && !Held(msg, spec.Name))
                {
                    StartRun(slot, slot.Next());
                    started.Add(spec.Name);
                }
            }
            else if (changed.Contains(spec.Name))
            {
                Redeclare(_slots[spec.Name], spec);
            }
        }

        // keep declaration order (one-for-all restarts and listings follow it)
        var index = msg.Agents.Select((a, i) => (a.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        _order.Sort((a, b) => index.GetValueOrDefault(AgentInstance.BaseOf(a.Name), int.MaxValue).CompareTo(index.GetValueOrDefault(AgentInstance.BaseOf(b.Name), int.MaxValue)));
        Sender.Tell(new LayerReconciled(_layer.Name, msg.Revision)
        {
            Started = started,
            Restarted = plan.Changed.Select(a => a.Name).ToList(),
            Stopped = [.. plan.Removed, .. orphans.Select(s => s.Name)],
            Unchanged = plan.Unchanged,
            Updated = plan.Updated.Select(a => a.Name).ToList(),
        });
    }

    /// <summary>A declaration changed in what the process uses: a run is stopped and started again with it; an agent without a run starts with it if it was due to.</summary>
    private void Redeclare(AgentSlot slot, AgentSpec spec)
    {
        var waited = slot.State;
        if (slot.Replace(spec, "its declaration changed"))
        {
            slot.Child!.Tell(new StopRun("its declaration changed"));
            return;
        }

        Timers.Cancel(RestartKey(slot));
        if (Available(slot) && waited is not AgentState.Quarantined && (Autostart(spec) || waited is AgentState.Backoff or AgentState.Queued))
        {
            StartRun(slot, slot.Next());
        }
    }

    private bool Autostart(AgentSpec spec) => spec.Autostart ?? _layer.Name == LayerName.Safety;

    /// <summary>A pause recorded before the daemon restarted holds the agent: Nightwatch starts it when the pause ends.</summary>
    private bool Held(ReconcileLayer msg, string agent)
    {
        if (msg.Held?.GetValueOrDefault(agent) is not { } until || until <= _services.Clock.GetUtcNow())
        {
            return false;
        }

        _log.Info("Agent [{0}] not started: paused by Nightwatch until {1:u}", agent, until);
        return true;
    }
}
