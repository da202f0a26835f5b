using System.Diagnostics;
using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Isolation;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Topics;

namespace DarkFactory.Actors.Agents;

/// <summary>
/// Owns exactly one OS process: one run of one agent. Started in PreStart under setsid (its own process
/// group), output streamed by two <see cref="OutputPump"/>s, exit observed through Process.Exited. Once the
/// process has exited and its output is drained the actor tells its layer <see cref="RunEnded"/> (a crash
/// included: the layer decides the restart from it at once, without an exception or waiting for Terminated)
/// and stops itself. PostStop kills whatever is left of the group and asks the sweeper
/// to hunt down descendants that left it (its run marker, and the run's cgroup when there is one).
/// </summary>
public sealed partial class ProcessActor : ReceiveActor, IWithTimers
{
    private const string KillTimer = "kill";
    private const string DrainTimer = "drain";
    private const string MaxRuntimeTimer = "max-runtime";
    private const string ResultTimer = "after-result";
    private const int MaxInFlightBatches = 16;
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly AgentRun _run;
    private readonly OutputFlow _flow = OutputFlow.For(Context.System);
    private readonly RunCredits _credits;
    private readonly Action _returnCredit;
    private readonly CancellationTokenSource _stop = new();
    private Process? _process;
    private (Stream Stdout, Stream Stderr)? _outputs;
    private int _pid;
    private int _openStreams = 2;
    private long _seq;
    private readonly RunEnding _ending = new();
    private long _logChanges;
    private readonly List<IDarkFactoryMessage> _typed = [];
    private PreparedWorktree? _worktree;
    private RunEnded? _ended;
    private bool _waiting;

