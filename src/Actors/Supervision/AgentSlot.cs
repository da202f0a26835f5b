using DarkFactory.Actors.Agents;

namespace DarkFactory.Actors.Supervision;

/// <summary>What the layer does once an agent's current run is over (a stop it asked for).</summary>
public enum AfterStop
{
    /// <summary>Nothing: the agent stays stopped.</summary>
    Stay,

    /// <summary>Start the agent again (its next run: the same task, or a fresh one after a changed declaration).</summary>
    Restart,

    /// <summary>Forget the agent: it is no longer declared.</summary>
    Remove,
}

/// <summary>How a run ended, as the layer sees it once the run's actor is gone.</summary>
public enum RunEnd
{
    /// <summary>Its declaration cannot be launched (the agent becomes unavailable).</summary>
    Misconfigured,

    /// <summary>Stopped because the layer asked (<see cref="AgentSlot.StopReason"/>).</summary>
    Stopped,

    /// <summary>Exited with code 0.</summary>
    Exited,

    /// <summary>Stopped by the daemon for exceeding its max runtime.</summary>
    TimedOut,

    /// <summary>A non-zero exit, a signal, or a failure of its actor.</summary>
    Crashed,

    /// <summary>
    /// A non-zero exit of a routed run that reported its provider's rate limit first (in its output, or by its
    /// exit code: gemini's 173 is a 429). Not a crash: the agent did nothing wrong and its next run goes where
    /// the router finds a route.
    /// </summary>
    Limited,
}

/// <param name="Reason">For a misconfigured or stopped run: why.</param>
public sealed record RunConclusion(RunEnd End, ExitInfo Exit, TimeSpan Uptime, string? Reason)
{
    /// <summary>Counts as a crash for the restart rules.</summary>
    public bool Abnormal => End == RunEnd.Crashed;
}

/// <summary>
/// The layer's bookkeeping for one agent, as an explicit state machine: the state the operator sees
/// (<see cref="AgentState"/>), the current run and what is known of its end, and what waits for that end
/// (<see cref="AfterStop"/>, and a changed declaration to take). The transitions are plain methods with
/// no actor behind them (unit-tested on their own); the layer calls them from its mailbox and does the
/// side effects they call for (start a run, tell a run to stop, record a lifecycle event, arm a timer).
/// </summary>
public sealed class AgentSlot(AgentSpec spec)
{
    private RunEnded? _ended;
    private ExitInfo? _crash;
    private string? _misconfigured;
    private RunRequest? _next;

    /// <summary>The declaration the current (or last) run was launched from.</summary>
    public AgentSpec Spec { get; private set; } = spec;

    /// <summary>A changed declaration waiting for the current run to end.</summary>
    public AgentSpec? Pending { get; private set; }

    /// <summary>The declaration the agent's next run will use.</summary>
    public AgentSpec Declared => Pending ?? Spec;

    public string Name => Spec.Name;

    /// <summary>A project's instance of a declared agent (<see cref="AgentInstance"/>): never restarted by the layer, gone when its run is over.</summary>
    public bool Instance { get; init; }

    /// <summary>A new slot for a project's instance <paramref name="name"/> of the declared agent <paramref name="declared"/>: its declaration, temporary, never autostarted.</summary>
    public static AgentSlot InstanceOf(AgentSpec declared, string name) =>
        new(declared with { Name = name, Restart = RestartType.Temporary, Autostart = false }) { Instance = true };

    /// <summary>An instance whose run is over and that waits for nothing (no restart, no provider) is forgotten.</summary>
    public bool Finished => Instance && Child is null && !Waiting;

    /// <summary>Waits for its next run: a restart's backoff, a provider, or a place in the admission queue.</summary>
    public bool Waiting => State is AgentState.Backoff or AgentState.Queued;

    public AgentState State { get; private set; } = AgentState.Stopped;

    /// <summary>Why the agent is unavailable, quarantined or stopped, or what it waits for.</summary>
    public string? Reason { get; private set; }

    /// <summary>For an unavailable AI agent: the command that installs its CLI.</summary>
    public string? Install { get; private set; }

    public int Restarts { get; private set; }
    public int ConsecutiveCrashes { get; private set; }
    public ExitInfo? LastExit { get; private set; }
    public DateTimeOffset? NextRestartAt { get; private set; }

