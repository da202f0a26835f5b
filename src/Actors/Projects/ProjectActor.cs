using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Projects;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// One project (persistence id <c>project-&lt;id&gt;</c>), a child of the <see cref="ProjectsActor"/> registry.
/// Event-sourced like the compound review: every step's outcome is persisted and the next step is derived from
/// the recorded state alone (<see cref="ProjectRules.Next"/>), so a daemon killed at any point resumes where the
/// journal stopped — no completed task runs again, and the commit intent (with a trailer git can find) is
/// recorded before the commit, so nothing is committed twice. Runs go through the factory
/// (<see cref="StartAgent"/> with the worktree as workdir, the task and project ids, the composed prompt); their
/// output, usage, route and end come back on the topics (routed here by the registry). Git, gates, report and
/// forge work run in tasks that answer with a message.
/// </summary>
public sealed class ProjectActor : PersistentActorBase
{
    private const string DeadlineKey = "deadline";
    private const string RetryKey = "retry";
    private static readonly TimeSpan MaxTimer = TimeSpan.FromHours(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly string _id;
    private readonly IActorRef _factory;
    private readonly IActorRef _registry;
    private readonly ProjectSettings _settings;
    private readonly ProjectRunLedger _runs = new();

    private ProjectState? _state;
    private FleetSpec? _fleet;
    private PersonaCatalog _personas = PersonaCatalog.Empty;
    private Redactor _secrets = Redactor.None;
    private bool _slot;
    private bool _recovered;
    private bool _draining;
    private bool _busy;
    private int _generation; // of the step or start in flight; answers of older ones are dropped
    private CancellationTokenSource? _work;
    private int _startAttempts;
    private ProjectRunRequest? _pending; // a start asked of the fleet, or waiting for a route (waiting_for_credits)
    private bool _queuedStart; // _pending waits in the fleet's admission queue
    private string? _stopping; // why the project stopped its own run (pause, timeout): its end is an interruption
    private (IActorRef To, ProjectCommandOutcome Outcome, string Message)? _reply; // a start or resume waiting for its slot

    public ProjectActor(string projectId, IActorRef factory, IActorRef registry, ProjectSettings settings)
        : base("project-" + projectId, settings.SnapshotEvery, settings.Clock)
    {
        _id = projectId;
        _factory = factory;
        _registry = registry;
        _settings = settings;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ProjectState state)
            {
                _state = state;
            }
        });
        Recover<IProjectEvent>(e => _state = ProjectStateRules.Apply(_state, e));

        Command<CreateProject>(OnCreate);
        Command<ApplyFleet>(OnFleet);
        Command<StartProject>(OnStart);
        Command<PauseProject>(OnPause);
        Command<ResumeProject>(OnResume);
        Command<GetProjectState>(q => Sender.Tell(new ProjectStateFound(q.Project, _state)));
        Command<SlotGranted>(_ => OnSlotGranted());
        Command<SlotQueued>(OnSlotQueued);
        Command<AddChild>(m => Record(new ProjectChildAdded(_id, Now, m.ChildId)));
        Command<AgentLifecycle>(OnLifecycle);
        Command<AgentOutput>(m => _runs.Output(m, _state?.CurrentRunId));
        Command<AgentUsage>(m => _runs.Usage(m, _state?.CurrentRunId, _fleet));
        Command<RouteChosen>(m => _runs.Route(m, _state?.CurrentRunId));
        Command<StartAnswered>(OnStartAnswered);
        Command<StepResult>(OnStepResult);
        Command<Tick>(_ => Next());
        Command<DrainFleet>(_ =>
        {
            // shutdown: the drain stops the project's run; that is an interruption, resumed after the restart
            _draining = true;
            Timers.CancelAll();
        });
    }

    /// <param name="factory">Where StartAgent, StopAgent and RouteTask go.</param>
    /// <param name="registry">The <see cref="ProjectsActor"/> (slots of projects.concurrency).</param>
    public static Props Props(string projectId, IActorRef factory, IActorRef registry, ProjectSettings settings) =>
        Akka.Actor.Props.Create(() => new ProjectActor(projectId, factory, registry, settings));

    private ProjectState State => _state!;

    private bool WantsToRun => _state is { } s && (s.StartRequested || s.Status is ProjectStatus.Active or ProjectStatus.WaitingForCredits);

    protected override void PostStop()
    {
        _work?.Cancel();
        _work?.Dispose();
        base.PostStop();
    }

    protected override void OnReplaySuccess()
    {
        if (_state is null)
        {
            return; // a new project: CreateProject comes next
        }

        _settings.Views.Tell(new ProjectStateChanged(_state));
        _recovered = true;
        if (WantsToRun)
        {
            _log.Info("Project {0} recovered: {1}, resuming at {2}", _id, _state.Status, ProjectRules.Next(_state, Now).Step);
            _registry.Tell(new RequestSlot(_id));
        }
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "Project {0} could not be recovered", _id);
        base.OnRecoveryFailure(reason, message);
    }

    // ---------------------------------------------------------------- state

    private void Record(IProjectEvent e, Action? after = null)
    {
        Persist(e, persisted =>
        {
            Applied(persisted);
            after?.Invoke();
        });
    }

    /// <summary>
    /// Records a step's outcome with the pure steps that follow it (<see cref="ProjectRules.WithPureSteps"/>) in one
    /// write, then goes on. Only when the project may step now; otherwise the event alone (the rest waits for Next).
    /// </summary>
    private void Advance(IProjectEvent e, Action? first = null)
    {
        IReadOnlyList<IProjectEvent> events = CanStep ? ProjectRules.WithPureSteps(_state, e, Now) : [e];
        var last = events[^1];
        PersistAll(events, persisted =>
        {
            Applied(persisted);
            if (ReferenceEquals(persisted, last))
            {
                first?.Invoke();
                Next();
            }
        });
    }

    private void Applied(IProjectEvent persisted)
    {
        _state = ProjectStateRules.Apply(_state, persisted);
        _settings.Views.Tell(new ProjectStateChanged(_state));
        SnapshotWhenDue(() => _state);
        _topics.Publish(persisted);
    }

    /// <summary>Whether <see cref="Next"/> would take a step now: nothing in flight, the fleet known, the slot held.</summary>
    private bool CanStep =>
        !_busy && _pending is null && _fleet is not null && !_draining && _state is { } s
        && (_slot || s.Status is not (ProjectStatus.Active or ProjectStatus.WaitingForCredits));

    private ProjectView View() => ProjectViews.Status(State, Now);

    private void Answer(IActorRef to, bool ok, ProjectCommandOutcome outcome, string message) =>
        to.Tell(new ProjectCommandResult(ok, outcome, message, _state is null ? null : View()));

    // ---------------------------------------------------------------- commands

    private void OnCreate(CreateProject m)
    {
        if (_state is not null)
        {
            m.ReplyTo.Tell(new ProjectCommandResult(false, ProjectCommandOutcome.Invalid, $"project {_id} exists already"));
            return;
        }

        Record(m.Created, () => Answer(m.ReplyTo, true, ProjectCommandOutcome.Created, $"project {_id} created: branch {m.Created.WorkBranch} in {m.Created.Worktree}"));
    }

    private void OnFleet(ApplyFleet m)
    {
        var first = _fleet is null;
        _fleet = m.Fleet;
        _personas = new PersonaCatalog(m.Fleet.Projects.Personas);
        _secrets = new Redactor(FleetSecrets.Of(m.Fleet, _settings.Environment, LayerServices.ReadFile));
        if (first)
        {
            Next();
        }
    }

    private void OnStart(StartProject cmd)
    {
        if (_state is not { } s)
        {
            Answer(Sender, false, ProjectCommandOutcome.NotFound, $"no project '{cmd.Project}'");
            return;
        }

        Carry(Sender, ProjectCommands.Start(s));
    }

    private void OnResume(ResumeProject cmd) => Carry(Sender, ProjectCommands.Resume(State, cmd.Extend, Now));

    private void OnPause(PauseProject cmd) => Carry(Sender, ProjectCommands.Pause(State));

    /// <summary>Carries out an operator's command as <see cref="ProjectCommands"/> decided it.</summary>
    private void Carry(IActorRef to, ProjectCommandDecision d)
    {
        switch (d.Action)
        {
            case ProjectCommandAction.Answer:
                Answer(to, d.Ok, d.Outcome, d.Message);
                return;
            case ProjectCommandAction.Extend:
                Record(new ProjectStartRequested(_id, Now, d.Extend), () =>
                {
                    Answer(to, true, d.Outcome, d.Message);
                    Next();
                });
                return;
            case ProjectCommandAction.Request:
                // the requester hears back when the slot is granted or queued
                Record(new ProjectStartRequested(_id, Now, d.Extend), () =>
                {
                    _reply = (to, d.Outcome, d.Message);
                    _registry.Tell(new RequestSlot(_id));
                });
                return;
            case ProjectCommandAction.Pause:
                Record(new ProjectPaused(_id, Now, "paused by the operator"), () =>
                {
                    StopRun("paused");
                    Release();
                    Answer(to, true, d.Outcome, ProjectCommands.Paused(State));
                });
                return;
        }
    }

    private void OnSlotGranted()
    {
        _slot = true;
        if (_state is not { } s || !WantsToRun)
        {
            Release(); // paused meanwhile
            return;
        }

        if (s.StartRequested)
        {
            Record(new ProjectActivated(_id, Now), () =>
            {
                if (_reply is { } r)
                {
                    Answer(r.To, true, r.Outcome, r.Message);
                    _reply = null;
                }

                Next();
            });
            return;
        }

        if (_recovered && s.CurrentRunId is { } run)
        {
            // the run died with the daemon (its processes were swept at start): its attempt continues in a new run
            _recovered = false;
            Record(new ProjectRunEnded(_id, Now, run, ProjectRunOutcome.Interrupted, Detail: "the daemon restarted while it ran"), Next);
            return;
        }

        _recovered = false;
        Next();
    }

    private void OnSlotQueued(SlotQueued m)
    {
        _slot = false;
        if (_reply is { } r)
        {
            Answer(r.To, true, ProjectCommandOutcome.Queued, $"{r.Message}: queued behind {m.Ahead} project(s) (projects.concurrency = {m.Concurrency})");
            _reply = null;
        }
    }

    private void Release()
    {
        _slot = false;
        _registry.Tell(new ReleaseSlot(_id));
    }

    // ---------------------------------------------------------------- runs

    private sealed record StartAnswered(int Generation, ProjectRunRequest Run, CommandResult? Result, string? Error);

    private void StartRun(ProjectRunPurpose purpose, string personaName, ProjectTask? task = null, TaskAttempt? open = null)
    {
        var s = State;
        var (run, error) = ProjectRunPlanner.Compose(s, purpose, personaName, _personas, _fleet!.Projects, task, open);
        if (run is null)
        {
            Fail(error!);
            return;
        }

        _pending = run;
        _queuedStart = false;
        var generation = ++_generation;
        ProjectFleet.StartAsync(_factory, run, s.Created.Worktree, _id, _settings.AskTimeout)
            .PipeTo(Self, success: r => new StartAnswered(generation, r.Run, r.Result, r.Error));
    }

    private void OnStartAnswered(StartAnswered a)
    {
        if (a.Generation != _generation || _pending is null || _state is not { } s || !WantsToRun)
        {
            if (a.Result is { Outcome: CommandOutcome.Started or CommandOutcome.WaitingForProvider or CommandOutcome.Queued })
            {
                _factory.Tell(new StopAgent(AgentInstance.Of(a.Run.Agent, _id))); // a start nobody waits for (paused meanwhile)
            }

            return;
        }

        if (a.Error is { } error)
        {
            _pending = null;
            Fail(error);
            return;
        }

        var result = a.Result!;
        switch (result.Outcome)
        {
            case CommandOutcome.Started or CommandOutcome.AlreadyRunning when result.RunId is { } runId:
                RunStarted(a.Run, runId);
                return;
            case CommandOutcome.Queued:
                _pending = a.Run; // a declared limit holds it; the layer starts it when a place frees (its Started event says so)
                _queuedStart = true;
                _log.Info("Project {0}: the run of {1} is queued: {2}", _id, a.Run.Agent, result.Message);
                return;
            case CommandOutcome.WaitingForProvider:
                _pending = a.Run;
                if (s.Status != ProjectStatus.WaitingForCredits)
                {
                    _log.Info("Project {0} waits for credits: {1}", _id, result.Message);
                    Record(new ProjectWaitingForCredits(_id, Now, result.Message, a.Run.TaskId));
                }

                return;
            case CommandOutcome.UnknownAgent or CommandOutcome.Unavailable or CommandOutcome.Quarantined:
                _pending = null;
                Fail($"{a.Run.Persona.Name}'s agent '{a.Run.Agent}' cannot run: {result.Message}");
                return;
        }

        // the layer is restarting, busy or did not answer: ask again a little later
        _pending = null;
        if (++_startAttempts >= _settings.StartAttempts)
        {
            Fail($"the fleet did not start {a.Run.Agent} after {_startAttempts} tries; the last answer: {result.Message}");
            return;
        }

        Timers.StartSingleTimer(RetryKey, new Tick(), _settings.StartRetryDelay);
    }

    private void RunStarted(ProjectRunRequest run, string runId)
    {
        _runs.Open(runId, State.CurrentRunId);
        if (State.Status == ProjectStatus.WaitingForCredits)
        {
            Record(new ProjectActivated(_id, Now));
        }

        Record(
            new ProjectRunStarted(_id, Now, runId, run.Purpose, AgentInstance.Of(run.Agent, _id), run.Persona.Name, run.Task?.Id, run.Attempt, run.Handoff),
            () =>
            {
                _pending = null;
                _queuedStart = false;
                _startAttempts = 0;
                CheckRunEnded();
            });
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (e.RunId is null)
        {
            return;
        }

        if (e.Kind == LifecycleKind.Started)
        {
            // waiting for credits: the layer started the run itself when the router found a route
            if (_pending is { } p && (_state?.Status == ProjectStatus.WaitingForCredits || _queuedStart) && e.TaskId == p.TaskId)
            {
                RunStarted(p, e.RunId);
            }

            return;
        }

        if (_runs.Ended(e))
        {
            CheckRunEnded(); // an end that overtakes its start's answer waits in the ledger
        }
    }

    /// <summary>When the current run has ended: record its outcome with what the daemon read from it.</summary>
    private void CheckRunEnded()
    {
        if (_state is null || _runs.TakeEnd(_state, _stopping is not null || _draining, _fleet, Now) is not { } taken)
        {
            return;
        }

        var (ended, agent) = taken;
        if (ended.Outcome == ProjectRunOutcome.Unavailable)
        {
            Record(ended, () =>
            {
                _stopping = null;
                Fail($"agent '{agent}' could not run: {ended.Detail}");
            });
            return;
        }

        Advance(ended, () => _stopping = null);
    }

    /// <summary>Stops the project's run (or the start it waits for) gracefully; its end is recorded as an interruption.</summary>
    private void StopRun(string why)
    {
        if (_pending is { } pending)
        {
            _pending = null;
            _generation++;
            if (pending.Agent.Length > 0)
            {
                _factory.Tell(new StopAgent(AgentInstance.Of(pending.Agent, _id)));
            }
        }

        if (State.CurrentRun() is { } run)
        {
            _stopping = why;
            _factory.Tell(new StopAgent(AgentInstance.Of(AgentInstance.BaseOf(run.Agent), _id)));
        }
    }

    // ---------------------------------------------------------------- steps

    private sealed record StepResult(int Generation, string Step, IProjectEvent? Event, string? Error);

    private sealed record Tick;

    /// <summary>Starts whatever the project needs next, unless a step or a start is in flight.</summary>
    private void Next()
    {
        if (_busy || _pending is not null || _fleet is null || _state is not { } s || _draining)
        {
            return;
        }

        if (s.Status is ProjectStatus.Active or ProjectStatus.WaitingForCredits && !_slot)
        {
            return; // after a restart: until the registry grants the slot
        }

        ArmDeadline(s);
        var next = ProjectRules.Next(s, Now);
        var id = _id;
        var c = s.Created;
        switch (next.Step)
        {
            case ProjectStep.Idle or ProjectStep.Done:
                return;
            case ProjectStep.AwaitRun:
                CheckRunEnded();
                return;
            case ProjectStep.TimeOut:
                _log.Info("Project {0} timed out after {1}", id, s.MaxRuntime);
                Record(new ProjectTimedOut(id, Now, ProjectRuntime.Used(s, Now)), () =>
                {
                    StopRun("timed out");
                    Release();
                });
                return;
            case ProjectStep.Plan:
                StartRun(ProjectRunPurpose.Plan, c.Planner);
                return;
            case ProjectStep.ReadPlan or ProjectStep.IntendCommit or ProjectStep.Decide or ProjectStep.ReadAudit or ProjectStep.IntendPr:
                Advance(ProjectRules.PureStep(s, next, Now)!);
                return;
            case ProjectStep.Work:
                StartRun(ProjectRunPurpose.Task, next.Task!.Persona, next.Task, next.Attempt);
                return;
            case ProjectStep.Commit:
                var intent = s.PendingCommit!;
                Work("commit", async ct =>
                {
                    var (commit, files) = await ProjectWorktree.CommitAsync(c.Repo, c.Worktree, intent.Message, ProjectRules.CommitTrailer(id, intent.TaskId, intent.Attempt), ct);
                    return new AttemptCommitted(id, Now, intent.TaskId, intent.Attempt, commit, files);
                });
                return;
            case ProjectStep.RunGates:
                RunGates(s, next.Task!, next.Attempt!);
                return;
            case ProjectStep.Audit:
                StartRun(ProjectRunPurpose.Audit, c.Auditor);
                return;
            case ProjectStep.WriteReport:
                var report = ProjectReport.Markdown(s, Now);
                var path = Path.Combine(_settings.ProjectsDirectory, id, "report.md");
                Work("report", async ct =>
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.WriteAllTextAsync(path, report, ct);
                    return new ProjectReportWritten(id, Now, path);
                });
                return;
            case ProjectStep.OpenPr:
                var projects = _fleet.Projects;
                var environment = _settings.Environment;
                var http = _settings.Http;
                Work("pr", async ct =>
                {
                    var pr = await PullRequests.OpenAsync(c.Repo, projects.Remote, projects.Forge, "projects", environment, http, s.PrIntent!.Branch, c.BaseBranch, s.PrIntent.Title, s.PrIntent.Body, ct);
                    return new ProjectPrOpened(id, Now, pr.Number, pr.Url, pr.Existing);
                });
                return;
            case ProjectStep.Complete:
                _log.Info("Project {0} completed", id);
                Record(new ProjectCompleted(id, Now), Release);
                return;
            case ProjectStep.Fail:
                Fail(next.Reason!);
                return;
        }
    }

    private void RunGates(ProjectState s, ProjectTask task, TaskAttempt attempt)
    {
        var (gates, error) = ProjectGates.For(task.Persona, _personas, s.Created.Repo, _fleet!.Projects);
        if (error is not null)
        {
            Fail(error);
            return;
        }

        var env = ProjectGates.Environment(_settings.Environment, _settings.MarkerPrefix + "project/" + _id, _id, task.Id);
        var (secrets, id, worktree, files) = (_secrets, _id, s.Created.Worktree, attempt.FilesChanged);
        var (sandbox, cgroups) = (_settings.GateSandbox, _settings.GateCgroups);
        Work("gates", async ct => new AttemptGated(id, Now, task.Id, attempt.Number, await GateRunner.RunAllAsync(gates, worktree, files, env, secrets, sandbox, ct, cgroups)));
    }

    private void Fail(string reason)
    {
        if (_state is not { Status: not (ProjectStatus.Completed or ProjectStatus.Failed) })
        {
            return;
        }

        _log.Warning("Project {0} failed: {1}", _id, reason);
        Record(new ProjectFailed(_id, Now, reason), () =>
        {
            StopRun("failed");
            Release();
        });
    }

    private void ArmDeadline(ProjectState s)
    {
        if (ProjectRuntime.TimeoutAt(s) is not { } at || s.Status != ProjectStatus.Active)
        {
            Timers.Cancel(DeadlineKey);
            return;
        }

        var delay = at - Now;
        Timers.StartSingleTimer(DeadlineKey, new Tick(), delay > MaxTimer ? MaxTimer : delay < TimeSpan.Zero ? TimeSpan.Zero : delay);
    }

    /// <summary>Runs a step's slow part in a task; its event (or error) comes back as a <see cref="StepResult"/>.</summary>
    private void Work(string step, Func<CancellationToken, Task<IProjectEvent?>> work)
    {
        _busy = true;
        var generation = ++_generation;
        _work?.Dispose();
        _work = new CancellationTokenSource();
        var ct = _work.Token;
        Task.Run(() => work(ct), ct).ContinueWith(
            t => t.IsCompletedSuccessfully
                ? new StepResult(generation, step, t.Result, null)
                : new StepResult(generation, step, null, t.Exception?.GetBaseException() is { } e ? Describe(e) : "cancelled"),
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default).PipeTo(Self);
    }

    private static string Describe(Exception e) => e switch
    {
        GitException or ForgeException => e.Message,
        OperationCanceledException => "cancelled",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    private void OnStepResult(StepResult result)
    {
        if (result.Generation != _generation)
        {
            return;
        }

        _busy = false;
        if (result.Error is { } error)
        {
            Fail($"{result.Step}: {error}");
            return;
        }

        if (result.Event is null)
        {
            Next();
            return;
        }

        Advance(result.Event);
    }
}
