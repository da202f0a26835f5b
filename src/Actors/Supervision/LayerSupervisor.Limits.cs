namespace DarkFactory.Actors.Supervision;

/// <summary>
/// The layer's early stop on a rate limit: a run whose provider limits it is stopped and started again on the next
/// route, once the router marked the limit (the decisions: <see cref="RunLimitGuard"/>).
/// </summary>
public sealed partial class LayerSupervisor
{
    private void OnRunLimited(ProviderLimited limited)
    {
        var slot = Find(limited.Agent);
        if (RunLimitGuard.StopOnReport(slot, limited, _services.Routes, Now) is { } reason)
        {
            StopOnLimit(slot!, reason);
        }
    }

    private void OnLimitMarked(ProviderLimitRecorded recorded)
    {
        foreach (var (slot, reason) in RunLimitGuard.StopOnMark(_order, recorded, Now))
        {
            StopOnLimit(slot, reason);
        }
    }

    /// <summary>Graceful stop, then a new run of the same task: its route skips the limited provider (or waits, polling).</summary>
    private void StopOnLimit(AgentSlot slot, string reason)
    {
        _log.Warning("Agent [{0}] run [{1}]: {2}", slot.Name, slot.RunId, reason);
        if (slot.Instance)
        {
            Stop(slot, reason, AfterStop.Stay); // a project routes its next run itself
            return;
        }

        StopToRestart(slot, reason);
    }

    private bool AwaitsLimitConfirmation(AgentSlot slot) => RunLimitGuard.RestartWaits(slot, _services.Routes, Now);
}
