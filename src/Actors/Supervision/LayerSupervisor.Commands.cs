namespace DarkFactory.Actors.Supervision;

/// <summary>The layer's operator commands (start, stop, restart, a hint) and its drain at shutdown; answers in <see cref="LayerReplies"/>.</summary>
public sealed partial class LayerSupervisor
{
    private void OnStart(StartAgent cmd)
    {
        var instance = Find(cmd.Agent) is null ? NewInstance(cmd.Agent) : null;
        if (Refusal(cmd.Agent, forStart: true) is { } refused)
        {
            if (instance is not null)
            {
                Remove(instance);
            }

            Sender.Tell(refused);
            return;
        }

        var slot = _slots[cmd.Agent];
        Timers.Cancel(RestartKey(slot));
        slot.Plan(new RunRequest(slot.Declared) { Task = cmd.Task, Workdir = cmd.Workdir, TaskId = cmd.TaskId, ProjectId = cmd.ProjectId, Resume = cmd.Resume });
        slot.StartFor(cmd.By);
        StartRun(slot, slot.Next());
        Sender.Tell(LayerReplies.AfterStart(slot, waitingIsOk: true));
    }

    private void OnHint(AgentHint cmd)
    {
        if (Find(cmd.Agent) is not { } slot)
        {
            Sender.Tell(LayerReplies.UnknownAgent(cmd.Agent));
            return;
        }

        slot.Hint = cmd.Hint;
        Sender.Tell(LayerReplies.HintRecorded(slot));
    }

    private void OnStop(StopAgent cmd)
    {
        if (Find(cmd.Agent) is not { } slot)
        {
            Sender.Tell(LayerReplies.UnknownAgent(cmd.Agent));
            return;
        }

        Timers.Cancel(RestartKey(slot));
        var stopped = "stopped " + Requester.By(cmd.By);
        if (slot.Running)
        {
            Stop(slot, stopped, AfterStop.Stay, overrides: true, cmd.By);
            Sender.Tell(LayerReplies.Stopping(slot));
            return;
        }

        if (slot.StopWaiting(stopped))
        {
            _services.Gate?.Cancel(slot.Name);
            Record(slot, LifecycleKind.Stopped, detail: slot.Reason, by: cmd.By);
        }

        Sender.Tell(LayerReplies.NotRunning(slot));
    }

    private void OnRestart(RestartAgent cmd)
    {
        if (Refusal(cmd.Agent, forStart: false) is { } refused)
        {
            Sender.Tell(refused);
            return;
        }

        var slot = _slots[cmd.Agent];
        Timers.Cancel(RestartKey(slot));
        if (slot.Release())
        {
            Record(slot, LifecycleKind.Released, detail: "released " + Requester.By(cmd.By), by: cmd.By);
        }

        slot.StartFor(cmd.By);
        if (slot.Running)
        {
            Stop(slot, "restarted " + Requester.By(cmd.By), AfterStop.Restart, overrides: true, cmd.By);
            Sender.Tell(LayerReplies.Restarting(slot));
            return;
        }

        if (!Available(slot))
        {
            Sender.Tell(LayerReplies.Unavailable(slot));
            return;
        }

        StartRun(slot, slot.Next());
        Sender.Tell(LayerReplies.AfterStart(slot, waitingIsOk: false));
    }

    /// <summary>
    /// A project's run of a declared agent (agent@project, <see cref="AgentInstance"/>): a slot of its own
    /// (no restarts: the project retries); null when the name is no instance of an agent declared here.
    /// </summary>
    private AgentSlot? NewInstance(string name)
    {
        if (!AgentInstance.IsInstance(name) || Find(AgentInstance.BaseOf(name)) is not { Instance: false } declared)
        {
            return null;
        }

        var slot = AgentSlot.InstanceOf(declared.Declared, name);
        _slots[name] = slot;
        _order.Add(slot);
        return slot;
    }

    /// <summary>The refusal of a start (an unknown, running, quarantined or unavailable agent) or of a restart (unknown); null: go ahead.</summary>
    private CommandResult? Refusal(string agent, bool forStart) => Find(agent) switch
    {
        null => LayerReplies.UnknownAgent(agent),
        { Running: true } slot when forStart => LayerReplies.AlreadyRunning(slot),
        { State: AgentState.Quarantined } slot when forStart => LayerReplies.Quarantined(slot),
        { } slot when forStart && !Available(slot) => LayerReplies.Unavailable(slot),
        _ => null,
    };

    private void OnDrain()
    {
        _drainRequester = Sender;
        foreach (var slot in _order.ToList())
        {
            Timers.Cancel(RestartKey(slot));
            DiscardStandby(slot);
            if (slot.StopWaiting("daemon shutting down"))
            {
                _services.Gate?.Cancel(slot.Name);
            }

            Stop(slot, "daemon shutting down", AfterStop.Stay, overrides: true);
        }

        if (_order.All(s => !s.Running))
        {
            _drainRequester.Tell(new LayerDrained(_layer.Name));
            _drainRequester = null;
        }
    }
}
