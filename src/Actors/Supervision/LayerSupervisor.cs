using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// Supervises the agents of one layer with OTP semantics: restart type per agent, restart intensity
/// as a sliding window (exceeded: escalate to the fleet), exponential backoff with jitter, crash-loop
/// quarantine, one-for-one or one-for-all. Holds no domain logic: decisions come from
/// <see cref="RestartRules"/>; each run is a <see cref="ProcessActor"/> child named agent-&lt;name&gt;.
/// A failing child is always stopped (never restarted in place); its replacement is a new run, started
/// when the old one's termination arrives, so at most one process of an agent exists at a time.
/// </summary>
public sealed class LayerSupervisor : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly LayerServices _services;
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private LayerSpec _layer;
    private readonly RestartIntensity _intensity;
    private static readonly TimeSpan LimitConfirmWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LimitConfirmCheck = TimeSpan.FromMilliseconds(100);
    private string? _unattributedFailure;
    private IReadOnlyList<ProviderSpec> _providers = [];
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
        Receive<StartAgent>(OnStart);
        Receive<StopAgent>(OnStop);
        Receive<RestartAgent>(OnRestart);
        Receive<ResumeAgent>(OnResume);
        Receive<AgentHint>(OnHint);
        Receive<GetAgents>(_ => Sender.Tell(new AgentsSnapshot(_order.Select(n => Status(_slots[n])).ToList())));
        Receive<DrainLayer>(_ => OnDrain());
        Receive<ProviderLimited>(OnRunLimited);
        Receive<ProviderLimitRecorded>(OnLimitRecorded);
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

    protected override void PostStop() => _topics.Unsubscribe(Self);

    // No retry limit (the layer keeps its own intensity); no Akka failure log: an agent crash is an
    // expected event, logged once, concisely, when the layer handles the run's end.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        cause =>
        {
            // Runs inside this actor while it handles the child's failure: recording here is safe.
            var inner = cause is ActorInitializationException { InnerException: { } e } ? e : cause;
            switch (inner)
            {
                case AgentCrashedException crash when _slots.TryGetValue(crash.Agent, out var slot) && slot.RunId == crash.RunId:
                    slot.Crash = crash.Exit;
                    break;
                case AgentMisconfiguredException bad when _slots.TryGetValue(bad.Agent, out var slot):
                    slot.Misconfigured = bad.Reason;
                    break;
                default:
                    _unattributedFailure = inner.Message;
                    break;
            }

            // Never restart in place: the layer starts a new run when the old one's termination arrives.
            return Directive.Stop;
        },
        false);

    // ---------------------------------------------------------------- reconciliation

    private void OnReconcile(ReconcileLayer msg)
    {
        _layer = msg.Layer;
        _providers = msg.Providers ?? [];
        _intensity.Reconfigure(_layer.MaxRestarts, _layer.Within);
        List<string> started = [], restarted = [], stopped = [], unchanged = [];
        var wanted = msg.Agents.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);

        // a project's instance of an agent stays while its agent is declared
        foreach (var name in _order.Where(n => !wanted.Contains(AgentInstance.BaseOf(n))).ToList())
        {
            var slot = _slots[name];
            stopped.Add(name);
            if (slot.Child is not null)
            {
                slot.RemoveAfterStop = true;
                RequestStop(slot, "removed from the fleet");
            }
            else
            {
                Remove(slot);
            }
        }

        foreach (var spec in msg.Agents)
        {
            var fingerprint = Fingerprint(spec);
            if (!_slots.TryGetValue(spec.Name, out var slot))
            {
                slot = new Slot(spec, fingerprint);
                _slots[spec.Name] = slot;
                _order.Add(spec.Name);
                if (CheckAvailable(slot) && Autostart(spec))
                {
                    StartRun(slot, null);
                    started.Add(spec.Name);
                }

                continue;
            }

            if (slot.Fingerprint == fingerprint)
            {
                unchanged.Add(spec.Name);
                continue;
            }

            restarted.Add(spec.Name);
            if (slot.Child is not null)
            {
                slot.ReplaceWith = (spec, fingerprint);
                slot.RestartAfterStop = true;
                RequestStop(slot, "its declaration changed");
            }
            else
            {
                slot.Replace(spec, fingerprint);
                Timers.Cancel(RestartKey(slot));
                if (CheckAvailable(slot) && slot.State is not AgentState.Quarantined && (Autostart(spec) || slot.State == AgentState.Backoff))
                {
                    StartRun(slot, null);
                }
            }
        }

        // keep declaration order (one-for-all restarts and listings follow it)
        _order.Sort((a, b) => IndexIn(msg.Agents, a).CompareTo(IndexIn(msg.Agents, b)));
        Sender.Tell(new LayerReconciled(_layer.Name, msg.Revision, started, restarted, stopped, unchanged));
    }

    private static int IndexIn(IReadOnlyList<AgentSpec> agents, string name)
    {
        for (var i = 0; i < agents.Count; i++)
        {
            if (agents[i].Name == name)
            {
                return i;
            }
        }

        return int.MaxValue;
    }

    private static string Fingerprint(AgentSpec spec) => JsonSerializer.Serialize(spec with { SourceLine = 0 });

    private bool Autostart(AgentSpec spec) => spec.Autostart ?? _layer.Name == LayerName.Safety;

    private bool CheckAvailable(Slot slot)
    {
        var binary = CliAdapters.RequiredBinary(slot.Spec);
        if (binary is null || binary.Contains('/') || _services.FindExecutable(binary) is not null)
        {
            if (slot.State == AgentState.Unavailable)
            {
                slot.State = AgentState.Stopped;
                slot.Reason = null;
                slot.Install = null;
            }

            return true;
        }

        var info = CliCatalog.Known.GetValueOrDefault(slot.Spec.Cli);
        var reason = $"'{binary}' is not installed";
        if (slot.State != AgentState.Unavailable || slot.Reason != reason)
        {
            Record(slot, LifecycleKind.Unavailable, detail: reason);
        }

        slot.State = AgentState.Unavailable;
        slot.Reason = reason;
        slot.Install = slot.Spec.Command.Count == 0 ? info?.InstallCommand : null;
        return false;
    }

    // ---------------------------------------------------------------- runs

    /// <param name="workdir">The run's working directory instead of the agent's (a compound review's worktree).</param>
    /// <param name="taskId">The task the run works on, carried into every event of the run.</param>
    private void StartRun(Slot slot, string? task, string? workdir = null, string? taskId = null, string? projectId = null)
    {
        slot.LaunchedAt = Now;
        var spec = workdir is null ? slot.Spec : slot.Spec with { Workdir = workdir };
        if (taskId is not null || projectId is not null)
        {
            // the run's own ids in its environment: DF_TASK_ID, DF_PROJECT
            var env = new Dictionary<string, EnvValue>(spec.Env);
            if (taskId is not null)
            {
                env["DF_TASK_ID"] = EnvValue.Literal(taskId);
            }

            if (projectId is not null)
            {
                env["DF_PROJECT"] = EnvValue.Literal(projectId);
            }

            spec = spec with { Env = env };
        }
        var route = RouteOf(spec, task);
        if (route is { Chosen: null })
        {
            WaitForRoute(slot, task, workdir, taskId, projectId, route.Waiting ?? "all providers limited; polling");
            return;
        }

        if (route?.Chosen is { } chosen)
        {
            spec = spec with { Cli = chosen.Cli, Provider = chosen.Provider, Model = chosen.Model };
        }

        var runId = NewRunId();
        var secrets = new List<string>(_services.GlobalSecrets);
        RunLaunch launch;
        try
        {
            if (slot.Hint is { } hint)
            {
                // Nightwatch's corrective hint goes before the task, once
                task = $"{hint}\n\n{task ?? spec.Task}".TrimEnd();
                slot.Hint = null;
            }

            // The provider and model of this run: the route's (set on spec above), else the agent's own,
            // else its CLI's preferred provider; the adapter points the CLI at it.
            var provider = CliAdapters.ProviderFor(spec, _providers);
            launch = CliAdapters.Plan(spec, task, provider, spec.Model, runId, _services.Daemon, _services.Environment, _services.ReadSecretFile, secrets);
        }
        catch (AgentMisconfiguredException e)
        {
            slot.State = AgentState.Unavailable;
            slot.Reason = e.Reason;
            Record(slot, LifecycleKind.Unavailable, detail: e.Reason);
            _log.Warning("Agent [{0}] cannot run: {1}", spec.Name, e.Reason);
            return;
        }

        slot.BeginRun(runId, Now, taskId, projectId);
        slot.Limit = launch.Adapter is null ? null : new RunLimitWatch(launch.Provider);
        var run = new AgentRun(
            spec.Name,
            runId,
            launch.Plan,
            spec.Grace,
            spec.MaxRuntime,
            _services.Logs.For(spec.Name),
            secrets.Count == 0 ? Redactor.None : new Redactor(secrets),
            CliAdapters.Classifier(spec.Cli),
            _services.Sweeper)
        {
            Events = launch.Adapter is { } adapter ? new RunEvents(adapter, spec.Name, runId, launch.Provider, launch.Model, taskId, projectId) : null,
            TaskId = taskId,
            ProjectId = projectId,
        };
        var child = Context.ActorOf(ProcessActor.Props(run), "agent-" + spec.Name);
        Context.WatchWith(child, new ChildTerminated(spec.Name, runId));
        slot.Child = child;
        if (route?.Chosen is { } taken)
        {
            _services.Router?.Tell(RouteChosen.Of(spec.Name, runId, taken, Now, taskId, projectId));
        }
    }

    /// <summary>The route of an AI agent's run (pure policy against the router's published board); null: run as declared.</summary>
    private RouteDecision? RouteOf(AgentSpec spec, string? task) =>
        spec.Cli == CliCatalog.Command || _services.Routes is null ? null : _services.Routes.Decide(task ?? spec.Task ?? string.Empty, spec);

    /// <summary>No provider can take the run now: the agent waits (backoff) and the router resumes it when one returns.</summary>
    private void WaitForRoute(Slot slot, string? task, string? workdir, string? taskId, string? projectId, string reason)
    {
        slot.State = AgentState.Backoff;
        slot.Reason = reason;
        slot.NextTask = task;
        slot.NextWorkdir = workdir;
        slot.NextTaskId = taskId;
        slot.NextProjectId = projectId;
        slot.NextRestartAt = null;
        _log.Warning("Agent [{0}] waits for a provider: {1}", slot.Spec.Name, reason);
        _services.Router?.Tell(new AwaitRoute(slot.Spec.Name, task, reason));
    }

    private void OnResume(ResumeAgent cmd)
    {
        if (_slots.TryGetValue(cmd.Agent, out var slot) && slot.Child is null && slot.State == AgentState.Backoff && _drainRequester is null)
        {
            StartRun(slot, cmd.Task, slot.NextWorkdir, slot.NextTaskId, slot.NextProjectId);
        }
    }

    private static string NewRunId() => Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));

    private void OnRunStarted(RunStarted msg)
    {
        if (!_slots.TryGetValue(msg.Agent, out var slot) || slot.RunId != msg.RunId)
        {
            return;
        }

        slot.Pid = msg.Pid;
        slot.StartedAt = msg.At;
        if (slot.State == AgentState.Starting)
        {
            slot.State = AgentState.Running;
        }

        Record(slot, LifecycleKind.Started, pid: msg.Pid, launchedAt: slot.LaunchedAt, by: slot.StartedBy);
        slot.StartedBy = null; // a restart after this run ends is the layer's own
    }

    private void OnRunEnded(RunEnded msg)
    {
        if (_slots.TryGetValue(msg.Agent, out var slot) && slot.RunId == msg.RunId)
        {
            slot.Ended = msg;
        }
    }

    private void OnChildTerminated(ChildTerminated msg)
    {
        if (!_slots.TryGetValue(msg.Agent, out var slot) || slot.RunId != msg.RunId)
        {
            return;
        }

        slot.Child = null;
        slot.Pid = null;
        var now = Now;
        var uptime = slot.StartedAt is { } at ? now - at : TimeSpan.Zero;
        var failure = _unattributedFailure;
        _unattributedFailure = null;
        var exit = slot.Ended?.Exit ?? slot.Crash ?? new ExitInfo(-1, null, now, failure ?? "the run's actor stopped unexpectedly");
        slot.LastExit = exit;

        if (slot.Misconfigured is { } bad)
        {
            slot.State = AgentState.Unavailable;
            slot.Reason = bad;
            Record(slot, LifecycleKind.Unavailable, detail: bad);
            _log.Warning("Agent [{0}] cannot run: {1}", slot.Spec.Name, bad);
            AfterRunOver(slot);
            return;
        }

        if (slot.StopRequested is { } why)
        {
            Record(slot, LifecycleKind.Stopped, exit: exit, detail: why, by: slot.StoppedBy);
            slot.State = AgentState.Stopped;
            slot.Reason = why;
            AfterRunOver(slot);
            return;
        }

        var timedOut = slot.Ended?.TimedOut == true;
        var abnormal = slot.Ended is null;
        if (abnormal)
        {
            _log.Warning("Agent [{0}] run [{1}] crashed: {2}", slot.Spec.Name, msg.RunId, AgentCrashedException.Describe(exit));
        }

        Record(slot, abnormal ? LifecycleKind.Crashed : timedOut ? LifecycleKind.Killed : LifecycleKind.Exited, exit: exit, detail: exit.Reason);
        var decision = RestartRules.Decide(
            slot.Spec.Restart ?? _layer.DefaultRestart, abnormal, uptime, slot.ConsecutiveCrashes, _layer, _intensity, now, _services.Random());
        slot.ConsecutiveCrashes = decision.ConsecutiveCrashes;
        switch (decision.Action)
        {
            case RestartAction.None:
                slot.State = abnormal || timedOut ? AgentState.Stopped : AgentState.Completed;
                slot.Reason = timedOut ? exit.Reason : abnormal ? decision.Reason : null;
                break;
            case RestartAction.Quarantine:
                slot.State = AgentState.Quarantined;
                slot.Reason = decision.Reason;
                Record(slot, LifecycleKind.Quarantined, detail: decision.Reason);
                _log.Warning("Agent [{0}] quarantined: {1}", slot.Spec.Name, decision.Reason);
                break;
            case RestartAction.Escalate:
                slot.State = AgentState.Stopped;
                Record(slot, LifecycleKind.Escalated, detail: decision.Reason);
                throw new LayerIntensityExceededException(_layer.Name, decision.Reason);
            case RestartAction.Restart:
                slot.Restarts++;
                if (abnormal && _layer.Strategy == StrategyKind.OneForAll)
                {
                    RestartSiblings(slot);
                }

                ScheduleRestart(slot, decision.Delay, decision.Reason);
                break;
        }

        AfterRunOver(slot);
    }

    private void RestartSiblings(Slot crashed)
    {
        foreach (var name in _order)
        {
            var sibling = _slots[name];
            if (sibling != crashed && sibling.Child is not null)
            {
                sibling.RestartAfterStop = true;
                sibling.Restarts++;
                RequestStop(sibling, $"one-for-all: {crashed.Spec.Name} crashed");
            }
        }
    }

    private void ScheduleRestart(Slot slot, TimeSpan delay, string reason)
    {
        Record(slot, LifecycleKind.Restarting, detail: delay > TimeSpan.Zero ? $"{reason}; restarting in {delay.TotalMilliseconds:0} ms" : reason);
        slot.LimitConfirmBy = slot.Limit is { ReportedLimit: true } ? Now + delay + LimitConfirmWait : null;
        if (delay <= TimeSpan.Zero && !AwaitsLimitConfirmation(slot))
        {
            StartRun(slot, slot.NextTask, slot.NextWorkdir, slot.NextTaskId, slot.NextProjectId);
            return;
        }

        slot.State = AgentState.Backoff;
        slot.NextRestartAt = Now + delay;
        Timers.StartSingleTimer(RestartKey(slot), new RestartDue(slot.Spec.Name, slot.Generation), delay);
    }

    private static string RestartKey(Slot slot) => "restart-" + slot.Spec.Name;

    private void OnRestartDue(RestartDue due)
    {
        if (_slots.TryGetValue(due.Agent, out var slot) && slot.Generation == due.Generation && slot.State == AgentState.Backoff && slot.Child is null)
        {
            if (AwaitsLimitConfirmation(slot))
            {
                Timers.StartSingleTimer(RestartKey(slot), due, LimitConfirmCheck);
                return;
            }

            StartRun(slot, slot.NextTask, slot.NextWorkdir, slot.NextTaskId, slot.NextProjectId);
        }
    }

    /// <summary>Whatever was waiting for this run to end: a replacement spec, a restart, removal, a drain.</summary>
    private void AfterRunOver(Slot slot)
    {
        if (slot.RemoveAfterStop || (slot is { Instance: true, RestartAfterStop: false, Child: null } && slot.State != AgentState.Backoff))
        {
            Remove(slot); // a project's instance goes when its run is over
        }
        else if (slot.ReplaceWith is { } replacement)
        {
            slot.Replace(replacement.Spec, replacement.Fingerprint);
            slot.ReplaceWith = null;
            slot.RestartAfterStop = false;
            if (_drainRequester is null && CheckAvailable(slot))
            {
                StartRun(slot, null);
            }
        }
        else if (slot.RestartAfterStop)
        {
            slot.RestartAfterStop = false;
            if (_drainRequester is null && CheckAvailable(slot))
            {
                StartRun(slot, slot.NextTask, slot.NextWorkdir, slot.NextTaskId, slot.NextProjectId);
            }
        }

        CheckDrained();
    }

    private void CheckDrained()
    {
        if (_drainRequester is not null && _slots.Values.All(s => s.Child is null))
        {
            _drainRequester.Tell(new LayerDrained(_layer.Name));
            _drainRequester = null;
        }
    }

    private void Remove(Slot slot)
    {
        Timers.Cancel(RestartKey(slot));
        _slots.Remove(slot.Spec.Name);
        _order.Remove(slot.Spec.Name);
    }

    private void RequestStop(Slot slot, string reason)
    {
        if (slot.Child is null)
        {
            return;
        }

        slot.StopRequested ??= reason;
        slot.State = AgentState.Stopping;
        slot.Child.Tell(new StopRun(reason));
    }

    // ---------------------------------------------------------------- early stop on a rate limit

    /// <summary>A run reported a rate limit (adapter or Nightwatch): stop it if the router already holds its provider limited.</summary>
    private void OnRunLimited(ProviderLimited limited)
    {
        if (_slots.TryGetValue(limited.Agent, out var slot) && slot.RunId == limited.RunId && slot is { Child: not null, StopRequested: null, Limit: { } watch })
        {
            var condition = watch.Provider is { } p ? _services.Routes?.Board.Of(p) : null;
            if (watch.Reported(limited, condition, Now) is { } reason)
            {
                StopOnLimit(slot, reason);
            }
        }
    }

    /// <summary>The router marked a provider limited: stop the runs on it that reported the limit themselves.</summary>
    private void OnLimitRecorded(ProviderLimitRecorded recorded)
    {
        var now = Now;
        foreach (var name in _order)
        {
            var slot = _slots[name];
            if (slot is { Child: not null, StopRequested: null, Limit: { } watch } && watch.Recorded(recorded, now) is { } reason)
            {
                StopOnLimit(slot, reason);
            }
        }
    }

    /// <summary>
    /// The run ended by itself after reporting a limit (a CLI that gives up on a 429 at once) and the router
    /// has not marked the provider yet: its restart waits for that (a little), or it would be routed straight
    /// back to the limited provider.
    /// </summary>
    private bool AwaitsLimitConfirmation(Slot slot) =>
        slot is { Limit: { ReportedLimit: true, Provider: { } provider }, LimitConfirmBy: { } by } &&
        Now < by &&
        _services.Routes is { } routes &&
        routes.Board.Of(provider).State != ProviderState.Limited;

    /// <summary>Graceful stop, then a new run of the same task: its route skips the limited provider (or waits, polling).</summary>
    private void StopOnLimit(Slot slot, string reason)
    {
        _log.Warning("Agent [{0}] run [{1}]: {2}", slot.Spec.Name, slot.RunId, reason);
        slot.RestartAfterStop = !slot.Instance; // a project routes its next run itself
        slot.Restarts++;
        RequestStop(slot, reason);
    }

    // ---------------------------------------------------------------- operator commands

    private void OnStart(StartAgent cmd)
    {
        if (!_slots.TryGetValue(cmd.Agent, out var slot))
        {
            if (!AgentInstance.IsInstance(cmd.Agent) || !_slots.TryGetValue(AgentInstance.BaseOf(cmd.Agent), out var declared) || declared.Instance)
            {
                Sender.Tell(CommandResult.Refused(CommandOutcome.UnknownAgent, $"unknown agent '{cmd.Agent}'"));
                return;
            }

            // a project's run: its instance of the agent (a slot of its own, no restarts: the project retries)
            slot = InstanceOf(declared, cmd.Agent);
        }

        if (slot.Child is not null)
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.AlreadyRunning, $"agent '{slot.Spec.Name}' is already running (run {slot.RunId})") with { RunId = slot.RunId });
            return;
        }

        if (slot.State == AgentState.Quarantined)
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.Quarantined, $"agent '{cmd.Agent}' is quarantined ({slot.Reason}); release it with: df restart {cmd.Agent}"));
            return;
        }

        if (!CheckAvailable(slot))
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.Unavailable, $"agent '{cmd.Agent}' is unavailable: {slot.Reason}{(slot.Install is null ? string.Empty : $"; install it with: {slot.Install}")}"));
            return;
        }

        Timers.Cancel(RestartKey(slot));
        slot.NextTask = cmd.Task;
        slot.NextWorkdir = cmd.Workdir;
        slot.NextTaskId = cmd.TaskId;
        slot.NextProjectId = cmd.ProjectId;
        slot.StartedBy = cmd.By;
        StartRun(slot, cmd.Task, cmd.Workdir, cmd.TaskId, cmd.ProjectId);
        Sender.Tell(slot.Child is not null
            ? CommandResult.Done(CommandOutcome.Started, $"agent '{cmd.Agent}' started", slot.RunId)
            : slot.State == AgentState.Backoff
                ? CommandResult.Done(CommandOutcome.WaitingForProvider, $"agent '{cmd.Agent}' waits for a provider ({slot.Reason}); it starts when one returns")
                : CommandResult.Refused(CommandOutcome.Unavailable, $"agent '{cmd.Agent}' cannot run: {slot.Reason}"));
    }

    /// <summary>A new slot for a project's instance of a declared agent (<see cref="AgentInstance"/>): its declaration, never restarted.</summary>
    private Slot InstanceOf(Slot declared, string name)
    {
        var slot = new Slot(declared.Spec with { Name = name, Restart = RestartType.Temporary, Autostart = false }, declared.Fingerprint) { Instance = true };
        _slots[name] = slot;
        _order.Add(name);
        return slot;
    }

    private void OnHint(AgentHint cmd)
    {
        if (!_slots.TryGetValue(cmd.Agent, out var slot))
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.UnknownAgent, $"unknown agent '{cmd.Agent}'"));
            return;
        }

        slot.Hint = cmd.Hint;
        Sender.Tell(CommandResult.Done(CommandOutcome.HintRecorded, $"hint recorded for the next run of '{cmd.Agent}'"));
    }

    private void OnStop(StopAgent cmd)
    {
        if (!_slots.TryGetValue(cmd.Agent, out var slot))
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.UnknownAgent, $"unknown agent '{cmd.Agent}'"));
            return;
        }

        Timers.Cancel(RestartKey(slot));
        slot.RestartAfterStop = false;
        var stopped = "stopped " + Requester.By(cmd.By);
        slot.StoppedBy = cmd.By;
        if (slot.Child is not null)
        {
            slot.StopRequested = stopped;
            RequestStop(slot, stopped);
            Sender.Tell(CommandResult.Done(CommandOutcome.Stopping, $"agent '{cmd.Agent}' is stopping (grace {slot.Spec.Grace.TotalSeconds:0.#} s)", slot.RunId));
            return;
        }

        if (slot.State == AgentState.Backoff)
        {
            slot.State = AgentState.Stopped;
            slot.Reason = stopped;
            slot.NextRestartAt = null;
            Record(slot, LifecycleKind.Stopped, detail: slot.Reason, by: cmd.By);
        }

        Sender.Tell(CommandResult.Done(CommandOutcome.NotRunning, $"agent '{cmd.Agent}' is not running"));
    }

    private void OnRestart(RestartAgent cmd)
    {
        if (!_slots.TryGetValue(cmd.Agent, out var slot))
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.UnknownAgent, $"unknown agent '{cmd.Agent}'"));
            return;
        }

        Timers.Cancel(RestartKey(slot));
        if (slot.State == AgentState.Quarantined)
        {
            Record(slot, LifecycleKind.Released, detail: "released " + Requester.By(cmd.By), by: cmd.By);
        }

        slot.ConsecutiveCrashes = 0;
        slot.StartedBy = cmd.By;
        if (slot.Child is not null)
        {
            var restarted = "restarted " + Requester.By(cmd.By);
            slot.RestartAfterStop = true;
            slot.StoppedBy = cmd.By;
            slot.StopRequested = restarted;
            RequestStop(slot, restarted);
            Sender.Tell(CommandResult.Done(CommandOutcome.Restarting, $"agent '{cmd.Agent}' is restarting", slot.RunId));
            return;
        }

        if (!CheckAvailable(slot))
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.Unavailable, $"agent '{cmd.Agent}' is unavailable: {slot.Reason}{(slot.Install is null ? string.Empty : $"; install it with: {slot.Install}")}"));
            return;
        }

        StartRun(slot, slot.NextTask, slot.NextWorkdir, slot.NextTaskId, slot.NextProjectId);
        Sender.Tell(slot.Child is not null
            ? CommandResult.Done(CommandOutcome.Started, $"agent '{cmd.Agent}' started", slot.RunId)
            : CommandResult.Refused(slot.State == AgentState.Backoff ? CommandOutcome.WaitingForProvider : CommandOutcome.Unavailable, $"agent '{cmd.Agent}' cannot run: {slot.Reason}"));
    }

    private void OnDrain()
    {
        _drainRequester = Sender;
        foreach (var slot in _slots.Values)
        {
            Timers.Cancel(RestartKey(slot));
            slot.RestartAfterStop = false;
            slot.ReplaceWith = null;
            if (slot.State == AgentState.Backoff)
            {
                slot.State = AgentState.Stopped;
            }

            RequestStop(slot, "daemon shutting down");
        }

        CheckDrained();
    }

    // ---------------------------------------------------------------- status and history

    private AgentStatus Status(Slot slot) => new()
    {
        Agent = slot.Spec.Name,
        Layer = _layer.Name,
        State = slot.State,
        Cli = slot.Spec.Cli,
        Pid = slot.Pid,
        RunId = slot.RunId,
        Restarts = slot.Restarts,
        LastExit = slot.LastExit,
        StartedAt = slot.Child is null ? null : slot.StartedAt,
        Reason = slot.Reason,
        Install = slot.Install,
        NextRestartAt = slot.State == AgentState.Backoff ? slot.NextRestartAt : null,
    };

    private void Record(Slot slot, LifecycleKind kind, int? pid = null, ExitInfo? exit = null, string? detail = null, DateTimeOffset? launchedAt = null, string? by = null)
    {
        var entry = new AgentLifecycle(slot.Spec.Name, kind, Now, slot.RunId, pid, exit?.Code, exit?.Signal, detail, launchedAt, exit?.At, slot.TaskId, slot.ProjectId, by);
        _services.History.Tell(entry);
        _topics.Publish(entry);
    }

    private sealed record ChildTerminated(string Agent, string RunId);

    private sealed record RestartDue(string Agent, int Generation);

    /// <summary>The layer's bookkeeping for one agent.</summary>
    private sealed class Slot(AgentSpec spec, string fingerprint)
    {
        public AgentSpec Spec { get; private set; } = spec;
        public string Fingerprint { get; private set; } = fingerprint;
        public AgentState State { get; set; } = AgentState.Stopped;
        public string? RunId { get; private set; }
        public int? Pid { get; set; }
        public DateTimeOffset? StartedAt { get; set; }

        /// <summary>When the current run's launch began (route, plan, spawn): the start of its trace.</summary>
        public DateTimeOffset? LaunchedAt { get; set; }
        public int Restarts { get; set; }
        public ExitInfo? LastExit { get; set; }
        public int ConsecutiveCrashes { get; set; }
        public string? Reason { get; set; }
        public string? Install { get; set; }
        public DateTimeOffset? NextRestartAt { get; set; }
        public IActorRef? Child { get; set; }
        public int Generation { get; private set; }
        public string? NextTask { get; set; }

        /// <summary>A project's instance of a declared agent (removed when its run is over; never restarted by the layer).</summary>
        public bool Instance { get; init; }

        /// <summary>The task and project ids of the last on-demand start (kept for its restarts, like its task).</summary>
        public string? NextTaskId { get; set; }

        public string? NextProjectId { get; set; }

        /// <summary>The task and project ids of the current (or last) run: every event of the run carries them.</summary>
        public string? TaskId { get; private set; }

        public string? ProjectId { get; private set; }

        /// <summary>The working directory of the last on-demand start (kept for its restarts).</summary>
        public string? NextWorkdir { get; set; }

        /// <summary>Nightwatch's corrective hint, prepended to the next run's task.</summary>
        public string? Hint { get; set; }

        /// <summary>Early stop on a rate limit of the current AI run's provider; null for plain commands.</summary>
        public RunLimitWatch? Limit { get; set; }

        /// <summary>Until when a restart after a reported limit waits for the router to mark it.</summary>
        public DateTimeOffset? LimitConfirmBy { get; set; }

        // outcome of the current run and what waits for its end
        public RunEnded? Ended { get; set; }
        public ExitInfo? Crash { get; set; }
        public string? Misconfigured { get; set; }
        public string? StopRequested { get; set; }

        /// <summary>Who asked for the run about to start, and who asked for the current run's stop (<see cref="Requester"/>).</summary>
        public string? StartedBy { get; set; }
        public string? StoppedBy { get; set; }
        public bool RestartAfterStop { get; set; }
        public bool RemoveAfterStop { get; set; }
        public (AgentSpec Spec, string Fingerprint)? ReplaceWith { get; set; }

        public void BeginRun(string runId, DateTimeOffset now, string? taskId, string? projectId)
        {
            RunId = runId;
            TaskId = taskId;
            ProjectId = projectId;
            Generation++;
            State = AgentState.Starting;
            StartedAt = now;
            Pid = null;
            Reason = null;
            NextRestartAt = null;
            Ended = null;
            Crash = null;
            Misconfigured = null;
            StopRequested = null;
            StoppedBy = null;
        }

        public void Replace(AgentSpec spec, string fingerprint)
        {
            Spec = spec;
            Fingerprint = fingerprint;
        }
    }
}
