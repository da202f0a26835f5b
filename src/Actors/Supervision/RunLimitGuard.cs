using DarkFactory.Actors.Routing;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// Early stop on a rate limit, for one AI run: the run is stopped (gracefully) as soon as both (a) the
/// run itself reported a limit (its adapter's structured event or Nightwatch's pattern, a
/// <see cref="ProviderLimited"/> with this run's id) and (b) the router holds the run's provider limited
/// — whichever of the two comes second. The layer then starts the run again and the route skips the
/// limited provider (another provider, or polling when every candidate is limited).
/// <para>
/// Loop guards: only a limit the router confirmed stops a run (a limit nobody marks would route the
/// restart back to the same provider); a limit that ends within <see cref="WorthStopping"/> is left to
/// the CLI's own retry (a restart costs more, and stopping on it would cycle runs at the reset rate); a
/// run that ended by itself after reporting a limit (a CLI that gives up on a 429 at once) has its
/// restart wait up to <see cref="ConfirmWait"/> for the router's mark, or it would be routed straight
/// back to the limited provider.
/// </para>
/// Pure; the layer owns one per running AI run (in its slot) and calls it from its mailbox.
/// </summary>
public sealed class RunLimitGuard(string? provider)
{
    /// <summary>A limit shorter than this is waited out inside the run (the CLI retries after it).</summary>
    public static readonly TimeSpan WorthStopping = TimeSpan.FromSeconds(10);

    /// <summary>How long the restart of a run that reported a limit waits for the router's mark (after its backoff).</summary>
    public static readonly TimeSpan ConfirmWait = TimeSpan.FromSeconds(5);

    /// <summary>How often such a waiting restart looks at the router's board again.</summary>
    public static readonly TimeSpan ConfirmCheck = TimeSpan.FromMilliseconds(100);

    private string? _reported;
    private DateTimeOffset? _confirmBy;

    /// <summary>The provider the run talks to; null: not routed (a run that cannot fail over is never stopped).</summary>
    public string? Provider => provider;

    /// <summary>The run reported a limit of its provider.</summary>
    public bool ReportedLimit => _reported is not null;

    /// <summary>The run reported a limit; what the router holds of its provider now is <paramref name="condition"/>.</summary>
    /// <returns>The stop reason, or null to keep the run going.</returns>
    public string? Reported(ProviderLimited limited, ProviderCondition? condition, DateTimeOffset now)
    {
        if (provider is null || (limited.Provider is { } p && p != provider))
        {
            return null;
        }

        _reported ??= limited.Reason;
        return condition is { State: ProviderState.Limited } c ? StopReason(c.ResetAt, c.Reason ?? limited.Reason, now) : null;
    }

    /// <summary>The run ended by itself on a limit only its exit code told (gemini's 173), or before the layer saw its report.</summary>
    public void ExitedLimited() => _reported ??= "the run exited on its provider's rate limit";

    /// <summary>The router recorded a limit of some provider (or lifted one: its end is not in the future).</summary>
    /// <returns>The stop reason, or null to keep the run going.</returns>
    public string? Recorded(ProviderLimitRecorded recorded, DateTimeOffset now) =>
        _reported is null || provider is null || recorded.Provider != provider || recorded.Until <= now
            ? null
            : StopReason(recorded.Until, recorded.Reason, now);

    /// <summary>The run is over and will be started again after <paramref name="delay"/>: from then on its restart may wait for the router's mark.</summary>
    public void RestartDue(DateTimeOffset now, TimeSpan delay) => _confirmBy = ReportedLimit ? now + delay + ConfirmWait : null;

    /// <summary>
    /// The restart should wait (look again after <see cref="ConfirmCheck"/>): the run reported a limit, the
    /// router does not hold its provider limited yet (<paramref name="condition"/>; null: no router) and the
    /// wait is not over.
    /// </summary>
    public bool AwaitsConfirmation(ProviderCondition? condition, DateTimeOffset now) =>
        ReportedLimit && provider is not null && _confirmBy is { } by && now < by &&
        condition is { State: not ProviderState.Limited };

    // ---- for a layer: which of its runs to stop, and whether a restart waits

    /// <summary>A run reported a rate limit (adapter or Nightwatch): the reason to stop it now, or null.</summary>
    /// <param name="routes">The router's published board; null: no router (nothing confirms a limit).</param>
    public static string? StopOnReport(AgentSlot? slot, ProviderLimited limited, RouteBoard? routes, DateTimeOffset now) =>
        slot is { Running: true, StopReason: null, Limit: { } guard } && slot.RunId == limited.RunId
            ? guard.Reported(limited, guard.Provider is { } p ? routes?.Board.Of(p) : null, now)
            : null;

    /// <summary>The router marked a provider limited: the runs on it that reported the limit themselves, with the reason to stop each.</summary>
    public static IReadOnlyList<(AgentSlot Slot, string Reason)> StopOnMark(IEnumerable<AgentSlot> slots, ProviderLimitRecorded recorded, DateTimeOffset now) =>
        slots.Select(s => (Slot: s, Reason: s is { Running: true, StopReason: null, Limit: { } guard } ? guard.Recorded(recorded, now) : null))
            .Where(x => x.Reason is not null)
            .Select(x => (x.Slot, x.Reason!))
            .ToList();

    /// <summary>The agent's restart waits for the router's mark of the limit its last run reported (look again after <see cref="ConfirmCheck"/>).</summary>
    public static bool RestartWaits(AgentSlot slot, RouteBoard? routes, DateTimeOffset now) =>
        slot.Limit is { Provider: { } provider } guard && guard.AwaitsConfirmation(routes?.Board.Of(provider), now);

    private string? StopReason(DateTimeOffset? until, string why, DateTimeOffset now)
    {
        if (until is { } u && u - now < WorthStopping)
        {
            return null;
        }

        var when = until is { } t ? " until " + t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : string.Empty;
        return $"rate limit: provider {provider} is limited{when} ({why}); stopped to fail over";
    }
}
