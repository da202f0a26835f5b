using System.Runtime.CompilerServices;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// How raw signals become drift components in [0, 1] (1 = that signal alone is critical drift). With the
/// default thresholds (0.10 / 0.20 / 0.40 / 0.70) each signal alone reaches each level:
/// errors 2 / 4 / 8 / 14 error lines in the window; failed tool calls 1 / 2 / 4 / 7; health: a run killed
/// (max runtime, stop timeout) 0.10, a crash 0.15 (1 / 2 / 3 / 5 crashes) times <see cref="WatchProfile.CrashWeight"/>, quarantine 0.70; stall: silence of 1/4, 1/2, 1 and
/// 1.75 × <c>stall_after</c> while running; loops: the same line 2 / 4 / 8 / 14 times for
/// <c>loop_repeats: 5</c> (scaled by it); cost: a burn rate (spend in the window, per hour) of 1/7, 2/7, 4/7 and 1 × <c>max_burn_per_hour</c>.
/// </summary>
public static class DriftCalibration
{
    public const double PerErrorLine = 0.05;
    public const double PerToolFailure = 0.1;
    public const double PerKill = 0.1;
    public const double PerCrash = 0.15;
    public const double Quarantine = 0.7;
    public const double StallAtStallAfter = 0.4;
    public const double LoopAtLoopRepeats = 0.25;
    public const double CostAtMaxBurn = 0.7;

    /// <summary>Lines shorter than this (after a leading timestamp) are not counted as loop candidates.</summary>
    public const int MinLoopLine = 8;

    /// <summary>A loop tracker holding more distinct lines than this is reset (an agent printing all-new lines is not looping).</summary>
    public const int MaxTrackedLines = 4096;
}

/// <summary>
/// The sliding window of drift signals of one agent: counts in <see cref="Buckets"/> time buckets that
/// roll with the clock, the time of the last output, the run state, and repeated lines. Pure and
/// single-threaded (the NightwatchActor owns one per agent); every method takes the time.
/// </summary>
public sealed class AgentSignals
{
    public const int Buckets = 12;
    private readonly long _bucketTicks;
    private readonly Bucket[] _buckets = new Bucket[Buckets];
    private readonly Dictionary<ulong, Repeat> _repeats = [];
    private readonly TimeSpan _window;
    private int _maxRepeat;
    private DateTimeOffset _maxRepeatAt;
    private DateTimeOffset _lastActivity;
    private int _openToolCalls;
    private DateTimeOffset? _runStartedAt;

    public AgentSignals(TimeSpan window)
    {
        _window = window;
        _bucketTicks = Math.Max(1, window.Ticks / Buckets);
        for (var i = 0; i < Buckets; i++)
        {
            _buckets[i] = new Bucket { Index = long.MinValue };
        }
    }

    public bool Running { get; private set; }

    public DateTimeOffset LastActivity => _lastActivity;

    public long Lines { get; private set; }

    /// <summary>What the judgements fit to (the agent's kind and supervision); <see cref="WatchProfile.Default"/> until the fleet says.</summary>
    public WatchProfile Profile { get; set; } = WatchProfile.Default;

    /// <summary>Tool calls of the current run without their result yet: silence meanwhile is the tool working, not a stall.</summary>
    public int OpenToolCalls => _openToolCalls;

    /// <summary>One output line, as the adapter classified it; <paramref name="errorText"/> = a plain line matched an error pattern.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every line of every agent: optimized from the first call
    public void Line(OutputKind kind, string text, bool errorText, DateTimeOffset at) => Line(kind, text.AsSpan(), errorText, at);

    /// <summary>One output line as chars (a <see cref="LineBatch"/>'s line, decoded without a string).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every line of every agent: optimized from the first call
    public void Line(OutputKind kind, ReadOnlySpan<char> text, bool errorText, DateTimeOffset at)
    {
        Lines++;
        _lastActivity = at;
        if (kind == OutputKind.Error || errorText)
        {
            At(at).Errors++;
        }
        else if (kind == OutputKind.ToolError)
        {
            At(at).ToolFailures++;
        }

        if (kind is OutputKind.Text or OutputKind.Error)
        {
            if (Profile.LoopsInText)
            {
                TrackRepeat(LineHash(text, out var length), length, at);
            }
        }
        else if (kind == OutputKind.ToolCall)
        {
            // the same call again carries new ids: compare what it calls, not the line
            TrackRepeat(ToolCallSignature.Hash(text.ToString(), out var length), length, at);
            _openToolCalls++;
        }
        else if (kind is OutputKind.ToolResult or OutputKind.ToolError && _openToolCalls > 0)
        {
            _openToolCalls--;
        }
    }

