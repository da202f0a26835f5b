using System.Runtime.CompilerServices;
using DarkFactory.Actors.Routing;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>What judging an agent found: the verdict when its level changed, and the rung of the ladder due now.</summary>
public readonly record struct Judgement(DriftVerdict? Verdict, CorrectionAction? Due);

/// <summary>
/// Nightwatch's watch over one agent (runtime, not persisted; pure apart from the clock values it is handed): its
/// signal window (<see cref="AgentSignals"/>), the current run and route, the routes of its recent runs (so a crash
/// is blamed on the route it happened on, not on whatever runs now), its drift level, when each rung last fired,
/// and whether the ladder paused or stopped it. <see cref="Judge"/> scores the window and says what is due;
/// <see cref="Correct"/> makes the <see cref="DriftCorrection"/> of a rung.
/// </summary>
public sealed class AgentWatch(string agent, TimeSpan window)
{
    private const int KeepRoutes = 8;

    private readonly Dictionary<CorrectionAction, DateTimeOffset> _lastFired = [];
    private readonly Dictionary<string, (string? Provider, string? Model)> _routes = new(StringComparer.Ordinal);
    private readonly Queue<string> _routeOrder = new();
    private DateTimeOffset _lastLimitAt;
    private string? _lastLimitRun;
    private DateTimeOffset? _criticalSince;
    private DateTimeOffset? _calmSince;
    private bool _fellBelowRung;

    public string Agent { get; } = agent;

    public AgentSignals Signals { get; } = new(window);

    public DriftLevel Level { get; private set; }

    public double Score { get; private set; }

    public DriftComponents Components { get; private set; } = DriftComponents.Zero;

    public DateTimeOffset UpdatedAt { get; private set; }

    /// <summary>The agent's current (or last) run.</summary>
    public string? RunId { get; private set; }

    /// <summary>When each rung last fired for this agent (its cooldown runs from there).</summary>
    public IReadOnlyDictionary<CorrectionAction, DateTimeOffset> LastFired => _lastFired;

    /// <summary>Paused by the ladder (severe); the pause ends with <see cref="Resumed"/>.</summary>
    public bool Paused { get; private set; }

    /// <summary>Stopped by the ladder (critical) until something starts it again.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The highest rung fired in the current climb of the ladder (null: none); the climb ends after a calm window.</summary>
    public CorrectionAction? Rung { get; private set; }

    /// <summary>When <see cref="Rung"/> fired.</summary>
    public DateTimeOffset RungAt { get; private set; }

    /// <summary>The provider and model of the agent's current run, as the router chose them.</summary>
    public string? Provider { get; private set; }

    public string? Model { get; private set; }

    /// <summary>The route of the last run that crashed, was killed or printed errors (null: none seen).</summary>
    public (string? Provider, string? Model)? Blamed { get; private set; }

    /// <summary>
    /// When this agent must be judged next with no new input (null: not until something happens): set by
    /// <see cref="Judge"/> to <see cref="NextJudgement"/>; cleared by <see cref="Correct"/>, whose owner judges again
    /// once the correction is recorded (the correction changed what the next judgement finds).
    /// </summary>
    public DateTimeOffset? Due { get; private set; }

    // ---------------------------------------------------------------- what the agent did

    /// <summary>A run of the agent got its route: it is the current route, and remembered for blame.</summary>
    public void Apply(RouteChosen r)
    {
        (Provider, Model) = (r.Provider, r.Model);
        if (_routes.TryAdd(r.RunId, (r.Provider, r.Model)))
        {
            _routeOrder.Enqueue(r.RunId);
            if (_routeOrder.Count > KeepRoutes)
            {
                _routes.Remove(_routeOrder.Dequeue());
            }
        }
    }

    /// <summary>A lifecycle event: health signals; a crash, kill or quarantine blames its run's route; a start is a new run.</summary>
    public void Apply(AgentLifecycle e)
    {
        Signals.Lifecycle(e.Kind, e.At, e.Uptime);
        if (e.Kind is LifecycleKind.Crashed or LifecycleKind.Killed or LifecycleKind.Quarantined && e.RunId is { } run)
        {
            Blame(run);
        }

        if (e.Kind == LifecycleKind.Started)
        {
            RunId = e.RunId;
            if (Stopped)
            {
                // an operator started it again after the ladder's stop: a new climb
                (Stopped, Rung, _criticalSince) = (false, null, null);
            }
        }
    }

    /// <summary>A batch of output of run <paramref name="runId"/> arrived (its lines follow through <see cref="Line"/>).</summary>
    public void Output(string runId) => RunId = runId;

    /// <summary>One output line; <paramref name="errorText"/>: a plain line matched an error pattern. Errors blame the run's route.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every line of every agent: optimized from the first call
    public void Line(string runId, OutputLine line, bool errorText, DateTimeOffset at)
    {
        Line(runId, line.Kind, line.Text, errorText, at);
    }

