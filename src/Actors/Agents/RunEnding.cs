namespace DarkFactory.Actors.Agents;

/// <summary>
/// How one run ends, as its <see cref="ProcessActor"/> learns it (pure): a stop asked for (the operator's, the
/// layer's), max runtime, a CLI that lingers after its final result (<see cref="AfterResult"/>), the process's exit.
/// The first cause wins; each transition answers whether the actor acts on it (signals the group, starts a timer).
/// </summary>
public sealed class RunEnding
{
    private bool _resultSeen;

    /// <summary>The exit as it counts (after a lingering result: as the result said); null while the process runs.</summary>
    public ExitInfo? Exit { get; private set; }

    /// <summary>Why a stop was asked for; null: none was.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Why the run was killed by its own limit (max runtime); null: it was not.</summary>
    public string? KillReason { get; private set; }

    /// <summary>Ended because it went on after its final result: whether that result was a success.</summary>
    public bool? EndedAfterResult { get; private set; }

    /// <summary>Whether the run's end was told (or is being told) to its layer.</summary>
    public bool Finished { get; private set; }

    /// <summary>A stop asked for: true the first time, while the process has not exited (then: stop it).</summary>
    public bool Stop(string reason)
    {
        if (Exit is not null || StopReason is not null)
        {
            return false;
        }

        StopReason = reason;
        return true;
    }

    /// <summary>Max runtime passed: the kill reason (then: stop it), or null when the run is ending anyway.</summary>
    public string? MaxRuntimeExceeded(TimeSpan? max)
    {
        if (Exit is not null || StopReason is not null || EndedAfterResult is not null)
        {
            return null;
        }

        return KillReason = $"max runtime {max} exceeded";
    }

    /// <summary>The CLI printed its final result: true the first time, while it runs (then: start its grace).</summary>
    public bool ResultSeen(bool hasResult)
    {
        if (_resultSeen || !hasResult || Exit is not null)
        {
            return false;
        }

        _resultSeen = true;
        return true;
    }

    /// <summary>The grace after the result passed: true (then: stop it) unless it is ending for another cause.</summary>
    public bool ResultLingered(bool? success)
    {
        if (Exit is not null || StopReason is not null || KillReason is not null || success is not { } s)
        {
            return false;
        }

        EndedAfterResult = s;
        return true;
    }

    /// <summary>The process exited: true the first time. A run ended after its result exits as the result said.</summary>
    public bool Exited(int code, int? signal, DateTimeOffset at, TimeSpan? resultGrace)
    {
        if (Exit is not null)
        {
            return false;
        }

        Exit = new ExitInfo(code, signal, at, KillReason);
        if (EndedAfterResult is { } success)
        {
            Exit = AfterResult.Exit(success, resultGrace!.Value, Exit);
        }

        return true;
    }

    /// <summary>A stop that came while the run's worktree was made: the run is over without a process.</summary>
    public RunEnded StoppedBeforeStart(string agent, string runId, DateTimeOffset at)
    {
        Finished = true;
        Exit = new ExitInfo(0, null, at, "stopped before it started");
        return new RunEnded(agent, runId, Exit, StopReason);
    }

    /// <summary>The process exited and its output drained: true the first time (then: tell the layer <see cref="Ended"/>).</summary>
    public bool Finish()
    {
        if (Finished || Exit is null)
        {
            return false;
        }

        Finished = true;
        return true;
    }

    /// <summary>What the layer is told: a crash only when it ended by itself, unasked and not by its own limit.</summary>
    public RunEnded Ended(string agent, string runId, bool limited) =>
        new(agent, runId, Exit!, StopReason, TimedOut: KillReason is not null, Crashed: StopReason is null && KillReason is null && !Exit!.Success, Limited: limited);
}