    /// <summary>Nightwatch's corrective hint, put before the next run's task (once).</summary>
    public string? Hint { get; set; }

    // ---- the current run (Child is null between runs)

    public IActorRef? Child { get; private set; }
    public string? RunId { get; private set; }

    /// <summary>Counts runs: a timer armed for one run never starts another.</summary>
    public int Generation { get; private set; }

    public int? Pid { get; private set; }
    public DateTimeOffset? StartedAt { get; private set; }

    /// <summary>When the current run's launch began (route, plan, spawn): the start of its trace.</summary>
    public DateTimeOffset? LaunchedAt { get; private set; }

    /// <summary>The task and project of the current (or last) run: every event of the run carries them.</summary>
    public string? TaskId { get; private set; }

    public string? ProjectId { get; private set; }

    /// <summary>Early stop on a rate limit of the current AI run's provider; null for plain commands.</summary>
    public RunLimitGuard? Limit { get; private set; }

    /// <summary>Why the layer asked the current run to stop; null: it did not.</summary>
    public string? StopReason { get; private set; }

    public AfterStop AfterStop { get; private set; }

    /// <summary>Who asked for the run about to start (<see cref="Requester"/>); null: the layer's own start.</summary>
    public string? StartedBy { get; private set; }

    /// <summary>Who asked for the current run's stop (<see cref="Requester"/>); null: nobody named, or the layer's own stop.</summary>
    public string? StoppedBy { get; private set; }

    public bool Running => Child is not null;

    /// <summary>The agent's next run, spawned and waiting for the current one's end (<see cref="StandbyRules"/>); null: none.</summary>
    public StandbyRun? Standby { get; private set; }

    /// <summary>A standby was made for the current run.</summary>
    public void Prepared(StandbyRun standby) => Standby = standby;

    /// <summary>The standby, no longer the slot's (released as the next run, or to be discarded).</summary>
    public StandbyRun? TakeStandby()
    {
        var standby = Standby;
        Standby = null;
        return standby;
    }

    /// <summary>The standby of run <paramref name="runId"/> ended or its actor stopped before its release: forgotten (its actor cleans up); true when it was this slot's.</summary>
    public bool StandbyGone(string runId)
    {
        if (Standby?.Run.RunId != runId)
        {
            return false;
        }

        Standby = null;
        return true;
    }

    /// <summary>The next run: the last on-demand start's task, working directory and ids (kept for its restarts), and the hint.</summary>
    public RunRequest Next() => (_next ?? new RunRequest(Declared)) with { Agent = Declared, Hint = Hint };

    // ---- declaration

    /// <summary>An on-demand start: its task, working directory and ids are kept for the restarts of its run.</summary>
    public void Plan(RunRequest next) => SetNext(next with { Agent = Declared, Hint = null });

    /// <summary>The next run's task waits on disk (<see cref="TaskSpill"/>); null: it is in memory, or the declared one.</summary>
    public SpilledTask? Spilled => _next?.Spilled;

    /// <summary>The next run's task, read back from disk for its start: kept in memory again for the run's restarts.</summary>
    public void Unspilled(RunRequest next) => SetNext(next with { Spilled = null, Hint = null });

    /// <summary>The slot goes (its agent removed, its layer stopped): a task spilled for its next run goes with it.</summary>
    public void Forget() => SetNext(null);

    /// <summary>Every change of the next run goes here: a spilled task it no longer uses is dropped (its file deleted).</summary>
    private void SetNext(RunRequest? next)
    {
        if (_next?.Spilled is { } old && !ReferenceEquals(old, next?.Spilled))
        {
            old.Dispose();
        }

        _next = next;
    }

    /// <summary>Someone asked for the next run (a start, a restart): its start is recorded as theirs.</summary>
    public void StartFor(string? by) => StartedBy = by;

    /// <summary>Who asked for the run that just started; a later restart is the layer's own.</summary>
    public string? TakeStartedBy()
    {
        var by = StartedBy;
        StartedBy = null;
        return by;
    }

    /// <summary>A changed declaration for an agent without a run: taken now; the next run is a fresh one.</summary>
    public void Redeclare(AgentSpec declared)
    {
        Spec = declared;
        Pending = null;
        SetNext(null);
    }

    /// <summary>A declaration changed only in what the process does not use: taken, the run goes on.</summary>
    public void Update(AgentSpec declared)
    {
        if (Pending is not null)
        {
            Pending = declared;
        }
        else
        {
            Spec = declared;
        }
    }

