using Akka.Persistence;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;

namespace DarkFactory.Actors.Review;

/// <summary>
/// The nightly compound review at /user/factory/compound-review (persistence id <c>compound-review</c>): a step
/// machine. Each step's outcome is persisted (<see cref="IReviewEvent"/>) and the next step is derived from the
/// recorded events alone (<see cref="ReviewStateRules"/>), so a daemon killed at any point resumes where the
/// journal says it stopped. The PR intent is recorded before anything is pushed and the forge is asked for an
/// existing PR of the branch before one is opened: never two PRs. A step's slow part (<see cref="ReviewSteps"/>,
/// behind <see cref="IReviewPorts"/>) runs in a task with an immutable context and answers a
/// <see cref="StepResult"/>; the agent's end is read from <see cref="AgentLifecycle"/> events. One review at a
/// time; bounded by its max_duration. Its cron runs on a <see cref="CronTimer"/>; missed firings follow
/// <see cref="CatchUp"/>.
/// </summary>
public sealed partial class CompoundReviewActor : PersistentActorBase
{
    private const string DeadlineKey = "deadline";
    private const string CronKey = "cron";
    private const string RetryKey = "retry";

    private readonly IActorRef _factory;
    private readonly ReviewSettings _settings;
    private readonly ReviewDependencies _dependencies;
    private readonly ReviewSteps _steps;
    private readonly ReviewRunWatch _runs = new();
    private readonly StepRunner<ReviewStage> _work = new() { Tracker = BackgroundWork.Of(Context.System) };
    private CompoundReviewState _state = CompoundReviewState.Empty;

    // runtime state
    private IActorRef _views = ActorRefs.Nobody;
    private CronTimer? _cron;
    private DateTimeOffset? _cronDue;
    private FleetSpec? _fleet;
    private CompoundReviewSpec? _spec;
    private Redactor _secrets = Redactor.None;
    private bool _recovered;
    private bool _runGone;
    private bool _draining;
    private int _startAttempts;

    public CompoundReviewActor(IActorRef factory, ReviewSettings settings, ReviewDependencies dependencies)
        : base(settings.PersistenceId, settings.SnapshotEvery, dependencies.Clock)
    {
        _factory = factory;
        _settings = settings;
        _dependencies = dependencies;
        var ports = dependencies.Ports?.Invoke(factory) ?? new ReviewPorts(factory, settings.AskTimeout, dependencies.Http) { GateSandbox = settings.GateSandbox, GateCgroups = settings.GateCgroups };
        _steps = new ReviewSteps(ports, settings, dependencies.Clock, dependencies.Environment);

        RecoverSnapshot<ReviewSnapshot>(snapshot => _state = CompoundReviewState.From(snapshot));
        Recover<IReviewEvent>(e => _state = _state.Apply(e, _settings.KeepReviews, out _));
        Recover<ReviewScheduleFired>(f => _state = _state.Apply(f));

        Command<ApplyFleet>(m => OnFleet(m.Fleet));
        Command<RunReview>(OnRun);
        // queries are the read model's (the factory sends them there); one that reaches this actor is passed on
        Command<GetReviews>(q => _views.Forward(q));
        Command<GetReview>(q => _views.Forward(q));
        Command<StepRunner<ReviewStage>.Done>(OnStepDone);
        Command<AgentLifecycle>(e =>
        {
            if (_draining || Active is not { } r || r.Task?.Agent != e.Agent)
            {
                return;
            }

            if (_runs.Ended(e))
            {
                if (_settings.RunsOutliveTheReview && !_work.Busy && ReviewStateRules.StoppedByItsNode(r, e))
                {
                    // its node drained it (SIGTERM) or the placement moved the agent: another run, as after a restart
                    Log.Info("Compound review {0}: the agent's run {1} was stopped by its node; starting another", r.Started.ReviewId, e.RunId);
                    _runGone = true;
                    Next();
                    return;
                }

                CheckRunEnded(r);
            }
            else if (ReviewRunWatch.Continues(r, e, _runs) is { } next && !_work.Busy)
            {
                // the layer stopped the awaited run to start the same task again (a failover, a correction): that run is the review's now
                Log.Info("Compound review {0}: the agent's run {1} was restarted as run {2}; the review goes on with it", r.Started.ReviewId, r.Runs![^1].RunId, next);
                Record(new ReviewAgentStarted(r.Started.ReviewId, Now, next), Next);
            }
        });
        Command<AgentOutput>(o =>
        {
            Output?.Taken(o);
            if (Active?.Task?.Agent == o.Agent)
            {
                _runs.Output(o);
            }
        });
        Command<Advance>(_ => Next());
        Command<Deadline>(OnDeadline);
        Command<CronTimer.Tick>(t =>
        {
            if (t.Due == _cronDue && Cron.Elapsed(t))
            {
                OnCron(t.Due);
            }
        });
        Command<DrainFleet>(_ =>
        {
            // shutdown: the drain stops the review's agent; that is not the agent's failure, and the
            // review resumes with a new run when the daemon starts again
            _draining = true;
            Cron.Cancel(CronKey);
        });
    }

