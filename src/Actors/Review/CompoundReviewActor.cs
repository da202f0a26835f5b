using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;

namespace DarkFactory.Actors.Review;

/// <summary>Settings of the <see cref="CompoundReviewActor"/>; tests inject their own directories and clock.</summary>
public sealed record ReviewSettings
{
    /// <summary>Reports, hooks and other files of each review: &lt;dir&gt;/&lt;review id&gt;/.</summary>
    public required string ReviewsDirectory { get; init; }

    /// <summary>Where review worktrees are created: &lt;dir&gt;/&lt;review id&gt;.</summary>
    public required string WorktreeRoot { get; init; }

    /// <summary>Run-marker prefix of the daemon (gates carry DF_RUN=&lt;prefix&gt;review/&lt;id&gt; so a restart sweeps strays).</summary>
    public string MarkerPrefix { get; init; } = string.Empty;

    /// <summary>The daemon's environment (the forge token is read from it when a PR is opened).</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public string PersistenceId { get; init; } = "compound-review";

    /// <summary>A snapshot every this many events; older events are deleted.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>Finished reviews kept in memory (and in snapshots).</summary>
    public int KeepReviews { get; init; } = 200;

    /// <summary>Worktrees of the newest finished reviews that are kept for inspection; older ones are removed.</summary>
    public int KeepWorktrees { get; init; } = 2;

    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Wait between attempts when the fleet refuses to start the agent (already running, not applied yet).</summary>
    public TimeSpan StartRetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    public int StartAttempts { get; init; } = 30;

    public HttpClient Http { get; init; } = SharedHttp;

    /// <summary>The read model that answers queries (<see cref="ReviewViewsActor"/>); null: the review actor makes its own child.</summary>
    public IActorRef? Views { get; init; }

    private static readonly HttpClient SharedHttp = new() { Timeout = TimeSpan.FromSeconds(30) };
}