    /// <summary>One output line of <paramref name="kind"/> as chars (a <see cref="LineBatch"/>'s, no string made).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every line of every agent: optimized from the first call
    public void Line(string runId, OutputKind kind, ReadOnlySpan<char> text, bool errorText, DateTimeOffset at)
    {
        Signals.Line(kind, text, errorText, at);
        if (errorText || kind is OutputKind.Error or OutputKind.ToolError)
        {
            Blame(runId);
        }
    }

    /// <summary>
    /// What a usage cost, priced as the router's ledger prices it (<see cref="CostLedger.Price"/>: the cost the CLI
    /// reported, else the tokens at the provider's prices; input tokens already exclude cache reads). The provider
    /// is the usage's, else <paramref name="runProvider"/> (the agent's current run), else the agent's own.
    /// </summary>
    public static decimal Price(AgentUsage usage, string? runProvider, AgentSpec spec, IReadOnlyDictionary<string, ProviderSpec> providers)
    {
        var provider = usage.Provider ?? runProvider ?? spec.Provider;
        return CostLedger.Price(usage, provider, provider is null ? null : providers.GetValueOrDefault(provider)).CostUsd;
    }

    /// <summary>Spend of the agent (added to its burn rate).</summary>
    public void Spent(decimal usd, DateTimeOffset at) => Signals.Cost(usd, at);

    /// <summary>
    /// A line of run <paramref name="runId"/> matched a rate-limit pattern: true when it is worth a
    /// <see cref="ProviderLimited"/> (not within <paramref name="debounce"/> of the last one of the same run).
    /// </summary>
    public bool LimitSeen(string runId, DateTimeOffset now, TimeSpan debounce)
    {
        if (_lastLimitRun == runId && now - _lastLimitAt < debounce)
        {
            return false;
        }

        (_lastLimitAt, _lastLimitRun) = (now, runId);
        return true;
    }

    /// <summary>The pause is over (the climb goes on from the pause: the next rung is the stop).</summary>
    public void Resumed() => (Paused, _calmSince) = (false, null);

    /// <summary>A pause recorded before the daemon restarted and not over yet holds again.</summary>
    public void PauseRestored(DateTimeOffset at) => (Paused, Rung, RungAt) = (true, CorrectionAction.Pause, at);

    // ---------------------------------------------------------------- judging and correcting

    /// <summary>
    /// Scores the window now: the new level (hysteresis on the way down), a verdict when it changed, and the rung due
    /// (none while paused or stopped, or within the rung's cooldown; one rung at a time, <see cref="DriftPolicy.Climb"/>;
    /// the climb is forgotten after a whole window at the normal level). When the drift is the crashes themselves, a
    /// restart is due as a hint only: the layer has already restarted the agent with a fresh context, and a second
    /// restart would cut its new run short (the restart rung is spent for its cooldown all the same).
    /// </summary>
    public Judgement Judge(DateTimeOffset now, NightwatchSpec spec)
    {
        var c = Signals.Evaluate(now, spec.StallAfter, spec.LoopRepeats, spec.MaxBurnPerHour);
        var score = DriftPolicy.Score(c, spec);
        var level = DriftPolicy.Next(Level, score, spec.Thresholds, spec.Hysteresis);
        (Score, Components, UpdatedAt) = (score, c, now);
        DriftVerdict? verdict = null;
        if (level != Level)
        {
            verdict = new DriftVerdict(Agent, now, score, level, Level, c, DriftPolicy.Reason(score, level, c, spec), RunId);
            Level = level;
        }

        _criticalSince = level == DriftLevel.Critical ? _criticalSince ?? now : null;
        _calmSince = level == DriftLevel.Normal ? _calmSince ?? now : null;
        if (_calmSince is { } calm && !Paused && !Stopped && now - calm >= spec.Window)
        {
            Rung = null;
        }

        // the correction of the rung worked for a while (the level fell below the rung's): drift coming back recurs
        var recurred = _fellBelowRung;
        if (Rung is { } on && (DriftPolicy.ActionFor(level) is not { } rungOfLevel || rungOfLevel < on))
        {
            _fellBelowRung = true;
        }

        if (level == DriftLevel.Normal || Paused || Stopped
            || DriftPolicy.Climb(level, Rung, RungAt, _criticalSince, now, recurred) is not { } step
            || DriftPolicy.Due(step, _lastFired, now, spec.Cooldown) is not { } action)
        {
            Due = NextJudgement(now, spec);
            return new Judgement(verdict, null);
        }

        Due = NextJudgement(now, spec);

        if (action == CorrectionAction.Restart && DriftPolicy.Dominant(c, spec).Signal == DriftSignal.Health)
        {
            _lastFired[action] = now;
            Climbed(action, now);
            action = CorrectionAction.Hint;
        }

        return new Judgement(verdict, action);
    }