    /// <param name="factory">Where the steps' asks go (StartAgent, GetHistory, RouteTask ...) and StopAgent at max_duration.</param>
    public static Props Props(IActorRef factory, ReviewSettings settings, ReviewDependencies? dependencies = null) =>
        Akka.Actor.Props.Create(() => new CompoundReviewActor(factory, settings, dependencies ?? new ReviewDependencies()));

    private ReviewRecord? Active => _state.Active;

    private CronTimer Cron => _cron ??= new CronTimer(Timers, Self, Clock, _settings.MaxTimerDelay);

    protected override void PreStart()
    {
        base.PreStart();
        _views = _dependencies.Views ?? Context.ActorOf(ReviewViewsActor.Props(), "views");
        Subscribe(typeof(AgentLifecycle), typeof(AgentOutput));
        JoinOutput("review");
    }

    protected override void PostStop()
    {
        _work.Dispose();
        base.PostStop();
    }

    protected override void OnReplaySuccess()
    {
        _views.Tell(new ReviewViewsChanged(_state.Reviews.Select(ReviewStateRules.View).ToList(), [], Reset: true));
        _recovered = Active is not null;
        Log.Info("Compound review recovered: {0} review(s){1}", _state.Reviews.Count, Active is { } a ? $", resuming {a.Started.ReviewId} at {ReviewStateRules.StepName(a)}" : string.Empty);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Log.Error(reason, "Compound review state could not be recovered");
        base.OnRecoveryFailure(reason, message);
    }

    // ---------------------------------------------------------------- recording

    private void Record(IReviewEvent e, Action? after = null) => Persist(e, persisted =>
    {
        _state = _state.Apply(persisted, _settings.KeepReviews, out var removed);
        _views.Tell(new ReviewViewsChanged([ReviewStateRules.View(_state.Find(persisted.ReviewId)!)], removed));
        SnapshotWhenDue(_state.ToSnapshot);
        Topics.Publish(persisted);
        after?.Invoke();
    });

    private void RecordFiring(ReviewScheduleFired firing) => Persist(firing, persisted =>
    {
        _state = _state.Apply(persisted);
        SnapshotWhenDue(_state.ToSnapshot);
        Topics.Publish(persisted);
    });

    // ---------------------------------------------------------------- the step machine

    /// <summary>Starts whatever the active review needs next, unless a step is already in flight.</summary>
    private void Next()
    {
        if (_work.Busy || _spec is null || Active is not { } r)
        {
            return;
        }

        var step = _recovered || _runGone ? ReviewStateRules.NextAfterRecovery(r) : ReviewStateRules.Next(r);
        var resume = _recovered && _settings.RunsOutliveTheReview && ReviewStateRules.Next(r) == ReviewStep.AwaitAgent && r.Runs is { Count: > 0 };
        _recovered = false; // (_runGone holds until another run is recorded: a refused start is retried as a start)
        var context = new ReviewStepContext(r, _spec, _fleet?.Agents ?? [], _secrets);
        if (resume)
        {
            // a cluster singleton that took over: the awaited run may go on (or have ended) on the agent's node
            _work.Run(Self, r.Started.ReviewId, ReviewStage.Agent, ct => _steps.ResumeRunAsync(context, ct));
            return;
        }

        switch (step)
        {
            case ReviewStep.AwaitAgent:
                CheckRunEnded(r);
                break;
            case ReviewStep.IntendPr:
                var (title, body) = ReviewReport.PullRequest(r);
                Record(new PrIntended(r.Started.ReviewId, Now, r.Task!.Branch, title, body), Next);
                break;
            case ReviewStep.Complete:
                Record(new ReviewCompleted(r.Started.ReviewId, Now, r.Findings is { Findings.Count: 0 } ? "nothing found to work on" : null), Finished);
                break;
            case ReviewStep.Fail:
                var (stage, reason) = ReviewStateRules.FailureOf(r);
                Fail(r, stage, reason);
                break;
            case ReviewStep.Done:
                break;
            default:
                _work.Run(Self, r.Started.ReviewId, ReviewStateRules.StepName(r), ct => _steps.RunAsync(step, context, ct));
                break;
        }
    }