    /// <summary>Output arrived (even if no line was looked at): the agent is not stalled.</summary>
    public void Activity(DateTimeOffset at) => _lastActivity = at;

    /// <param name="uptime">On a run's end: how long it was up, as its layer measured it (null: judged from the start seen here).</param>
    public void Lifecycle(LifecycleKind kind, DateTimeOffset at, TimeSpan? uptime = null)
    {
        switch (kind)
        {
            case LifecycleKind.Started:
                Running = true;
                _lastActivity = at;
                _runStartedAt = at;
                _openToolCalls = 0;
                break;
            case LifecycleKind.Crashed:
                Running = false;
                // a quick crash counts; a settled run's crash is restarted at once and does not. The layer's uptime decides
                // when the event carries it (the start may have come before Nightwatch knew the fleet); else the start seen
                // here, and a crash whose start was not seen counts
                var quick = uptime is { } up ? up < Profile.MinUptime : _runStartedAt is not { } started || at - started < Profile.MinUptime;
                if (quick)
                {
                    At(at).Crashes++;
                }

                _runStartedAt = null;
                break;
            case LifecycleKind.Killed:
                At(at).Kills++;
                break;
            case LifecycleKind.Quarantined:
                Running = false;
                At(at).Quarantines++;
                break;
            case LifecycleKind.Exited or LifecycleKind.Stopped or LifecycleKind.Unavailable or LifecycleKind.Limited:
                Running = false;
                break;
        }
    }

    public void Cost(decimal usd, DateTimeOffset at) => At(at).Cost += usd;

    /// <summary>Forget what the agent printed (errors, tool failures, loops, silence): a fresh context after a correction.</summary>
    public void ResetOutputSignals(DateTimeOffset at)
    {
        foreach (var b in _buckets)
        {
            b.Errors = 0;
            b.ToolFailures = 0;
        }

        _repeats.Clear();
        _maxRepeat = 0;
        _openToolCalls = 0;
        _lastActivity = at;
    }

    public DriftComponents Evaluate(DateTimeOffset now, TimeSpan stallAfter, int loopRepeats, decimal maxBurnPerHour)
    {
        var current = now.UtcTicks / _bucketTicks;
        long errors = 0, tools = 0, crashes = 0, kills = 0, quarantines = 0;
        decimal cost = 0;
        foreach (var b in _buckets)
        {
            if (b.Index > current - Buckets && b.Index <= current)
            {
                errors += b.Errors;
                tools += b.ToolFailures;
                crashes += b.Crashes;
                kills += b.Kills;
                quarantines += b.Quarantines;
                cost += b.Cost;
            }
        }

        var stall = StallCounts(stallAfter) ? StallAt(now, stallAfter) : 0.0;

        var loops = 0.0;
        if (_maxRepeat >= 2 && now - _maxRepeatAt <= _window)
        {
            loops = _maxRepeat * DriftCalibration.LoopAtLoopRepeats / Math.Max(2, loopRepeats);
        }

        var burnPerHour = _window > TimeSpan.Zero ? (double)cost * (TimeSpan.FromHours(1) / _window) : 0;
        var costC = maxBurnPerHour > 0 ? burnPerHour / (double)maxBurnPerHour * DriftCalibration.CostAtMaxBurn : 0;

        return new DriftComponents(
            Errors: Clamp(errors * DriftCalibration.PerErrorLine),
            ToolFailures: Clamp(tools * DriftCalibration.PerToolFailure),
            Health: Clamp((crashes * DriftCalibration.PerCrash * Profile.CrashWeight) + (kills * DriftCalibration.PerKill) + (quarantines * DriftCalibration.Quarantine)),
            Stall: Clamp(stall),
            Loops: Clamp(loops),
            Cost: Clamp(costC));
    }

    /// <summary>
    /// The first instant after <paramref name="now"/> at which <see cref="Evaluate"/> changes by a step with no new
    /// input (null: never): a counted bucket leaves the window, the longest repeat leaves it, the silence starts to
    /// count as a stall, or the stall reaches its cap. Between such instants only the stall moves, and only upwards
    /// (<see cref="StallRising"/>).
    /// </summary>
    public DateTimeOffset? NextStep(DateTimeOffset now, TimeSpan stallAfter)
    {
        var next = long.MaxValue;
        var nowTicks = now.UtcTicks;
        var current = nowTicks / _bucketTicks;
        foreach (var b in _buckets)
        {
            if (b.Index > current - Buckets && b.Index <= current && !b.Empty)
            {
                next = Math.Min(next, (b.Index + Buckets) * _bucketTicks);
            }
        }

        if (_maxRepeat >= 2 && now - _maxRepeatAt <= _window)
        {
            next = Math.Min(next, (_maxRepeatAt + _window).UtcTicks + 1);
        }

        if (StallCounts(stallAfter))
        {
            var onset = StallOnset(stallAfter).UtcTicks;
            var edge = onset > nowTicks ? onset : StallCap(stallAfter).UtcTicks;
            if (edge > nowTicks)
            {
                next = Math.Min(next, edge);
            }
        }

        return next == long.MaxValue ? null : new DateTimeOffset(next, TimeSpan.Zero);
    }

