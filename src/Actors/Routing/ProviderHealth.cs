namespace DarkFactory.Actors.Routing;

/// <summary>
/// Health of every provider: a circuit breaker each (N consecutive failed runs open it; after
/// <c>open_for</c> one half-open probe run is let through; its success closes the breaker, its failure
/// opens it again) and rate limits with their reset times. Decisions return the events to persist;
/// <see cref="Apply(BreakerTransitioned)"/> and <see cref="Apply(ProviderLimitRecorded)"/> change the
/// state (also on recovery). Time comes from the injected clock.
/// </summary>
public sealed class ProviderHealth(TimeProvider clock)
{
    private readonly Dictionary<string, Breaker> _breakers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProviderLimitRecorded> _limits = new(StringComparer.Ordinal);

    public int FailuresToOpen { get; set; } = 3;
    public TimeSpan OpenFor { get; set; } = TimeSpan.FromMinutes(1);
    public TimeSpan DefaultLimit { get; set; } = TimeSpan.FromMinutes(1);

    private DateTimeOffset Now => clock.GetUtcNow();

    // ---------------------------------------------------------------- decisions (return events to persist)

    /// <summary>A run on <paramref name="provider"/> failed: counts toward opening (or re-opens a half-open breaker).</summary>
    public BreakerTransitioned? Failure(string provider, string reason)
    {
        var b = BreakerOf(provider);
        b.Failures++;
        if (b.State == BreakerState.Open)
        {
            // the probe run (or a run that started before the breaker opened) failed: open for another open_for
            return b.ProbeInFlight || StateOf(b) == BreakerState.HalfOpen
                ? new BreakerTransitioned(provider, BreakerState.Open, Now, $"half-open probe failed: {reason}", b.Failures)
                : null;
        }

        return b.Failures >= FailuresToOpen
            ? new BreakerTransitioned(provider, BreakerState.Open, Now, $"{b.Failures} consecutive failures; last: {reason}", b.Failures)
            : null;
    }

    /// <summary>A run on <paramref name="provider"/> succeeded: resets the count; closes an open or half-open breaker.</summary>
    public BreakerTransitioned? Success(string provider)
    {
        var b = BreakerOf(provider);
        b.Failures = 0;
        return b.State != BreakerState.Closed ? new BreakerTransitioned(provider, BreakerState.Closed, Now, "a run succeeded", 0) : null;
    }

    /// <summary>A run was routed to <paramref name="provider"/>: if its breaker is half-open, that run is the one probe.</summary>
    public BreakerTransitioned? RouteTaken(string provider)
    {
        var b = BreakerOf(provider);
        return StateOf(b) == BreakerState.HalfOpen && !b.ProbeInFlight
            ? new BreakerTransitioned(provider, BreakerState.HalfOpen, Now, "probe run started", b.Failures)
            : null;
    }

    /// <summary>The provider said it is rate limited; no reset time: the default back-off.</summary>
    public ProviderLimitRecorded? Limited(string provider, DateTimeOffset? resetAt, string reason)
    {
        var now = Now;
        var until = resetAt is { } r && r > now ? r : now + DefaultLimit;
        return _limits.TryGetValue(provider, out var current) && current.Until >= until && current.Reason == reason
            ? null
            : new ProviderLimitRecorded(provider, until, reason, now);
    }

    // ---------------------------------------------------------------- state

    public void Apply(BreakerTransitioned e)
    {
        var b = BreakerOf(e.Provider);
        b.Failures = e.Failures;
        switch (e.State)
        {
            case BreakerState.Open:
                b.State = BreakerState.Open;
                b.OpenedAt = e.At;
                b.ProbeInFlight = false;
                b.Reason = e.Reason;
                break;
            case BreakerState.HalfOpen:
                b.State = BreakerState.Open;
                b.ProbeInFlight = true;
                break;
            default:
                b.State = BreakerState.Closed;
                b.ProbeInFlight = false;
                b.Reason = null;
                break;
        }

        b.Last = e;
    }

    public void Apply(ProviderLimitRecorded e) => _limits[e.Provider] = e;

    /// <summary>Forget a limit (the provider answered again before its reset time).</summary>
    public void ClearLimit(string provider) => _limits.Remove(provider);

    public BreakerState BreakerStateOf(string provider) => _breakers.TryGetValue(provider, out var b) ? StateOf(b) : BreakerState.Closed;

    public int ConsecutiveFailures(string provider) => _breakers.TryGetValue(provider, out var b) ? b.Failures : 0;

    /// <summary>The condition of a provider now (budget aside); null when ok.</summary>
    public ProviderCondition? Condition(string provider)
    {
        var now = Now;
        if (_breakers.TryGetValue(provider, out var b) && b.State == BreakerState.Open)
        {
            var probeAt = b.OpenedAt + OpenFor;
            var halfOpen = now >= probeAt;
            return new ProviderCondition(
                ProviderState.Open,
                halfOpen ? null : probeAt,
                b.ProbeInFlight ? "half-open probe run in flight" : b.Reason,
                Probe: halfOpen && !b.ProbeInFlight);
        }

        if (_limits.TryGetValue(provider, out var limit) && limit.Until > now)
        {
            return new ProviderCondition(ProviderState.Limited, limit.Until, limit.Reason);
        }

        return null;
    }

    /// <summary>The earliest future time at which some provider's state changes by itself (limit reset, probe due).</summary>
    public DateTimeOffset? NextChange()
    {
        var now = Now;
        DateTimeOffset? next = null;
        foreach (var l in _limits.Values.Where(l => l.Until > now))
        {
            next = next is null || l.Until < next ? l.Until : next;
        }

        foreach (var b in _breakers.Values.Where(b => b.State == BreakerState.Open && !b.ProbeInFlight && b.OpenedAt + OpenFor > now))
        {
            var at = b.OpenedAt + OpenFor;
            next = next is null || at < next ? at : next;
        }

        return next;
    }

    public IReadOnlyList<ProviderLimitRecorded> ActiveLimits() => _limits.Values.Where(l => l.Until > Now).ToList();

    public IReadOnlyList<BreakerTransitioned> BreakerStates() => _breakers.Values.Where(b => b.Last is not null).Select(b => b.Last!).ToList();

    private BreakerState StateOf(Breaker b) =>
        b.State == BreakerState.Open && !b.ProbeInFlight && Now >= b.OpenedAt + OpenFor ? BreakerState.HalfOpen : b.State;

    private Breaker BreakerOf(string provider)
    {
        if (!_breakers.TryGetValue(provider, out var b))
        {
            b = new Breaker();
            _breakers[provider] = b;
        }

        return b;
    }

    private sealed class Breaker
    {
        public BreakerState State { get; set; } = BreakerState.Closed;
        public int Failures { get; set; }
        public DateTimeOffset OpenedAt { get; set; }
        public bool ProbeInFlight { get; set; }
        public string? Reason { get; set; }
        public BreakerTransitioned? Last { get; set; }
    }
}
