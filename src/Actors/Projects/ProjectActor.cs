using Akka.Persistence;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Supervision;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// One project (persistence id <c>project-&lt;id&gt;</c>), a child of the <see cref="ProjectsActor"/> registry.
/// Event-sourced like the compound review: every step's outcome is persisted and the next step is derived from
/// the recorded state alone (<see cref="ProjectRules.Next"/>), so a daemon killed at any point resumes where the
/// journal stopped — no completed task runs again, and the commit intent (with a trailer git can find) is
/// recorded before the commit, so nothing is committed twice. Runs go through the factory
/// (<see cref="StartAgent"/> with the worktree as workdir, the task and project ids, the composed prompt); their
/// output, usage, route and end come back on the topics (routed here by the registry; <c>ProjectActor.Runs.cs</c>).
/// Git, gates, report and forge work run in tasks that answer with their events (<see cref="ProjectStepRunner"/>,
/// <see cref="ProjectStepWork"/>). The decisions are pure and tested on their own: the next step
/// (<see cref="ProjectRules"/>), the operator's commands and slots (<see cref="ProjectCommands"/>), the fleet's answers
/// (<see cref="ProjectStarts"/>); the actor carries them out.
/// </summary>
public sealed partial class ProjectActor : PersistentActorBase
{
    private const string DeadlineKey = "deadline";
    private const string RetryKey = "retry";
    private static readonly TimeSpan MaxTimer = TimeSpan.FromHours(1);

    private readonly string _id;
    private readonly IActorRef _factory;
    private readonly IActorRef _registry;
    private readonly ProjectSettings _settings;
    private readonly ProjectRunLedger _runs = new();
    private readonly ProjectStarts _starts = new();
    private readonly ProjectStepRunner _steps = new() { Tracker = BackgroundWork.Of(Context.System) };

    private ProjectState? _state;
    private FleetSpec? _fleet;
    private PersonaCatalog _personas = PersonaCatalog.Empty;
    private Redactor _secrets = Redactor.None;
    private bool _slot;
    private bool _recovered;
    private bool _draining;
    private string? _stopping; // why the project stopped its own run (pause, timeout): its end is an interruption
    private (IActorRef To, ProjectCommandOutcome Outcome, string Message)? _reply; // a start or resume waiting for its slot