    /// <summary>The stall grows with the clock at <paramref name="now"/>: it counts, has begun and has not reached its cap.</summary>
    public bool StallRising(DateTimeOffset now, TimeSpan stallAfter) =>
        StallCounts(stallAfter) && StallOnset(stallAfter) <= now && now < StallCap(stallAfter);

    private bool StallCounts(TimeSpan stallAfter) => Running && stallAfter > TimeSpan.Zero && Profile.StallWatched && _openToolCalls == 0;

    private double StallAt(DateTimeOffset now, TimeSpan stallAfter)
    {
        var silent = (now - _lastActivity) / stallAfter;
        return silent >= 0.25 ? silent * DriftCalibration.StallAtStallAfter : 0;
    }

    // the first instant the silence counts (a quarter of stall_after; rounding of the division settled by trying it)
    private DateTimeOffset StallOnset(TimeSpan stallAfter)
    {
        var at = _lastActivity + TimeSpan.FromTicks((stallAfter.Ticks + 3) / 4);
        while (StallAt(at, stallAfter) <= 0)
        {
            at = at.AddTicks(1);
        }

        return at;
    }

    // the first instant the stall is at its cap (1: silence of stall_after / StallAtStallAfter)
    private DateTimeOffset StallCap(TimeSpan stallAfter)
    {
        var at = _lastActivity + TimeSpan.FromTicks((long)Math.Ceiling(stallAfter.Ticks / DriftCalibration.StallAtStallAfter));
        while (Clamp(StallAt(at, stallAfter)) < 1)
        {
            at = at.AddTicks(1);
        }

        return at;
    }

    private static double Clamp(double v) => v <= 0 ? 0 : v >= 1 ? 1 : Math.Round(v, 4);

    private Bucket At(DateTimeOffset at)
    {
        var index = at.UtcTicks / _bucketTicks;
        var b = _buckets[(int)(index % Buckets)];
        if (b.Index != index)
        {
            b.Reset(index);
        }

        return b;
    }

    private void TrackRepeat(ulong hash, int length, DateTimeOffset at)
    {
        if (length < DriftCalibration.MinLoopLine)
        {
            return;
        }

        if (_repeats.Count >= DriftCalibration.MaxTrackedLines)
        {
            _repeats.Clear();
        }

        var now = at.UtcTicks;
        ref var r = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_repeats, hash, out var exists);
        if (!exists || now - r.First > _window.Ticks)
        {
            r = new Repeat(1, now);
            return;
        }

        r.Count++;
        if (r.Count >= _maxRepeat || now - _maxRepeatAt.UtcTicks > _window.Ticks)
        {
            _maxRepeat = r.Count;
            _maxRepeatAt = at;
        }
    }

    /// <summary>XXH3 of the line without its leading timestamp/counter prefix (digits, punctuation, spaces) and trailing spaces.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every text line of an AI CLI's run
    public static ulong LineHash(string text, out int length) => LineHash(text.AsSpan(), out length);

    /// <summary>The same hash of a line as chars.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong LineHash(ReadOnlySpan<char> text, out int length)
    {
        var span = text.TrimEnd();
        var start = 0;
        while (start < span.Length && (span[start] is (>= '0' and <= '9') or ' ' or '\t' or ':' or '-' or '.' or '[' or ']' or '+' or ',' or '/'
            || (span[start] is 'T' or 'Z' && start > 0 && char.IsAsciiDigit(span[start - 1]))))
        {
            start++;
        }

        span = span[start..];
        length = span.Length;
        return System.IO.Hashing.XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(span));
    }

    private struct Repeat(int count, long first)
    {
        public int Count = count;
        public long First = first;
    }

    private sealed class Bucket
    {
        public long Index;
        public int Errors;
        public int ToolFailures;
        public int Crashes;
        public int Kills;
        public int Quarantines;
        public decimal Cost;

        public bool Empty => Errors == 0 && ToolFailures == 0 && Crashes == 0 && Kills == 0 && Quarantines == 0 && Cost == 0;

        public void Reset(long index)
        {
            Index = index;
            Errors = ToolFailures = Crashes = Kills = Quarantines = 0;
            Cost = 0;
        }
    }
}