    public ProcessActor(AgentRun run)
    {
        _run = run;
        _credits = new RunCredits(MaxInFlightBatches, _flow);
        _returnCredit = _credits.Return;
        Receive<OutputChunk>(OnOutput);
        Receive<OutputStreamEnded>(_ => OnStreamEnded());
        Receive<ProcessExited>(OnExited);
        Receive<StopRun>(OnStop);
        Receive<KillNow>(_ => OnKill());
        Receive<MaxRuntimeExceeded>(_ => OnMaxRuntime());
        Receive<ResultLingered>(_ => OnResultLingered());
        Receive<DrainTimedOut>(_ => Finish());
        Receive<WorktreeReady>(OnWorktreeReady);
        Receive<WorktreeFailed>(OnWorktreeFailed);
        Receive<BranchDone>(OnBranchDone);
        Receive<ReleaseStandby>(_ => OnRelease());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    // Not Props.Create(() => new ...): that form walks an expression tree on every run start (~1 ms).
    public static Props Props(AgentRun run) => Akka.Actor.Props.Create<ProcessActor>(run);

    protected override void PreStart()
    {
        if (_run.Isolation is { } isolation)
        {
            // git makes the worktree off the mailbox; the spawn follows when it is there (a stop meanwhile: no spawn)
            AgentWorktrees.PrepareAsync(isolation, _run.Redactor, DateTimeOffset.UtcNow, _stop.Token)
                .PipeTo(Self, success: w => new WorktreeReady(w), failure: e => new WorktreeFailed(e));
            return;
        }

        if (!_run.Standby)
        {
            LaunchOrClean(_run.Plan);
            return;
        }

        try
        {
            LaunchOrClean(_run.Plan);
        }
        catch (Exception e) when (e is AgentMisconfiguredException or RunStartFailedException)
        {
            // a standby that cannot be spawned is no failure of the agent's: the restart spawns as it would without one
            _log.Warning("Agent [{0}]: no standby ({1})", _run.Agent, e.Message);
            Context.Stop(Self);
        }
    }

    private void LaunchOrClean(LaunchPlan plan)
    {
        try
        {
            Launch(plan);
        }
        catch
        {
            RemoveRunDirectory(); // a launch that failed leaves nothing behind
            throw;
        }
    }

    private void Launch(LaunchPlan plan)
    {
        RunProcess.Prepare(plan, why => _log.Warning("Agent [{0}] run [{1}]: no cgroup ({2}); the run-marker sweep only", _run.Agent, _run.RunId, why));
        var self = Self;
        var process = RunProcess.Start(plan, _run.Agent, _run.RunId, p => self.Tell(ProcessExited.From(p)));
        _process = process;
        _pid = process.Id;
        _outputs = RunProcess.TakeOutputs(process); // the pipes without the process's readers and their buffers
        new OutputPump(_outputs.Value.Stdout, OutputStream.Stdout, _run.Log, _run.Redactor, self, _credits, _run.Classify).Run(_stop.Token);
        new OutputPump(_outputs.Value.Stderr, OutputStream.Stderr, _run.Log, _run.Redactor, self, _credits, _run.Classify).Run(_stop.Token);
        if (_run.Standby)
        {
            _waiting = true; // its chain is up, its program waits for the release
            return;
        }

        Begin(plan);
    }

    /// <summary>The run begins: its log line, its stdin, its max runtime, and the layer told.</summary>
    private void Begin(LaunchPlan plan)
    {
        var startedAt = DateTimeOffset.UtcNow;
        _logChanges = _run.Log.Health.Changes; // a turn before this run was its predecessor's to report
        _run.Log.WriteLine($"--- {startedAt:O} run {_run.RunId} started, pid {_pid}");
        ReportLogWrites();
        RunProcess.WriteStdin(_process!, plan.Stdin);

        if (_run.MaxRuntime is { } max)
        {
            Timers.StartSingleTimer(MaxRuntimeTimer, MaxRuntimeExceeded.Instance, max);
        }

        Context.Parent.Tell(new RunStarted(_run.Agent, _run.RunId, _pid, startedAt));
    }

    /// <summary>
    /// A standby released: one pipe write and its shell execs the program. Once only; a standby whose shell is
    /// gone already (killed from outside) ends as its exit says, and the layer decides that end like any run's.
    /// </summary>
    private void OnRelease()
    {
        if (!_waiting)
        {
            return;
        }

        _waiting = false;
        if (_ending.Exit is null && RunProcess.Release(_process!))
        {
            Begin(_run.Plan);
        }
    }

    private void OnOutput(OutputChunk chunk)
    {
        var batch = new AgentOutput(_run.Agent, _run.RunId, _seq, DateTimeOffset.UtcNow, chunk.Lines, _run.TaskId, _run.ProjectId);
        _seq += chunk.Lines.Count;
        _flow.Track(batch, OutputFlow.SizeOf(chunk.Lines), _returnCredit); // the credit comes back once every consumer took it
        _topics.Publish(batch);
        if (_run.Events is { } events)
        {
            _typed.Clear();
            events.Collect(chunk.Lines, batch.At, _typed);
            PublishTyped();
            if (_run.ResultGrace is { } grace && _ending.ResultSeen(events.Success is not null))
            {
                Timers.StartSingleTimer(ResultTimer, ResultLingered.Instance, grace); // its work is done: it has this long to exit
            }
        }

        ReportLogWrites();
    }

    /// <summary>
    /// The agent's log stopped (or resumed) taking writes since the last look: an event. The pumps keep draining
    /// the pipes either way (the sink counts what it could not write); the sink's turn counter is read, never waited on.
    /// </summary>
    private void ReportLogWrites()
    {
        var health = _run.Log.Health;
        if (health.Changes == _logChanges)
        {
            return;
        }

        _logChanges = health.Changes;
        if (health.Failing)
        {
            _log.Warning("Agent [{0}] run [{1}]: its log takes no writes ({2}); output is still captured, {3} bytes not written", _run.Agent, _run.RunId, health.Error, health.DroppedBytes);
        }
        else
        {
            _log.Info("Agent [{0}] run [{1}]: its log takes writes again ({2} bytes were not written)", _run.Agent, _run.RunId, health.DroppedBytes);
        }

        _topics.Publish(new AgentLogWrite(_run.Agent, _run.RunId, DateTimeOffset.UtcNow, health.Failing, health.Failing ? health.Error : null, health.DroppedBytes));
    }

    private void PublishTyped()
    {
        foreach (var e in _typed)
        {
            _topics.Publish(e);
        }

        _typed.Clear();
    }

    private void OnStreamEnded()
    {
        _openStreams--;
        if (_ending.Exit is not null && _openStreams <= 0)
        {
            Finish();
        }
    }

    private void OnExited(ProcessExited exited)
    {
        if (!_ending.Exited(exited.Code, exited.Signal, DateTimeOffset.UtcNow, _run.ResultGrace))
        {
            return;
        }

        _credits.Open(); // what is left in the pipes is drained (and logged) without waiting for the consumers

        // The leader is gone: nothing it started may outlive it.
        Native.KillGroup(_pid, Native.SIGKILL);
        _run.Sweeper.Tell(new SweepRun(_run.Plan.RunMarker, _run.Plan.Cgroup));
        Timers.Cancel(KillTimer);
        Timers.Cancel(MaxRuntimeTimer);
        Timers.Cancel(ResultTimer);
        if (_openStreams <= 0)
        {
            Finish();
        }
        else
        {
            Timers.StartSingleTimer(DrainTimer, DrainTimedOut.Instance, DrainTimeout);
        }
    }

    private void OnStop(StopRun stop)
    {
        if (!_ending.Stop(stop.Reason) || _pid == 0)
        {
            return; // no process yet (its worktree is being made): the run ends without one when it is there
        }

        _log.Info("Agent [{0}] run [{1}] stopping: {2}", _run.Agent, _run.RunId, stop.Reason);
        Signal(Native.SIGTERM);
        Timers.StartSingleTimer(KillTimer, KillNow.Instance, _run.Grace);
    }

    private void OnKill()
    {
        if (_ending.Exit is not null)
        {
            return;
        }

        _log.Warning("Agent [{0}] run [{1}] did not stop within {2}: SIGKILL", _run.Agent, _run.RunId, _run.Grace);
        Signal(Native.SIGKILL);
        _run.Sweeper.Tell(new SweepRun(_run.Plan.RunMarker, _run.Plan.Cgroup));
    }

    private void OnMaxRuntime()
    {
        if (_ending.MaxRuntimeExceeded(_run.MaxRuntime) is not { } reason)
        {
            return;
        }

        _log.Warning("Agent [{0}] run [{1}]: {2}", _run.Agent, _run.RunId, reason);
        Signal(Native.SIGTERM);
        Timers.StartSingleTimer(KillTimer, KillNow.Instance, _run.Grace);
    }

    private void OnResultLingered()
    {
        if (!_ending.ResultLingered(_run.Events?.Success) || _ending.EndedAfterResult is not { } success)
        {
            return;
        }

        _log.Warning("Agent [{0}] run [{1}]: {2}; ending it as its result said ({3})", _run.Agent, _run.RunId, AfterResult.StopReason(_run.ResultGrace!.Value), success ? "success" : "failure");
        Signal(Native.SIGTERM);
        Timers.StartSingleTimer(KillTimer, KillNow.Instance, _run.Grace);
    }

    private void Signal(int signal) => RunProcess.Signal(_run.Plan, _pid, signal);

    private void Finish()
    {
        if (!_ending.Finish())
        {
            return;
        }

        var exit = _ending.Exit!;
        Timers.Cancel(DrainTimer);
        if (_run.Events is { } events && exit.Signal is null)
        {
            events.Exited(exit.Code, exit.At, _typed);
            PublishTyped();
        }

        if (!_waiting)
        {
            _run.Log.WriteLine($"--- {exit.At:O} run {_run.RunId} {AgentCrashedException.Describe(exit)}{(_ending.StopReason is { } stop ? $" (stop: {stop})" : string.Empty)}");
            ReportLogWrites();
        }

        EndAfterBranch(_ending.Ended(_run.Agent, _run.RunId, limited: _run.Events?.ReportedLimit == true));
    }

    /// <summary>Tells the layer the run is over; an isolated run's branch is committed (and gated) first.</summary>
    private void EndAfterBranch(RunEnded ended)
    {
        _ended = ended;
        if (_run.Isolation is { } isolation && _worktree is { } worktree)
        {
            // the daemon commits what the run left on its branch, gates it and removes the worktree; then the run is over
            AgentWorktrees.FinishAsync(isolation, worktree, _run.Redactor, DateTimeOffset.UtcNow, null, _stop.Token)
                .PipeTo(Self, success: b => new BranchDone(b, null), failure: e => new BranchDone(null, e));
            return;
        }

        End();
    }

    private void End()
    {
        if (_run.Plan is { Session: { } session, TempDirectory: { } directory })
        {
            // the CLI's conversation kept (a rename) before anyone hears of the end: the task's next attempt may resume it
            foreach (var old in RunSessions.Save(session, directory))
            {
                RunProcess.RemoveDirectory(old);
            }
        }

        Context.Parent.Tell(_ended!);
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        if (_pid > 0 && _ending.Exit is null)
        {
            // brutal_kill backstop: synchronous, never waits.
            Native.KillGroup(_pid, Native.SIGKILL);
            Native.Kill(_pid, Native.SIGKILL);
            _run.Sweeper.Tell(new SweepRun(_run.Plan.RunMarker, _run.Plan.Cgroup));
        }

        _process?.Dispose();
        _outputs?.Stdout.Dispose(); // the process no longer closes them (RunProcess.TakeOutputs)
        _outputs?.Stderr.Dispose();
        RemoveRunDirectory();
    }

    private void RemoveRunDirectory() => RunProcess.RemoveDirectory(_run.Plan.TempDirectory);

    protected override void PreRestart(Exception reason, object message)
    {
        // Layer supervisors never restart a ProcessActor in place (they stop it and start a new run), but
        // if one did, the old run must not survive it.
        PostStop();
    }
}
