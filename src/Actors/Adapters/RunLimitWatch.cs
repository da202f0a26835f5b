using System.Globalization;
using DarkFactory.Actors.Routing;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Actors.Adapters;

/// <summary>
/// Early stop on a rate limit, for one run: the run is stopped (gracefully) as soon as both (a) the run
/// itself reported a limit (its adapter's structured event or Nightwatch's pattern, a
/// <see cref="ProviderLimited"/> with this run's id) and (b) the router holds the run's provider limited
/// — whichever of the two comes second. The supervisor then starts the run again and the route skips the
/// limited provider (another provider, or polling when every candidate is limited).
/// <para>
/// Loop guards: only a limit the router confirmed stops a run (a limit nobody marks would route the
/// restart back to the same provider); a limit that ends within <see cref="WorthStopping"/> is left to
/// the CLI's own retry (a restart costs more, and stopping on it would cycle runs at the reset rate).
/// </para>
/// Pure; the layer supervisor owns one per running AI run and calls it from its mailbox.
/// </summary>
public sealed class RunLimitWatch(string? provider)
{
    /// <summary>A limit shorter than this is waited out inside the run (the CLI retries after it).</summary>
    public static readonly TimeSpan WorthStopping = TimeSpan.FromSeconds(10);

    private string? _reported;

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

    /// <summary>The router recorded a limit of some provider (or lifted one: its end is not in the future).</summary>
    /// <returns>The stop reason, or null to keep the run going.</returns>
    public string? Recorded(ProviderLimitRecorded recorded, DateTimeOffset now) =>
        _reported is null || provider is null || recorded.Provider != provider || recorded.Until <= now
            ? null
            : StopReason(recorded.Until, recorded.Reason, now);

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
