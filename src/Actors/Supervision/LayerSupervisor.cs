using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Routing.Admission;
using DarkFactory.Actors.Topics;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// Supervises the agents of one layer with OTP semantics: restart type per agent, restart intensity
/// as a sliding window (exceeded: escalate to the fleet), exponential backoff with jitter, crash-loop
/// quarantine, one-for-one or one-for-all. The decisions are pure: <see cref="RestartRules"/> (after a
/// run), <see cref="LayerReconciler"/> (a new declaration), <see cref="RunLauncher"/> (a run to start),
/// <see cref="RunLimitGuard"/> (early stop on a rate limit); each agent's state is an
/// <see cref="AgentSlot"/>. Each run is a child named agent-&lt;name&gt; made by
/// <see cref="LayerServices.RunProps"/> (a <see cref="ProcessActor"/>, or a fake run in specs). A failing
/// child is always stopped (never restarted in place); its replacement is a new run. A run that ended by
/// itself is decided when its <see cref="RunEnded"/> arrives (its process has exited and its group was killed,
/// so at most one process of an agent exists at a time; the old actor's cleanup goes on beside the new run,
/// children are named agent-&lt;name&gt;-&lt;run id&gt;); a failed actor, and a run the layer asked to stop, are
/// decided when the actor's termination arrives.
/// </summary>
public sealed partial class LayerSupervisor : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly LayerServices _services;
    private readonly Dictionary<string, AgentSlot> _slots = new(StringComparer.Ordinal);
    private readonly List<AgentSlot> _order = [];
    private readonly RestartIntensity _intensity;
    private LayerSpec _layer;
    private IReadOnlyList<ProviderSpec> _providers = [];
    private IReadOnlyList<string> _workdirs = [];
    private string? _unattributedFailure;
    private IActorRef? _drainRequester;

    public LayerSupervisor(LayerSpec layer, LayerServices services)
    {
        _layer = layer;
        _services = services;
        _intensity = new RestartIntensity(layer.MaxRestarts, layer.Within);

        Receive<ReconcileLayer>(OnReconcile);
        Receive<RunStarted>(OnRunStarted);
        Receive<RunEnded>(OnRunEnded);
        Receive<ChildTerminated>(OnChildTerminated);
        Receive<RestartDue>(OnRestartDue);
        Receive<StandbyDue>(OnStandbyDue);
        Receive<StartAgent>(OnStart);
        Receive<StopAgent>(OnStop);
        Receive<RestartAgent>(OnRestart);
        Receive<ResumeAgent>(OnResume);
        Receive<GateOpened>(OnGateOpened);
        Receive<AgentHint>(OnHint);
        Receive<GetAgents>(_ => Sender.Tell(new AgentsSnapshot(_order.Select(s => s.Status(_layer.Name)).ToList())));
        Receive<DrainLayer>(_ => OnDrain());
        Receive<ProviderLimited>(OnRunLimited);
        Receive<ProviderLimitRecorded>(OnLimitMarked);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(LayerSpec layer, LayerServices services) =>
        Akka.Actor.Props.Create(() => new LayerSupervisor(layer, services));

    private DateTimeOffset Now => _services.Clock.GetUtcNow();

    protected override void PreStart()
    {
        // early stop on a rate limit needs the router (it confirms the limit, and routes the restart elsewhere)
        if (_services.Routes is not null)
        {
            _topics.Subscribe(Self, typeof(ProviderLimited));
            _topics.Subscribe(Self, typeof(ProviderLimitRecorded));
        }
    }

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        _services.Gate?.Forget(Self); // a stopped (escalated) layer's runs are gone, its queued runs with it
        _order.ForEach(s => s.Forget()); // and their spilled tasks
    }

    // No retry limit (the layer keeps its own intensity); no Akka failure log: an agent crash is an
    // expected event, logged once, concisely, when the layer handles the run's end.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        cause =>
        {
            // Runs inside this actor while it handles the child's failure: recording here is safe.
            var inner = cause is ActorInitializationException { InnerException: { } e } ? e : cause;
            switch (inner)
            {
                case AgentCrashedException crash:
                    Find(crash.Agent)?.Crashed(crash.RunId, crash.Exit);
                    break;
                case AgentMisconfiguredException bad:
                    Find(bad.Agent)?.Misconfigured(bad.Reason);
                    break;
                default:
                    _unattributedFailure = inner.Message;
                    break;
            }

            // Never restart in place: the layer starts a new run when the old one's termination arrives.
            return Directive.Stop;
        },
        false);

    private AgentSlot? Find(string agent) => _slots.GetValueOrDefault(agent);

    // ---------------------------------------------------------------- runs

    private void StartRun(AgentSlot slot, RunRequest request)
    {
        if (request.Spilled is not null)
        {
            if (Unspill(slot, request) is not { } unspilled)
            {
                return;
            }

            request = unspilled;
        }

        var launchedAt = Now;
        var standby = TakeStandbyFor(slot, request);
        var launch = standby is not null ? new LaunchResult.Ready(standby.Run, null) : RunLauncher.Launch(request, _providers, _services, launchedAt, _workdirs);
        switch (launch)
        {
            case LaunchResult.WaitingForRoute waiting:
                slot.WaitForRoute(waiting.Reason, request);
                _log.Warning("Agent [{0}] waits for a provider: {1}", slot.Name, waiting.Reason);
                _services.Router?.Tell(new AwaitRoute(slot.Name, request.Task, waiting.Reason));
                break;
            case LaunchResult.Unavailable bad:
                slot.Unavailable(bad.Reason);
                Record(slot, LifecycleKind.Unavailable, detail: bad.Reason);
                _log.Warning("Agent [{0}] cannot run: {1}", slot.Name, bad.Reason);
                break;
            case LaunchResult.Ready ready when Admit(slot, ready.Run) is { } queued:
                Discard(standby);
                slot.Queue(queued.Reason, Spill(slot, request));
                _log.Info("Agent [{0}] queued (position {1}): {2}", slot.Name, queued.Position, queued.Reason);
                break;
            case LaunchResult.Ready ready:
                var child = standby?.Child ?? Context.ActorOf(_services.RunProps(ready.Run), $"agent-{slot.Name}-{ready.Run.RunId}");
                if (standby is null)
                {
                    Context.WatchWith(child, new ChildTerminated(slot.Name, ready.Run.RunId));
                }
                else
                {
                    child.Tell(ReleaseStandby.Instance); // its program execs now: the chain was spawned while the last run was up
                }

                slot.BeginRun(ready.Run, child, launchedAt, Now, ready.Run.Events is null ? null : new RunLimitGuard(ready.Run.Provider));
                if (ready.Route is { } route)
                {
                    _services.Router?.Tell(route);
                }

                break;
        }
    }

    /// <summary>A queued run's task goes to disk (<see cref="TaskSpill"/>): the queue holds paths, not text. When it cannot be written (a full disk) it waits in memory.</summary>
    private RunRequest Spill(AgentSlot slot, RunRequest request)
    {
        var queued = QueuedRuns.Spill(_services.Spill, request, out var error);
        if (error is not null)
        {
            _log.Warning("Agent [{0}]: its queued task waits in memory: {1}", slot.Name, error);
        }

        return queued;
    }

    /// <summary>A queued run's task, read back from disk for its start; null when it cannot be (the agent stays stopped, the operator told why).</summary>
    private RunRequest? Unspill(AgentSlot slot, RunRequest request)
    {
        if (QueuedRuns.Unspill(request, out var error) is { } unspilled)
        {
            slot.Unspilled(unspilled);
            return unspilled;
        }

        _services.Gate?.Cancel(slot.Name);
        slot.Forget();
        var reason = $"its queued task could not be read back ({error}); start it again";
        if (slot.StopWaiting(reason))
        {
            Record(slot, LifecycleKind.Stopped, detail: reason);
        }

        _log.Warning("Agent [{0}]: {1}", slot.Name, reason);
        return null;
    }

    /// <summary>The admission gate's answer for a run about to start: null to start it, else why it waits (safety agents never wait).</summary>
    private AdmissionDecision.Queued? Admit(AgentSlot slot, AgentRun run) =>
        _services.Gate?.Admit(slot.Name, run.Provider, _layer.Name == LayerName.Safety, Self) as AdmissionDecision.Queued;

    /// <summary>The gate reserved a place for the agent's queued run: start it, or give the place back when it no longer waits.</summary>
    private void OnGateOpened(GateOpened opened)
    {
        if (Find(opened.Agent) is { Running: false, State: AgentState.Queued } slot && _drainRequester is null)
        {
            StartRun(slot, slot.Next());
            return;
        }

        _services.Gate?.Cancel(opened.Agent);
    }

    /// <summary>Whether the agent's program is there; an agent that became unavailable (or available again) is recorded so.</summary>
    private bool Available(AgentSlot slot)
    {
        if (RunLauncher.Missing(slot.Declared, _services.FindExecutable) is not { } missing)
        {
            slot.Available();
            return true;
        }

        if (slot.Unavailable(missing.Reason, missing.Install))
        {
            Record(slot, LifecycleKind.Unavailable, detail: missing.Reason);
        }

        return false;
    }

    private void OnResume(ResumeAgent cmd)
    {
        if (Find(cmd.Agent) is { Running: false, State: AgentState.Backoff } slot && _drainRequester is null)
        {
            StartRun(slot, slot.Next() with { Task = cmd.Task });
        }
    }

    private void OnRunStarted(RunStarted msg)
    {
        if (Find(msg.Agent) is { } slot && slot.Started(msg.RunId, msg.Pid, msg.At))
        {
            Record(slot, LifecycleKind.Started, pid: msg.Pid, launchedAt: slot.LaunchedAt, by: slot.TakeStartedBy());
            ArmStandby(slot);
            StandbysAfterStarts();
        }
    }

    /// <summary>The run is over and says how: a run that ended by itself is decided now (a crash restarts without waiting for its actor's end).</summary>
    private void OnRunEnded(RunEnded ended)
    {
        if (Find(ended.Agent) is { } slot && !slot.StandbyGone(ended.RunId) && slot.Ended(ended) && slot.DecidableAtExit)
        {
            Conclude(slot, unattributedFailure: null);
        }
    }

    private void OnChildTerminated(ChildTerminated msg)
    {
        if (Find(msg.Agent) is not { } slot || slot.StandbyGone(msg.RunId) || slot.RunId != msg.RunId || !slot.Running)
        {
            return; // decided at its RunEnded already, or a run the layer forgot
        }

        Conclude(slot, _unattributedFailure);
        _unattributedFailure = null;
    }

    private void Conclude(AgentSlot slot, string? unattributedFailure)
    {
        _services.Gate?.Release(slot.Name); // its place goes to the next queued run (or to its own restart)
        var now = Now;
        var run = slot.Conclude(now, unattributedFailure);
        switch (run.End)
        {
            case RunEnd.Misconfigured:
                Record(slot, LifecycleKind.Unavailable, detail: run.Reason);
                _log.Warning("Agent [{0}] cannot run: {1}", slot.Name, run.Reason);
                break;
            case RunEnd.Stopped:
                Record(slot, LifecycleKind.Stopped, exit: run.Exit, detail: run.Reason, by: slot.StoppedBy, restarts: RestartsAfterStop(slot));
                break;
            default:
                OnRunOver(slot, run, now);
                break;
        }

        AfterStopDue(slot);
        DiscardStandby(slot); // not taken by a restart at once: a backoff, a stop, a quarantine
        StandbysAfterStarts(); // a run that ended while starting no longer holds the layer's standbys back
    }

    private void Remove(AgentSlot slot)
    {
        Timers.Cancel(RestartKey(slot));
        DiscardStandby(slot);
        _services.Gate?.Cancel(slot.Name);
        slot.Forget();
        _slots.Remove(slot.Name);
        _order.Remove(slot);
    }

    private static void Stop(AgentSlot slot, string reason, AfterStop then, bool overrides = false, string? by = null) => TellStop(slot, reason, slot.RequestStop(reason, then, overrides, by));

    private static void StopToRestart(AgentSlot slot, string reason) => TellStop(slot, reason, slot.StopToRestart(reason));

    private static void TellStop(AgentSlot slot, string reason, bool running)
    {
        if (running)
        {
            slot.Child!.Tell(new StopRun(reason));
        }
    }

    // ---------------------------------------------------------------- history

    /// <param name="by">Who asked for it (<see cref="Requester"/>); null: the layer's own doing.</param>
    private void Record(AgentSlot slot, LifecycleKind kind, int? pid = null, ExitInfo? exit = null, string? detail = null, DateTimeOffset? launchedAt = null, string? by = null, TimeSpan? uptime = null, bool restarts = false)
    {
        var entry = new AgentLifecycle(slot.Name, kind, Now, slot.RunId, pid, exit?.Code, exit?.Signal, detail, launchedAt, exit?.At, slot.TaskId, slot.ProjectId, by) { Uptime = uptime, Restarts = restarts };
        _services.History.Tell(entry);
        _topics.Publish(entry);
    }

    private sealed record ChildTerminated(string Agent, string RunId);

    private sealed record RestartDue(string Agent, int Generation);
}