    /// <summary>
    /// The correction of rung <paramref name="action"/> for the last judged level, and the model to avoid (a pause
    /// asks the router for another route): the route is the blamed run's when errors, failed tool calls or crashes
    /// dominate (the agent may already run elsewhere), else the current run's. Fires the rung (its cooldown starts);
    /// any rung above a hint gives the agent a fresh context (output signals reset); a pause or stop holds the ladder.
    /// </summary>
    public (DriftCorrection Correction, string? Model) Correct(CorrectionAction action, DateTimeOffset now, NightwatchSpec spec, AgentSpec agentSpec)
    {
        var c = Components;
        var dominant = DriftPolicy.Dominant(c, spec).Signal;
        var (provider, model) = dominant is DriftSignal.Health or DriftSignal.Errors or DriftSignal.ToolFailures && Blamed is { } blamed ? blamed : (Provider, Model);
        var correction = new DriftCorrection(
            Agent, now, Level, action, Score, DriftPolicy.Reason(Score, Level, c, spec), DriftPolicy.Hint(c, spec), RunId, provider ?? agentSpec.Provider);
        _lastFired[action] = now;
        Climbed(action, now);
        if (action != CorrectionAction.Hint)
        {
            Signals.ResetOutputSignals(now);
        }

        Paused = action == CorrectionAction.Pause;
        Stopped = action == CorrectionAction.Stop;
        Due = null;
        return (correction, model ?? agentSpec.Model);
    }

    /// <summary>
    /// The first instant after <paramref name="now"/> at which judging could find anything other than the judgement
    /// just made at <paramref name="now"/>, if nothing new arrives meanwhile (null: nothing changes by itself). Nothing
    /// changes before it; at it, a verdict, a rung or the ladder's state may. Only agents that are running or drifting
    /// are looked at again by the clock (as the 1 s tick did before). The instants: a counted bucket or the longest
    /// repeat leaving the window, the silence starting to count, the stall crossing the next level (searched on the
    /// pure score: it only rises between the other instants), a rung's settle time or cooldown ending, critical drift
    /// becoming lasting, and a calm window ending the climb. Pure: call it right after <see cref="Judge"/> at
    /// <paramref name="now"/>.
    /// </summary>
    public DateTimeOffset? NextJudgement(DateTimeOffset now, NightwatchSpec spec)
    {
        if (!Signals.Running && Level == DriftLevel.Normal)
        {
            return null;
        }

        var next = Signals.NextStep(now, spec.StallAfter);
        if (Level != DriftLevel.Normal && !Paused && !Stopped)
        {
            if (Rung is not null)
            {
                next = Earliest(next, RungAt + DriftPolicy.Settle, now);
            }

            if (_criticalSince is { } critical)
            {
                next = Earliest(next, critical + DriftPolicy.Lasting, now);
            }

            foreach (var fired in _lastFired.Values)
            {
                next = Earliest(next, fired + spec.Cooldown, now);
            }
        }

        if (Rung is not null && _calmSince is { } calm && !Paused && !Stopped)
        {
            next = Earliest(next, calm + spec.Window, now);
        }

        if (Signals.StallRising(now, spec.StallAfter) && StallCrossing(now, next, spec) is { } crossing)
        {
            next = crossing;
        }

        return next;
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? next, DateTimeOffset candidate, DateTimeOffset now) =>
        candidate <= now ? next : next is { } n && n <= candidate ? n : candidate;

    /// <summary>
    /// The first instant in (now, limit) at which the rising stall moves the level (binary search on ticks; null: none).
    /// The limit is excluded: a step of the window may happen at it, and the score is monotonic only before it.
    /// </summary>
    private DateTimeOffset? StallCrossing(DateTimeOffset now, DateTimeOffset? limit, NightwatchSpec spec)
    {
        var hi = (limit ?? now + (spec.StallAfter / DriftCalibration.StallAtStallAfter) + spec.StallAfter).UtcTicks - 1;
        if (hi <= now.UtcTicks || LevelAt(hi, spec) == Level)
        {
            return null;
        }

        var lo = now.UtcTicks; // invariant: LevelAt(lo) == Level, LevelAt(hi) != Level
        while (hi - lo > 1)
        {
            var mid = lo + ((hi - lo) / 2);
            if (LevelAt(mid, spec) == Level)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return new DateTimeOffset(hi, TimeSpan.Zero);
    }

    private DriftLevel LevelAt(long utcTicks, NightwatchSpec spec)
    {
        var c = Signals.Evaluate(new DateTimeOffset(utcTicks, TimeSpan.Zero), spec.StallAfter, spec.LoopRepeats, spec.MaxBurnPerHour);
        return DriftPolicy.Next(Level, DriftPolicy.Score(c, spec), spec.Thresholds, spec.Hysteresis);
    }

    private void Climbed(CorrectionAction action, DateTimeOffset now)
    {
        if (Rung is not { } on || action >= on)
        {
            (Rung, RungAt, _fellBelowRung) = (action, now, false);
        }
    }

    private void Blame(string runId)
    {
        if (_routes.TryGetValue(runId, out var route))
        {
            Blamed = route;
        }
    }
}
