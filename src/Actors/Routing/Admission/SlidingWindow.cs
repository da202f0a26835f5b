namespace DarkFactory.Actors.Routing.Admission;

/// <summary>
/// Amounts recorded at instants, summed over the last <paramref name="span"/> (a sliding window): a provider's
/// requests or tokens in the last minute. Entries are recorded in time order; the old ones fall out as time
/// passes. Pure (the caller gives the time); not thread-safe.
/// </summary>
public sealed class SlidingWindow(TimeSpan span)
{
    private readonly Queue<(DateTimeOffset At, long Amount)> _entries = new();
    private long _total;

    public TimeSpan Span => span;

    /// <summary>The sum of what was recorded within the window ending at <paramref name="now"/>.</summary>
    public long Total(DateTimeOffset now)
    {
        Trim(now);
        return _total;
    }

    public void Add(DateTimeOffset at, long amount)
    {
        if (amount <= 0)
        {
            return;
        }

        _entries.Enqueue((at, amount));
        _total += amount;
    }

    /// <summary>
    /// When the window's sum drops below <paramref name="limit"/> (room for one more request, or a token): null
    /// when it is below now, else the instant the oldest entries that keep it at or over the limit fall out.
    /// </summary>
    public DateTimeOffset? BelowAt(long limit, DateTimeOffset now)
    {
        Trim(now);
        if (_total < limit)
        {
            return null;
        }

        var total = _total;
        foreach (var (at, amount) in _entries)
        {
            total -= amount;
            if (total < limit)
            {
                return at + span;
            }
        }

        return now + span; // unreachable for a positive limit: an empty window is below it
    }

    private void Trim(DateTimeOffset now)
    {
        while (_entries.TryPeek(out var e) && e.At + span <= now)
        {
            _entries.Dequeue();
            _total -= e.Amount;
        }
    }
}