    public ProjectActor(string projectId, IActorRef factory, IActorRef registry, ProjectSettings settings)
        : base("project-" + projectId, settings.SnapshotEvery, settings.Clock)
    {
        _id = projectId;
        _factory = factory;
        _registry = registry;
        _settings = settings;

        RecoverSnapshot<ProjectState>(state => _state = state);
        Recover<IProjectEvent>(e => _state = ProjectStateRules.Apply(_state, e));

        Command<CreateProject>(OnCreate);
        Command<ApplyFleet>(OnFleet);
        Command<StartProject>(Carry);
        Command<PauseProject>(Carry);
        Command<ResumeProject>(Carry);
        Command<GetProjectState>(q => Sender.Tell(new ProjectStateFound(q.Project, _state)));
        Command<SlotGranted>(_ => OnSlotGranted());
        Command<SlotQueued>(OnSlotQueued);
        Command<AddChild>(m => Record(new ProjectChildAdded(_id, Now, m.ChildId)));
        Command<AgentLifecycle>(OnLifecycle);
        Command<AgentOutput>(m => _runs.Output(m, _state?.CurrentRunId));
        Command<AgentUsage>(m => _runs.Usage(m, _state?.CurrentRunId, _fleet));
        Command<RouteChosen>(m => _runs.Route(m, _state?.CurrentRunId));
        Command<StartAnswered>(OnStartAnswered);
        Command<ProjectStepRunner.Done>(OnStepDone);
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

    protected override void PostStop()
    {
        _steps.Dispose();
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
        if (ProjectCommands.WantsToRun(_state))
        {
            Log.Info("Project {0} recovered: {1}, resuming at {2}", _id, _state.Status, ProjectRules.Next(_state, Now).Step);
            _registry.Tell(new RequestSlot(_id));
        }
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Log.Error(reason, "Project {0} could not be recovered", _id);
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
    private void Advance(IProjectEvent e, Action? first = null) => Advance([e], first);

    private void Advance(IReadOnlyList<IProjectEvent> outcome, Action? first = null)
    {
        var events = CanStep ? ProjectRules.WithPureSteps(_state, outcome, Now) : outcome;
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
        Topics.Publish(persisted);
    }

    /// <summary>Whether <see cref="Next"/> would take a step now: nothing in flight, the fleet known, the slot held.</summary>
    private bool CanStep =>
        !_steps.Busy && _starts.Pending is null && _fleet is not null && !_draining && _state is { } s
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

    /// <summary>Carries out an operator's start, resume or pause as <see cref="ProjectCommands.Decide"/> decides it.</summary>
    private void Carry(IWithProject command)
    {
        var (to, d) = (Sender, ProjectCommands.Decide(command, _state, Now));
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
                Stop(new ProjectPaused(_id, Now, "paused by the operator"), "paused", () => Answer(to, true, d.Outcome, ProjectCommands.Paused(State)));
                return;
        }
    }

    private void OnSlotGranted()
    {
        _slot = true;
        switch (ProjectCommands.OnSlot(_state, _recovered))
        {
            case SlotAction.Release:
                Release(); // paused meanwhile
                return;
            case SlotAction.Activate:
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
            case SlotAction.InterruptRecoveredRun:
                _recovered = false;
                Record(new ProjectRunEnded(_id, Now, State.CurrentRunId!, ProjectRunOutcome.Interrupted, Detail: "the daemon restarted while it ran"), Next);
                return;
            default:
                _recovered = false;
                Next();
                return;
        }
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

    // ---------------------------------------------------------------- steps

    private sealed record Tick;

    /// <summary>Starts whatever the project needs next, unless a step or a start is in flight.</summary>
    private void Next()
    {
        if (!CanStep)
        {
            return; // in flight, or after a restart until the registry grants the slot
        }

        var s = State;
        ArmDeadline(s);
        var next = ProjectRules.Next(s, Now);
        switch (next.Step)
        {
            case ProjectStep.Idle or ProjectStep.Done:
                return;
            case ProjectStep.AwaitRun:
                CheckRunEnded();
                return;
            case ProjectStep.TimeOut:
                Log.Info("Project {0} timed out after {1}", _id, s.MaxRuntime);
                Stop(new ProjectTimedOut(_id, Now, ProjectRuntime.Used(s, Now)), "timed out");
                return;
            case ProjectStep.Plan:
                StartRun(ProjectRunPurpose.Plan, s.Created.Planner);
                return;
            case ProjectStep.ReadPlan or ProjectStep.IntendCommit or ProjectStep.Decide or ProjectStep.ReadAudit or ProjectStep.IntendPr:
                Advance(ProjectRules.PureStep(s, next, Now)!);
                return;
            case ProjectStep.Work:
                StartRun(ProjectRunPurpose.Task, next.Task!.Persona, next.Task, next.Attempt);
                return;
            case ProjectStep.Commit:
                // a run that passed gets its gates in the same step (one write); gates that cannot run fail at RunGates
                var check = next.Attempt is { ExitCode: 0, Gates.Count: 0 } a ? Gates(s, next.Task!, a).Check : null;
                _steps.Run(check is null ? "commit" : "commit and gates", ProjectStepWork.Commit(s, Clock, check, _settings.Ports), Self);
                return;
            case ProjectStep.RunGates:
                var (gates, error) = Gates(s, next.Task!, next.Attempt!);
                if (gates is null)
                {
                    Fail(error!);
                    return;
                }

                var files = next.Attempt!.FilesChanged;
                _steps.Run("gates", async ct => [await gates(files, ct)], Self);
                return;
            case ProjectStep.Audit:
                StartRun(ProjectRunPurpose.Audit, s.Created.Auditor);
                return;
            case ProjectStep.WriteReport:
                _steps.Run("report", ProjectStepWork.Report(s, _settings.ProjectsDirectory, Clock), Self);
                return;
            case ProjectStep.OpenPr:
                _steps.Run("pr", ProjectStepWork.PullRequest(s, _fleet!.Projects, _settings), Self);
                return;
            case ProjectStep.Complete:
                Log.Info("Project {0} completed", _id);
                Record(new ProjectCompleted(_id, Now), Release);
                return;
            case ProjectStep.Fail:
                Fail(next.Reason!);
                return;
        }
    }

    private (ProjectStepWork.GateCheck? Check, string? Error) Gates(ProjectState s, ProjectTask task, TaskAttempt attempt) =>
        ProjectStepWork.Gates(s, task, attempt, _personas, _fleet!.Projects, _secrets, _settings);

    private void Fail(string reason)
    {
        if (_state is not { Status: not (ProjectStatus.Completed or ProjectStatus.Failed) })
        {
            return;
        }

        Log.Warning("Project {0} failed: {1}", _id, reason);
        Stop(new ProjectFailed(_id, Now, reason), "failed");
    }

    /// <summary>Records that the project stops (paused, timed out, failed), then stops its run and gives its slot back.</summary>
    private void Stop(IProjectEvent e, string why, Action? then = null)
    {
        Record(e, () =>
        {
            StopRun(why);
            Release();
            then?.Invoke();
        });
    }

    private void ArmDeadline(ProjectState s)
    {
        if (ProjectRuntime.DeadlineIn(s, Now, MaxTimer) is { } delay)
        {
            Timers.StartSingleTimer(DeadlineKey, new Tick(), delay);
        }
        else
        {
            Timers.Cancel(DeadlineKey);
        }
    }

    private void OnStepDone(ProjectStepRunner.Done done)
    {
        if (!_steps.Accept(done))
        {
            return;
        }

        if (done.Result.Error is { } error)
        {
            Fail($"{done.Stage}: {error}");
        }
        else if (done.Result.Events.Count > 0)
        {
            Advance(done.Result.Events);
        }
        else
        {
            Next();
        }
    }
}