    /// <summary>When the awaited run has ended: the agent's work is taken in (committed) and its end recorded.</summary>
    private void CheckRunEnded(ReviewRecord r)
    {
        if (_work.Busy || r.Finished is not null || r.Runs is not { Count: > 0 } runs || !_runs.TryEnd(runs[^1].RunId, out var end, out var summary) || end.Restarts)
        {
            return; // not ended yet, or ended to be started again by the layer (the next run is awaited)
        }

        var context = new ReviewStepContext(r, _spec!, _fleet?.Agents ?? [], _secrets);
        _work.Run(Self, r.Started.ReviewId, ReviewStage.Agent, ct => _steps.FinishAgentAsync(context, end, summary, ct));
    }

    private void OnStepDone(StepRunner<ReviewStage>.Done done)
    {
        if (!_work.Accept(done, Active?.Started.ReviewId) || Active is not { } r)
        {
            return; // a step of a review that already ended (max_duration)
        }

        switch (done.Result)
        {
            case StepResult.Retry retry when ++_startAttempts < _settings.StartAttempts:
                Log.Info("Compound review {0}: {1}; retrying in {2}", r.Started.ReviewId, retry.Reason, _settings.StartRetryDelay);
                Timers.StartSingleTimer(RetryKey, new Advance(), _settings.StartRetryDelay);
                break;
            case StepResult.Retry retry:
                Fail(r, done.Stage, retry.Reason);
                break;
            case StepResult.Failed failed:
                Fail(r, done.Stage, failed.Reason);
                break;
            case StepResult.Resumed { Run: var run }:
                Log.Info("Compound review {0}: the agent's run {1} {2}", r.Started.ReviewId, r.Runs![^1].RunId, run.Kind switch
                {
                    RunResumeKind.GoesOn => "goes on on its node; awaiting its end",
                    RunResumeKind.Ended => "ended while the review moved; taking in its work",
                    _ => "is gone; starting another",
                });
                if (run.End is { } end)
                {
                    _runs.Ended(end);
                }

                _runGone = run.Kind == RunResumeKind.Gone;
                Next(); // awaits the run (its end may have come meanwhile), takes in its work, or starts another
                break;
            case StepResult.Recorded recorded:
                if (recorded.Event is ReviewAgentStarted)
                {
                    _startAttempts = 0;
                    _runGone = false;
                }

                Record(recorded.Event, Next);
                break;
        }
    }

    private void Fail(ReviewRecord r, ReviewStage stage, string reason)
    {
        Log.Warning("Compound review {0} failed at {1}: {2}", r.Started.ReviewId, stage, reason);
        Record(new ReviewFailed(r.Started.ReviewId, Now, stage, reason), Finished);
    }

    private void Finished()
    {
        Timers.Cancel(DeadlineKey);
        Timers.Cancel(RetryKey);
        _runs.Clear();
        _runGone = false;
        var last = _state.Reviews[^1];
        Log.Info("Compound review {0} {1}", last.Started.ReviewId, ReviewStateRules.Status(last).ToString().ToLowerInvariant());

        _ = _steps.RemoveOldWorktrees(_state.Reviews, Log); // keep the worktrees of the newest finished reviews
    }

    private sealed record Advance;

    private sealed record Deadline(string ReviewId);
}