/// <summary>
/// The nightly compound review at /user/factory/compound-review (persistence id <c>compound-review</c>).
/// Event-sourced: each step's outcome is persisted (<see cref="IReviewEvent"/>) and the next step is
/// derived from the recorded events alone (<see cref="ReviewStateRules"/>), so a daemon killed at any
/// point resumes where the journal says it stopped. The PR intent is recorded before anything is pushed
/// and the forge is asked for an existing PR of the branch before one is opened: never two PRs.
/// Slow work (git, gates, HTTP) runs in tasks whose results come back as messages; the agent is started
/// through the factory (<see cref="StartAgent"/> with the worktree as workdir) and its end is read from
/// <see cref="AgentLifecycle"/> events. One review at a time; bounded by its max_duration.
/// </summary>
public sealed class CompoundReviewActor : PersistentActorBase
{
    private const string DeadlineKey = "deadline";
    private const string CronKey = "cron";
    private const string RetryKey = "retry";
    private static readonly TimeSpan MaxTimer = TimeSpan.FromHours(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly IActorRef _factory;
    private readonly ReviewSettings _settings;

    // persisted state
    private readonly Dictionary<string, ReviewRecord> _reviews = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private ReviewScheduleFired? _lastFiring;

    // runtime state
    private IActorRef _views = ActorRefs.Nobody;
    private FleetSpec? _fleet;
    private CompoundReviewSpec? _spec;
    private IReadOnlyList<string> _agents = [];
    private Redactor _secrets = Redactor.None;
    private bool _recovered;
    private bool _draining;
    private int _step; // generation of the step in flight; results of older ones are ignored
    private bool _busy;
    private CancellationTokenSource? _work;
    private int _startAttempts;
    private readonly Dictionary<string, AgentLifecycle> _ended = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BoundedText> _outputs = new(StringComparer.Ordinal);

    public CompoundReviewActor(IActorRef factory, ReviewSettings settings)
        : base(settings.PersistenceId, settings.SnapshotEvery, settings.Clock)
    {
        _factory = factory;
        _settings = settings;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ReviewSnapshot snapshot)
            {
                _reviews.Clear();
                _order.Clear();
                foreach (var r in snapshot.Reviews)
                {
                    _reviews[r.Started.ReviewId] = r;
                    _order.Add(r.Started.ReviewId);
                }

                _lastFiring = snapshot.LastFiring;
            }
        });
        Recover<IReviewEvent>(e => Apply(e));
        Recover<ReviewScheduleFired>(f => _lastFiring = f);

        Command<ApplyFleet>(m => OnFleet(m.Fleet));
        Command<RunReview>(OnRun);
        // queries are the read model's (the factory sends them there); one that reaches this actor is passed on
        Command<GetReviews>(q => _views.Forward(q));
        Command<GetReview>(q => _views.Forward(q));
        Command<StepResult>(OnStepResult);
        Command<AgentLifecycle>(OnLifecycle);
        Command<AgentOutput>(OnOutput);
        Command<Advance>(_ => Next());
        Command<Deadline>(OnDeadline);
        Command<CronTick>(OnCron);
        Command<DrainFleet>(_ =>
        {
            // shutdown: the drain stops the review's agent; that is not the agent's failure, and the
            // review resumes with a new run when the daemon starts again
            _draining = true;
            Timers.Cancel(CronKey);
        });
    }

    /// <param name="factory">Where StartAgent / StopAgent / GetHistory go (the factory).</param>
    public static Props Props(IActorRef factory, ReviewSettings settings) =>
        Akka.Actor.Props.Create(() => new CompoundReviewActor(factory, settings));

    private ReviewRecord? Active => _order.Count > 0 && _reviews[_order[^1]] is var last && !ReviewStateRules.IsOver(last) ? last : null;

    protected override void PreStart()
    {
        base.PreStart();
        _views = _settings.Views ?? Context.ActorOf(ReviewViewsActor.Props(), "views");
        _topics.Subscribe(Self, typeof(AgentLifecycle));
        _topics.Subscribe(Self, typeof(AgentOutput));
    }

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        _work?.Cancel();
        _work?.Dispose();
        base.PostStop();
    }

    protected override void OnReplaySuccess()
    {
        _views.Tell(new ReviewViewsChanged(_order.Select(id => ReviewStateRules.View(_reviews[id])).ToList(), [], Reset: true));
        _recovered = Active is not null;
        _log.Info("Compound review recovered: {0} review(s){1}", _reviews.Count, Active is { } a ? $", resuming {a.Started.ReviewId} at {ReviewStateRules.StepName(a)}" : string.Empty);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "Compound review state could not be recovered");
        base.OnRecoveryFailure(reason, message);
    }

    // ---------------------------------------------------------------- state

    /// <returns>The ids of finished reviews no longer kept.</returns>
    private List<string> Apply(IReviewEvent e)
    {
        var removed = new List<string>();
        var current = _reviews.GetValueOrDefault(e.ReviewId);
        _reviews[e.ReviewId] = ReviewStateRules.Apply(current, e);
        if (current is null)
        {
            _order.Add(e.ReviewId);
            while (_order.Count > _settings.KeepReviews && _order.Count > 1 && ReviewStateRules.IsOver(_reviews[_order[0]]))
            {
                removed.Add(_order[0]);
                _reviews.Remove(_order[0]);
                _order.RemoveAt(0);
            }
        }

        return removed;
    }

    private void Record(IReviewEvent e, Action? after = null)
    {
        Persist(e, persisted =>
        {
            var removed = Apply(persisted);
            _views.Tell(new ReviewViewsChanged([ReviewStateRules.View(_reviews[persisted.ReviewId])], removed));
            MaybeSnapshot();
            _topics.Publish(persisted);
            after?.Invoke();
        });
    }

    private void RecordFiring(ReviewScheduleFired firing, Action? after = null)
    {
        Persist(firing, persisted =>
        {
            _lastFiring = persisted;
            MaybeSnapshot();
            _topics.Publish(persisted);
            after?.Invoke();
        });
    }

    private void MaybeSnapshot() => SnapshotWhenDue(() => new ReviewSnapshot(_order.Select(id => _reviews[id]).ToList(), _lastFiring));

    // ---------------------------------------------------------------- triggers

    private void OnFleet(FleetSpec fleet)
    {
        var first = _spec is null;
        _spec = ReviewOverrides.Apply(fleet.CompoundReview, _settings.Environment);
        _fleet = fleet;
        _agents = fleet.Agents.Select(a => a.Name).ToList();
        _secrets = new Redactor(FleetSecrets.Of(fleet, _settings.Environment, LayerServices.ReadFile));
        ArmCron();
        if (first && Active is { } active)
        {
            ArmDeadline(active);
            Next();
        }

        if (first)
        {
            CatchUp();
        }
    }

    /// <summary>On start: firings missed while the daemon was down, per compound_review.catch_up (<see cref="Scheduling.CatchUp"/>).</summary>
    private void CatchUp()
    {
        if (_spec is not { Enabled: true } spec || !CronSchedule.TryParse(spec.Schedule, spec.Timezone, out var cron, out _))
        {
            return;
        }

        var now = Now;
        if (_lastFiring is null)
        {
            RecordFiring(new ReviewScheduleFired(now, now, FiringOutcome.Armed, Detail: "no firing recorded before: missed firings are counted from here"));
            return;
        }

        // one review covers every missed firing; firings older than the scan window are not missed (the next review covers them)
        var plan = Scheduling.CatchUp.Plan(cron!, _lastFiring.Due, now, spec.CatchUp == CatchUpPolicy.Skip ? CatchUpPolicy.Skip : CatchUpPolicy.Once, 1, notBefore: now - spec.Since);
        if (plan.LatestMissed is not { } due)
        {
            return;
        }

        var missed = $"{plan.Missed} firing(s) missed while the daemon was down, the last at {due:yyyy-MM-dd HH:mm}Z";
        if (plan.Run.Count == 0)
        {
            _log.Info("Compound review: {0}; catch_up is skip", missed);
            RecordFiring(new ReviewScheduleFired(due, now, FiringOutcome.Skipped, Detail: missed + "; catch_up: skip"));
        }
        else if (Active is { } running)
        {
            RecordFiring(new ReviewScheduleFired(due, now, FiringOutcome.Skipped, running.Started.ReviewId, missed + $"; review {running.Started.ReviewId} is resuming"));
        }
        else
        {
            _log.Info("Compound review: {0}; catching up once", missed);
            Begin(ReviewTrigger.CatchUp, firing: new ReviewScheduleFired(due, now, FiringOutcome.CaughtUp, Detail: missed));
        }
    }

    private void ArmCron()
    {
        Timers.Cancel(CronKey);
        if (_spec is not { Enabled: true } spec || !CronSchedule.TryParse(spec.Schedule, spec.Timezone, out var cron, out _))
        {
            return;
        }

        if (cron!.Next(Now) is { } next)
        {
            var delay = next - Now;
            Timers.StartSingleTimer(CronKey, new CronTick(next), delay > MaxTimer ? MaxTimer : delay < TimeSpan.Zero ? TimeSpan.Zero : delay);
        }
    }

    private void OnCron(CronTick tick)
    {
        if (Now < tick.Due)
        {
            ArmCron(); // a long wait split into hour-long timers
            return;
        }

        if (Active is null)
        {
            Begin(ReviewTrigger.Schedule, firing: new ReviewScheduleFired(tick.Due, Now, FiringOutcome.Started));
        }
        else
        {
            _log.Warning("Scheduled compound review skipped: review {0} is still running", Active.Started.ReviewId);
            RecordFiring(new ReviewScheduleFired(tick.Due, Now, FiringOutcome.Skipped, Active.Started.ReviewId, $"review {Active.Started.ReviewId} was still running"));
        }

        ArmCron();
    }

    private void OnRun(RunReview cmd)
    {
        if (_spec is null)
        {
            Sender.Tell(new ReviewAccepted(false, "the fleet is not applied yet; try again in a moment"));
            return;
        }

        if (Active is { } running)
        {
            Sender.Tell(new ReviewAccepted(false, $"review {running.Started.ReviewId} is still running", running.Started.ReviewId));
            return;
        }

        Begin(cmd.Trigger, Sender);
    }

    /// <summary>
    /// Starts a review; the requester (if any) is answered once ReviewStarted is in the journal. A cron firing
    /// is recorded (with the review's id) just before it.
    /// </summary>
    private void Begin(ReviewTrigger trigger, IActorRef? replyTo = null, ReviewScheduleFired? firing = null)
    {
        var spec = _spec!;
        var at = Now;
        var id = at.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        _recovered = false;
        if (firing is not null)
        {
            RecordFiring(firing with { ReviewId = id });
        }

        var started = new ReviewStarted(id, at, trigger, spec.Repo, spec.BaseBranch, spec.Agent, spec.CreatePrs, spec.MaxDuration);
        Record(started, () =>
        {
            replyTo?.Tell(new ReviewAccepted(true, $"review {id} started", id));
            ArmDeadline(_reviews[id]);
            Next();
        });
    }

    private void ArmDeadline(ReviewRecord r)
    {
        var delay = r.Started.At + r.Started.MaxDuration - Now;
        Timers.StartSingleTimer(DeadlineKey, new Deadline(r.Started.ReviewId), delay < TimeSpan.Zero ? TimeSpan.Zero : delay);
    }

    private void OnDeadline(Deadline d)
    {
        if (Active is not { } r || r.Started.ReviewId != d.ReviewId)
        {
            return;
        }

        _work?.Cancel();
        _step++;
        _busy = false;
        if (r.Task is { } task && r.Finished is null && r.Runs is { Count: > 0 })
        {
            _factory.Tell(new StopAgent(task.Agent, Requester.CompoundReview));
        }

        Fail(r, ReviewStateRules.StepName(r), $"max_duration {r.Started.MaxDuration} exceeded; the review was stopped");
    }

    // ---------------------------------------------------------------- steps

    /// <summary>Starts whatever the active review needs next, unless a step is already in flight.</summary>
    private void Next()
    {
        if (_busy || _spec is null || Active is not { } r)
        {
            return;
        }

        var step = _recovered ? ReviewStateRules.NextAfterRecovery(r) : ReviewStateRules.Next(r);
        _recovered = false;
        var id = r.Started.ReviewId;
        var spec = _spec; // tasks get immutable copies of what they need, never the actor's fields
        switch (step)
        {
            case ReviewStep.Scan:
                var agents = _agents;
                Work(id, ReviewStage.Scan, ct => ScanAsync(r, spec, agents, ct));
                break;
            case ReviewStep.Assign:
                Work(id, ReviewStage.Assign, ct => AssignAsync(r, spec, ct));
                break;
            case ReviewStep.StartAgent:
                Work(id, ReviewStage.Agent, ct => StartAgentAsync(r, ct));
                break;
            case ReviewStep.AwaitAgent:
                CheckRunEnded(r);
                break;
            case ReviewStep.RunGates:
                var gates = spec.Gates;
                var env = GateEnvironment(id);
                var secrets = _secrets;
                Work(id, ReviewStage.Gates, async ct => new GatesEvaluated(id, Now, await GateRunner.RunAllAsync(gates, r.Task!.Worktree, r.Finished!.FilesChanged ?? [], env, secrets, ct)));
                break;
            case ReviewStep.IntendPr:
                var (title, body) = PullRequestText(r);
                Record(new PrIntended(id, Now, r.Task!.Branch, title, body), Next);
                break;
            case ReviewStep.OpenPr:
                Work(id, ReviewStage.Pr, ct => OpenPrAsync(r, spec, ct));
                break;
            case ReviewStep.DryRun:
                Work(id, ReviewStage.DryRun, ct => DryRunAsync(r, spec, ct));
                break;
            case ReviewStep.Complete:
                Record(new ReviewCompleted(id, Now, r.Findings is { Findings.Count: 0 } ? "nothing found to work on" : null), Finished);
                break;
            case ReviewStep.Fail:
                var (failedStep, reason) = ReviewStateRules.FailureOf(r);
                Fail(r, failedStep, reason);
                break;
            case ReviewStep.Done:
                break;
        }
    }

    private void Fail(ReviewRecord r, ReviewStage step, string reason)
    {
        _log.Warning("Compound review {0} failed at {1}: {2}", r.Started.ReviewId, step, reason);
        Record(new ReviewFailed(r.Started.ReviewId, Now, step, reason), Finished);
    }

    private void Finished()
    {
        Timers.Cancel(DeadlineKey);
        Timers.Cancel(RetryKey);
        _ended.Clear();
        _outputs.Clear();
        var last = _reviews[_order[^1]];
        _log.Info("Compound review {0} {1}", last.Started.ReviewId, ReviewStateRules.Status(last).ToString().ToLowerInvariant());

        // cleanup policy: keep the worktrees of the newest finished reviews, remove older ones
        var old = _order.Select(id => _reviews[id]).Where(ReviewStateRules.IsOver).Reverse().Skip(_settings.KeepWorktrees)
            .Where(x => x.Task is not null && Directory.Exists(x.Task.Worktree))
            .Select(x => (x.Started.Repo, x.Task!.Worktree)).ToList();
        if (old.Count > 0)
        {
            var log = _log;
            _ = Task.Run(async () =>
            {
                foreach (var (repo, path) in old)
                {
                    try
                    {
                        await Worktrees.RemoveAsync(repo, path, CancellationToken.None);
                    }
                    catch (Exception e)
                    {
                        log.Warning("Removing worktree {0} failed: {1}", path, e.Message);
                    }
                }
            });
        }
    }

    /// <summary>Runs a step's slow part in a task; its event (or error) comes back as a <see cref="StepResult"/>.</summary>
    private void Work(string reviewId, ReviewStage step, Func<CancellationToken, Task<IReviewEvent?>> work)
    {
        _busy = true;
        var generation = ++_step;
        _work?.Dispose();
        _work = new CancellationTokenSource();
        var ct = _work.Token;
        Task.Run(() => work(ct), ct).ContinueWith(
            t => t.IsCompletedSuccessfully
                ? new StepResult(generation, reviewId, step, t.Result, null)
                : new StepResult(generation, reviewId, step, null, t.Exception?.GetBaseException() is { } e ? Describe(e) : "cancelled"),
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default).PipeTo(Self);
    }

    private static string Describe(Exception e) => e switch
    {
        GitException or ForgeException or RetryException or ReviewAssignException => e.Message,
        OperationCanceledException => "cancelled",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    private void OnStepResult(StepResult result)
    {
        if (result.Generation != _step || Active is not { } r || r.Started.ReviewId != result.ReviewId)
        {
            return; // a step of a review that already ended (max_duration)
        }

        _busy = false;
        if (result.Error is { } error)
        {
            if (result.Step == ReviewStage.Agent && error.StartsWith(RetryException.Prefix, StringComparison.Ordinal) && ++_startAttempts < _settings.StartAttempts)
            {
                _log.Info("Compound review {0}: {1}; retrying in {2}", r.Started.ReviewId, error, _settings.StartRetryDelay);
                Timers.StartSingleTimer(RetryKey, new Advance(), _settings.StartRetryDelay);
                return;
            }

            Fail(r, result.Step, error.StartsWith(RetryException.Prefix, StringComparison.Ordinal) ? error[RetryException.Prefix.Length..] : error);
            return;
        }

        if (result.Event is null)
        {
            Next();
            return;
        }

        if (result.Event is ReviewAgentStarted)
        {
            _startAttempts = 0;
        }

        Record(result.Event, Next);
    }

    private async Task<IReviewEvent?> ScanAsync(ReviewRecord r, CompoundReviewSpec spec, IReadOnlyList<string> agents, CancellationToken ct)
    {
        var started = r.Started;
        var since = started.At - spec.Since;
        var (commits, todos) = await GitScan.ReadAsync(started.Repo, started.BaseBranch, since, ct);
        var records = new List<AgentLifecycle>();
        NightwatchRecords? nightwatch = null;
        try
        {
            nightwatch = await _factory.Ask<NightwatchRecords>(new GetNightwatchRecords(since), _settings.AskTimeout, ct);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            // Nightwatch did not answer: scan without its records (the agents' history still shows escalations)
        }

        foreach (var agent in agents)
        {
            try
            {
                var history = await _factory.Ask<AgentHistory>(new GetHistory(agent, 500), _settings.AskTimeout, ct);
                records.AddRange(history.Entries.Where(e => e.At >= since));
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // history of one agent unavailable: scan without it
            }
        }

        var findings = FindingRanker.Rank(new ScanInput(commits, todos, records, nightwatch));
        return new FindingsRecorded(started.ReviewId, Now, findings.Take(20).ToList(), commits.Count);
    }

    private async Task<IReviewEvent?> AssignAsync(ReviewRecord r, CompoundReviewSpec spec, CancellationToken ct)
    {
        var top = r.Findings!.Findings[0];
        var branch = await Worktrees.ChooseBranchAsync(r.Started.Repo, r.Started.At, top.Slug, ct);
        var task = TaskWriter.Write(top, r.Started, spec.Gates.Select(g => g.Name).ToList(), r.Findings.Findings.Count - 1);
        var worktree = Path.Combine(_settings.WorktreeRoot, r.Started.ReviewId);
        if (r.Started.Agent is { } agent)
        {
            return new TaskAssigned(r.Started.ReviewId, Now, agent, task, branch, worktree, "compound_review.agent");
        }

        // no agent configured: the router picks the best fit by capabilities for this task, as /api/route does
        var decision = await _factory.Ask<RouteDecision>(new RouteTask(task), _settings.AskTimeout, ct);
        if (decision.Agent is not { } chosen)
        {
            throw new ReviewAssignException(
                "compound_review.agent is not set and no agent's capabilities match the review's task " +
                "(the router's best fit is by agents[].capabilities named in the task, e.g. review, tests, refactor): set compound_review.agent or give an AI agent such a capability");
        }

        return new TaskAssigned(r.Started.ReviewId, Now, chosen, task, branch, worktree, RoutedBecause(chosen, decision));
    }

    /// <summary>Why the router's choice: the agent's capabilities the task names, and the route it gave.</summary>
    private string RoutedBecause(string agent, RouteDecision decision)
    {
        var spec = _fleet?.Agents.FirstOrDefault(a => a.Name == agent);
        var caps = spec is null ? string.Empty : string.Join(", ", spec.Capabilities);
        var route = decision.Chosen is { } c ? $"; route: {c.Cli}{(c.Provider is null ? string.Empty : " via " + c.Provider)}{(c.Model is null ? string.Empty : " (" + c.Model + ")")}: {c.Reason}" : string.Empty;
        return $"router: best fit by capabilities [{caps}] for the review's task{route}";
    }

    private async Task<IReviewEvent?> StartAgentAsync(ReviewRecord r, CancellationToken ct)
    {
        var t = r.Task!;
        await Worktrees.EnsureAsync(r.Started.Repo, r.Started.BaseBranch, t.Branch, t.Worktree, HooksDirectory(r.Started.ReviewId), ct);
        var answer = await _factory.Ask<CommandResult>(new StartAgent(t.Agent, t.Task, t.Worktree, Requester.CompoundReview), _settings.AskTimeout, ct);
        if (!answer.Ok || answer.RunId is null)
        {
            throw new RetryException($"agent '{t.Agent}' did not start: {answer.Message}");
        }

        return new ReviewAgentStarted(r.Started.ReviewId, Now, answer.RunId);
    }

    private void OnOutput(AgentOutput output)
    {
        if (Active?.Task?.Agent != output.Agent)
        {
            return;
        }

        if (!_outputs.TryGetValue(output.RunId, out var text))
        {
            if (_outputs.Count >= 8)
            {
                _outputs.Remove(_outputs.Keys.First());
            }

            text = _outputs[output.RunId] = new BoundedText(2000, tail: true);
        }

        foreach (var line in output.Lines)
        {
            text.AppendLine(line.Text);
        }
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (_draining || e.RunId is null || e.Kind is not (LifecycleKind.Exited or LifecycleKind.Crashed or LifecycleKind.Stopped or LifecycleKind.Killed or LifecycleKind.Unavailable))
        {
            return;
        }

        if (Active is not { } r || r.Task?.Agent != e.Agent)
        {
            return;
        }

        if (_ended.Count >= 32)
        {
            _ended.Remove(_ended.Keys.First());
        }

        _ended[e.RunId] = e;
        CheckRunEnded(r);
    }

    /// <summary>When the awaited run has ended: commit what the agent left and record the agent's end.</summary>
    private void CheckRunEnded(ReviewRecord r)
    {
        if (_busy || r.Finished is not null || r.Runs is not { Count: > 0 } runs || !_ended.TryGetValue(runs[^1].RunId, out var end))
        {
            return;
        }

        var id = r.Started.ReviewId;
        var t = r.Task!;
        var success = end.Kind == LifecycleKind.Exited && (end.ExitCode ?? 0) == 0;
        var summary = _outputs.TryGetValue(end.RunId!, out var text) ? text.ToString().Trim() : string.Empty;
        Work(id, ReviewStage.Agent, async ct =>
        {
            var (commit, files) = await Worktrees.CommitAsync(r.Started.Repo, t.Worktree, r.Started.BaseBranch, $"Compound review {id}: {Clip(r.Findings!.Findings[0].Title, 60)}", ct);
            return new ReviewAgentFinished(id, Now, end.RunId!, success, end.ExitCode, summary, commit, files);
        });
    }

    private async Task<IReviewEvent?> OpenPrAsync(ReviewRecord r, CompoundReviewSpec spec, CancellationToken ct)
    {
        var intent = r.PrIntent!;
        var pr = await PullRequests.OpenAsync(r.Started.Repo, spec.Remote, spec.Forge, "compound_review", _settings.Environment, _settings.Http, intent.Branch, r.Started.BaseBranch, intent.Title, intent.Body, ct);
        return new PrOpened(r.Started.ReviewId, Now, pr.Number, pr.Url, pr.Existing);
    }

    private async Task<IReviewEvent?> DryRunAsync(ReviewRecord r, CompoundReviewSpec spec, CancellationToken ct)
    {
        var (title, body) = PullRequestText(r);
        var dir = Path.Combine(_settings.ReviewsDirectory, r.Started.ReviewId);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "report.md");
        var report = new StringBuilder()
            .Append("# Dry run: ").Append(title).Append("\n\n")
            .Append("create_prs is off: nothing was pushed. With it on, the review would push branch `").Append(r.Task!.Branch)
            .Append("` to remote `").Append(spec.Remote).Append("` and open this pull request into `").Append(r.Started.BaseBranch).Append("`.\n\n")
            .Append("Commit: ").Append(r.Finished!.Commit).Append("  \nWorktree: ").Append(r.Task.Worktree).Append("\n\n")
            .Append(body);
        await File.WriteAllTextAsync(path, report.ToString(), ct);
        return new DryRunRecorded(r.Started.ReviewId, Now, path);
    }

    private static (string Title, string Body) PullRequestText(ReviewRecord r)
    {
        var f = r.Findings!.Findings[0];
        var title = "Compound review: " + Clip(f.Title, 90);
        var sb = new StringBuilder();
        sb.Append("## Finding\n\n").Append(f.Title).Append("\n\n- Where: ").Append(f.Where).Append("\n- Why it matters: ").Append(f.Why)
            .Append("\n- Kind, priority: ").Append(f.Kind.ToString().ToLowerInvariant()).Append(", ").Append(f.Priority).Append("\n\n");
        sb.Append("## Agent summary\n\n").Append(string.IsNullOrWhiteSpace(r.Finished?.Summary) ? "(the agent printed nothing)" : "```\n" + r.Finished!.Summary + "\n```").Append("\n\n");
        sb.Append("Files changed: ").Append(string.Join(", ", r.Finished?.FilesChanged ?? [])).Append("\n\n");
        sb.Append("## Gates\n\n| gate | result | exit | time |\n|---|---|---|---|\n");
        foreach (var g in r.Gates?.Results ?? [])
        {
            sb.Append("| ").Append(g.Name).Append(" | ").Append(g.Passed ? "passed" : g.TimedOut ? "timed out" : "failed").Append(" | ")
                .Append(g.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-").Append(" | ").Append(g.DurationMs).Append(" ms |\n");
        }

        sb.Append("\nOpened by Dark Factory's compound review ").Append(r.Started.ReviewId).Append(" (run ").Append(r.Finished?.RunId).Append(").\n");
        return (title, sb.ToString());
    }

    private string HooksDirectory(string reviewId) => Path.Combine(_settings.ReviewsDirectory, reviewId, "hooks");

    /// <summary>A gate's whole environment: the agent's allowlist of the daemon's (never a provider key or the forge token), its run marker.</summary>
    private Dictionary<string, string> GateEnvironment(string reviewId)
    {
        var env = ChildEnvironment.Allowlisted(_settings.Environment);
        env[ProcessTree.RunMarker] = _settings.MarkerPrefix + "review/" + reviewId;
        env["DF_REVIEW_ID"] = reviewId;
        return env;
    }

    private static string Clip(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private sealed record StepResult(int Generation, string ReviewId, ReviewStage Step, IReviewEvent? Event, string? Error);

    private sealed record Advance;

    private sealed record Deadline(string ReviewId);

    private sealed record CronTick(DateTimeOffset Due);

    private sealed class ReviewAssignException(string message) : Exception(message);

    private sealed class RetryException(string message) : Exception(Prefix + message)
    {
        public const string Prefix = "retry: ";
    }
}