    // ---- availability

    /// <summary>The agent's program is (again) there: an unavailable agent becomes stopped.</summary>
    public void Available()
    {
        if (State == AgentState.Unavailable)
        {
            State = AgentState.Stopped;
            Reason = null;
            Install = null;
        }
    }

    /// <summary>The agent cannot run; true when that is news (worth recording).</summary>
    public bool Unavailable(string reason, string? install = null)
    {
        var news = State != AgentState.Unavailable || Reason != reason;
        State = AgentState.Unavailable;
        Reason = reason;
        Install = install;
        return news;
    }

    // ---- a run

    public void BeginRun(AgentRun run, IActorRef child, DateTimeOffset launchedAt, DateTimeOffset now, RunLimitGuard? limit)
    {
        Child = child;
        RunId = run.RunId;
        TaskId = run.TaskId;
        ProjectId = run.ProjectId;
        Limit = limit;
        Generation++;
        State = AgentState.Starting;
        LaunchedAt = launchedAt;
        StartedAt = now;
        Pid = null;
        Reason = null;
        NextRestartAt = null;
        Hint = null;
        _ended = null;
        _crash = null;
        _misconfigured = null;
        StopReason = null;
        StoppedBy = null;
        AfterStop = AfterStop.Stay;
    }

    /// <summary>No provider can take the next run: the agent waits (backoff) until the router resumes it.</summary>
    public void WaitForRoute(string reason, RunRequest next)
    {
        SetNext(next with { Hint = null });
        State = AgentState.Backoff;
        Reason = reason;
        NextRestartAt = null;
    }

    /// <summary>A declared limit holds the next run back: it waits in the admission queue until the gate opens.</summary>
    public void Queue(string reason, RunRequest next)
    {
        SetNext(next with { Hint = null });
        State = AgentState.Queued;
        Reason = "queued: " + reason;
        NextRestartAt = null;
    }

    /// <summary>The run's process is alive; false when the news is about another run.</summary>
    public bool Started(string runId, int pid, DateTimeOffset at)
    {
        if (runId != RunId)
        {
            return false;
        }

        Pid = pid;
        StartedAt = at;
        if (State == AgentState.Starting)
        {
            State = AgentState.Running;
        }

        return true;
    }

    /// <summary>The current run's end is known (its actor is still finishing); false when the news is about another run.</summary>
    public bool Ended(RunEnded ended)
    {
        if (ended.RunId != RunId || Child is null)
        {
            return false;
        }

        _ended = ended;
        return true;
    }

    /// <summary>
    /// The run's end, known at its exit, can be decided before its actor is gone: it ended by itself (the layer
    /// asked no stop, whose end the layer waits for: a drain, a removal, a replaced declaration).
    /// </summary>
    public bool DecidableAtExit => _ended is not null && StopReason is null && _misconfigured is null;

    public void Crashed(string runId, ExitInfo exit)
    {
        if (runId == RunId)
        {
            _crash = exit;
        }
    }

    public void Misconfigured(string reason) => _misconfigured = reason;

    /// <summary>
    /// Ask the current run to stop, and say what happens after: <paramref name="overrides"/> (the
    /// operator's or the daemon's word) replaces what waited, anything else only adds to it (a restart beats
    /// staying stopped); a removal always stays a removal.
    /// </summary>
    /// <param name="by">Who asked (<see cref="Requester"/>), taken with an overriding stop.</param>
    /// <returns>True when there is a run to tell.</returns>
    public bool RequestStop(string reason, AfterStop then, bool overrides = false, string? by = null)
    {
        if (Child is null)
        {
            return false;
        }

        StoppedBy = overrides ? by : StoppedBy;
        StopReason = overrides ? reason : StopReason ?? reason;
        AfterStop = AfterStop == AfterStop.Remove ? AfterStop.Remove : overrides ? then : (AfterStop)Math.Max((int)AfterStop, (int)then);
        State = AgentState.Stopping;
        return true;
    }

    /// <summary>
    /// The declaration changed in what the process uses: a run is stopped and the new declaration started
    /// after it (true: tell the run); without a run the declaration is taken at once.
    /// </summary>
    public bool Replace(AgentSpec declared, string reason)
    {
        if (Child is null)
        {
            Redeclare(declared);
            return false;
        }

        Pending = declared;
        return RequestStop(reason, AfterStop.Restart);
    }

