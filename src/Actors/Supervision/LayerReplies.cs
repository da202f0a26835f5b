namespace DarkFactory.Actors.Supervision;

/// <summary>The layer's answers to agent commands: a typed <see cref="CommandOutcome"/> and the sentence an operator reads.</summary>
public static class LayerReplies
{
    public static CommandResult UnknownAgent(string agent) => CommandResult.Refused(CommandOutcome.UnknownAgent, $"unknown agent '{agent}'");

    public static CommandResult AlreadyRunning(AgentSlot slot) =>
        CommandResult.Refused(CommandOutcome.AlreadyRunning, $"agent '{slot.Name}' is already running (run {slot.RunId})") with { RunId = slot.RunId };

    public static CommandResult Quarantined(AgentSlot slot) =>
        CommandResult.Refused(CommandOutcome.Quarantined, $"agent '{slot.Name}' is quarantined ({slot.Reason}); release it with: df restart {slot.Name}");

    public static CommandResult Unavailable(AgentSlot slot) =>
        CommandResult.Refused(CommandOutcome.Unavailable, $"agent '{slot.Name}' is unavailable: {slot.Reason}{(slot.Install is null ? string.Empty : $"; install it with: {slot.Install}")}");

    /// <summary>After a start was attempted: started, waiting for a provider, or unable to run.</summary>
    /// <param name="waitingIsOk">A start that waits for a provider is accepted (a restart that does is refused).</param>
    public static CommandResult AfterStart(AgentSlot slot, bool waitingIsOk) => slot switch
    {
        { Running: true } => CommandResult.Done(CommandOutcome.Started, $"agent '{slot.Name}' started", slot.RunId),
        { State: AgentState.Queued } => CommandResult.Done(CommandOutcome.Queued, $"agent '{slot.Name}' is {slot.Reason}; it starts when a place frees (df providers shows the queue)"),
        { State: AgentState.Backoff } when waitingIsOk =>
            CommandResult.Done(CommandOutcome.WaitingForProvider, $"agent '{slot.Name}' waits for a provider ({slot.Reason}); it starts when one returns"),
        { State: AgentState.Backoff } => CommandResult.Refused(CommandOutcome.WaitingForProvider, $"agent '{slot.Name}' cannot run: {slot.Reason}"),
        _ => CommandResult.Refused(CommandOutcome.Unavailable, $"agent '{slot.Name}' cannot run: {slot.Reason}"),
    };

    public static CommandResult Stopping(AgentSlot slot) =>
        CommandResult.Done(CommandOutcome.Stopping, $"agent '{slot.Name}' is stopping (grace {slot.Spec.Grace.TotalSeconds:0.#} s)", slot.RunId);

    public static CommandResult NotRunning(AgentSlot slot) => CommandResult.Done(CommandOutcome.NotRunning, $"agent '{slot.Name}' is not running");

    public static CommandResult Restarting(AgentSlot slot) => CommandResult.Done(CommandOutcome.Restarting, $"agent '{slot.Name}' is restarting", slot.RunId);

    public static CommandResult HintRecorded(AgentSlot slot) => CommandResult.Done(CommandOutcome.HintRecorded, $"hint recorded for the next run of '{slot.Name}'");
}
