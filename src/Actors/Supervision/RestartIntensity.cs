namespace DarkFactory.Actors.Supervision;

/// <summary>
/// OTP restart intensity: at most <c>max</c> restarts within a sliding window of <c>within</c>; one more
/// and the supervisor gives up and escalates. Counts restarts of all children of a layer.
/// </summary>
public sealed class RestartIntensity(int max, TimeSpan within)
{
    private readonly Queue<DateTimeOffset> _restarts = new();

    public int Max { get; private set; } = max;
    public TimeSpan Within { get; private set; } = within;

    public int InWindow(DateTimeOffset now)
    {
        Trim(now);
        return _restarts.Count;
    }

    /// <summary>Records one restart at <paramref name="now"/>; false when that exceeds the intensity.</summary>
    public bool TryRecord(DateTimeOffset now)
    {
        Trim(now);
        if (_restarts.Count >= Max)
        {
            return false;
        }

        _restarts.Enqueue(now);
        return true;
    }

    public void Reconfigure(int max, TimeSpan within)
    {
        Max = max;
        Within = within;
    }

    private void Trim(DateTimeOffset now)
    {
        while (_restarts.Count > 0 && now - _restarts.Peek() >= Within)
        {
            _restarts.Dequeue();
        }
    }
}