    /// <summary>The current run's actor is gone: how the run ended, from what was learned of it meanwhile.</summary>
    /// <param name="unattributedFailure">A failure the layer could not tie to a run (its actor failed, not its process).</param>
    public RunConclusion Conclude(DateTimeOffset now, string? unattributedFailure)
    {
        Child = null;
        Pid = null;
        var uptime = StartedAt is { } at ? now - at : TimeSpan.Zero;
        var exit = _ended?.Exit ?? _crash ?? new ExitInfo(-1, null, now, unattributedFailure ?? "the run's actor stopped unexpectedly");
        LastExit = exit;
        if (_misconfigured is { } bad)
        {
            Unavailable(bad);
            return new RunConclusion(RunEnd.Misconfigured, exit, uptime, bad);
        }

        if (StopReason is { } why)
        {
            State = AgentState.Stopped;
            Reason = why;
            return new RunConclusion(RunEnd.Stopped, exit, uptime, why);
        }

        var end = _ended is null || _ended.Crashed ? RunEnd.Crashed : _ended.TimedOut ? RunEnd.TimedOut : RunEnd.Exited;
        if (end == RunEnd.Crashed && exit.Signal is null && Limit is { Provider: not null } guard && (_ended?.Limited == true || guard.ReportedLimit))
        {
            guard.ExitedLimited(); // its restart waits for the router's mark, as a run stopped on the limit does
            return new RunConclusion(RunEnd.Limited, exit, uptime, null);
        }

        return new RunConclusion(end, exit, uptime, null);
    }

    /// <summary>The layer's <see cref="RestartRules"/> decision on a run that ended by itself.</summary>
    public void Decided(RunConclusion run, RestartDecision decision)
    {
        ConsecutiveCrashes = decision.ConsecutiveCrashes;
        switch (decision.Action)
        {
            case RestartAction.None:
                State = run.End is RunEnd.Exited ? AgentState.Completed : AgentState.Stopped;
                Reason = run.End switch
                {
                    RunEnd.TimedOut => run.Exit.Reason,
                    RunEnd.Crashed or RunEnd.Limited => decision.Reason,
                    _ => null,
                };
                break;
            case RestartAction.Quarantine:
                State = AgentState.Quarantined;
                Reason = decision.Reason;
                break;
            case RestartAction.Escalate:
                State = AgentState.Stopped;
                break;
            case RestartAction.Restart:
                Restarts++;
                break;
        }
    }

    /// <summary>A stop that will start the run again (a rate limit, a sibling's crash): counts as a restart.</summary>
    public bool StopToRestart(string reason)
    {
        if (!RequestStop(reason, AfterStop.Restart))
        {
            return false;
        }

        Restarts++;
        return true;
    }

    /// <summary>The next run waits (backoff) until <paramref name="until"/>.</summary>
    public void BackOff(DateTimeOffset until)
    {
        State = AgentState.Backoff;
        NextRestartAt = until;
    }

    /// <summary>The run is over: what waited for its end, now due. A changed declaration is taken here (its next run is a fresh one).</summary>
    public AfterStop TakeAfterStop()
    {
        var then = AfterStop;
        AfterStop = AfterStop.Stay;
        if (Pending is { } declared)
        {
            Redeclare(declared);
        }

        return then;
    }

    // ---- operator

    /// <summary>A stop for an agent without a run: one waiting for a restart or a provider stays stopped; true when it was waiting.</summary>
    public bool StopWaiting(string reason)
    {
        if (!Waiting)
        {
            return false;
        }

        State = AgentState.Stopped;
        Reason = reason;
        NextRestartAt = null;
        return true;
    }

    /// <summary>A restart by the operator: the crash counters start again; true when the agent was quarantined (it is released).</summary>
    public bool Release()
    {
        ConsecutiveCrashes = 0;
        return State == AgentState.Quarantined;
    }

    public AgentStatus Status(LayerName layer) => new()
    {
        Agent = Name,
        Layer = layer,
        State = State,
        Cli = Spec.Cli,
        Pid = Pid,
        RunId = RunId,
        Restarts = Restarts,
        LastExit = LastExit,
        StartedAt = Child is null ? null : StartedAt,
        Reason = Reason,
        Install = Install,
        NextRestartAt = State == AgentState.Backoff ? NextRestartAt : null,
    };
}
