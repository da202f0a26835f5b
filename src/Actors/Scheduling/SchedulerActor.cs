using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Scheduling;

namespace DarkFactory.Actors.Scheduling;

/// <summary>Settings of the <see cref="SchedulerActor"/>; tests inject a virtual clock and their own jitter.</summary>
public sealed record SchedulerSettings
{
    /// <summary>Wall-clock time; must move with the actor system's scheduler (tests advance both together).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public string PersistenceId { get; init; } = "scheduler";

    /// <summary>A snapshot (the last firing of each agent) every this many events; older events are deleted.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>How long a start or restart waits for the fleet's answer.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A timer longer than this is split: the clock is read again when it ends (wall-clock jumps, suspended hosts).</summary>
    public TimeSpan MaxTimerDelay { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Jitter fraction in [0, 1) per agent (default: stable per agent name).</summary>
    public Func<string, double> JitterFraction { get; init; } = Jitter.StableFraction;
}

/// <summary>
/// Starts agents on their cron schedules (/user/factory/scheduler). One single-shot timer per agent,
/// keyed by its name and re-armed after each firing; a firing sends <see cref="StartAgent"/> to the
/// fleet (through the factory). When the fleet answers that the previous run is still going, the
/// agent's overlap policy decides: skip (recorded), queue (bounded by queue_limit; started when an
/// <see cref="AgentLifecycle"/> on the event stream says the run ended) or replace
/// (<see cref="RestartAgent"/>). Every firing is persisted as a <see cref="SchedulerFired"/>; when the
/// fleet first arrives after a daemon restart, the firings missed since the last recorded one follow
/// the agent's catch_up policy (<see cref="CatchUp"/>). Each persisted firing is also published on the
/// event stream. Decisions about time are pure
/// (<see cref="CronSchedule"/>, <see cref="CatchUp"/>); the actor only keeps timers and state.
/// </summary>
public sealed class SchedulerActor : PersistentActorBase
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly IActorRef _fleet;
    private readonly SchedulerSettings _settings;

    // persisted state: the last firing of each agent (the latest cron time), when agents that never
    // fired were first armed, and the firings recorded as waiting (queued) and not yet started
    private readonly Dictionary<string, SchedulerFired> _last = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _armed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<DateTimeOffset, SchedulerFired>> _waiting = new(StringComparer.Ordinal);

    // runtime state
    private readonly Dictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _caughtUp = new(StringComparer.Ordinal);
    private List<string> _order = [];
    private bool _suspended;

    public SchedulerActor(IActorRef fleet, SchedulerSettings settings)
        : base(settings.PersistenceId, settings.SnapshotEvery, settings.Clock)
    {
        _fleet = fleet;
        _settings = settings;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is SchedulerSnapshot snapshot)
            {
                _last.Clear();
                _armed.Clear();
                _waiting.Clear();
                foreach (var fired in snapshot.Last)
                {
                    _last[fired.Agent] = fired;
                }

                foreach (var armed in snapshot.Armed ?? [])
                {
                    Apply(armed);
                }

                foreach (var waiting in snapshot.Waiting ?? [])
                {
                    Waiting(waiting.Agent)[waiting.ScheduledAt] = waiting;
                }
            }
        });
        Recover<SchedulerFired>(Apply);
        Recover<ScheduleArmed>(Apply);

        Command<ApplyFleet>(OnFleet);
        Command<CurrentFleet>(current => OnFleet(new ApplyFleet(current.Fleet)));
        Command<Fire>(OnFire);
        Command<StartAnswered>(OnStartAnswered);
        Command<AgentLifecycle>(OnLifecycle);
        Command<GetSchedule>(OnGetSchedule);
        Command<DrainFleet>(_ => Suspend());
        Command<CommandResult>(r => _log.Debug("Fleet answered a replace: {0}", r.Message));
    }

    /// <param name="fleet">Where StartAgent / RestartAgent go (the factory, which routes them to the fleet).</param>
    /// <param name="settings">Clock, persistence id, snapshot interval, jitter.</param>
    public static Props Props(IActorRef fleet, SchedulerSettings settings) =>
        Akka.Actor.Props.Create(() => new SchedulerActor(fleet, settings));

    protected override void PreStart()
    {
        base.PreStart();
        _topics.Subscribe(Self, typeof(AgentLifecycle));
    }

    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason);

        // timers and jobs died with the failed instance: ask for the fleet again instead of waiting for a reload
        _fleet.Tell(GetFleet.Instance, Self);
    }

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        base.PostStop();
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "Scheduler state could not be recovered");
        base.OnRecoveryFailure(reason, message);
    }

    // ---------------------------------------------------------------- fleet

    private void OnFleet(ApplyFleet apply)
    {
        if (_suspended)
        {
            return;
        }

        var now = Now;
        var scheduled = apply.Fleet.Agents.Where(a => !string.IsNullOrWhiteSpace(a.Schedule)).ToList();
        var wanted = scheduled.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in _jobs.Keys.Where(n => !wanted.Contains(n)).ToList())
        {
            Timers.Cancel(TimerKey(name));
            _jobs.Remove(name);
        }

        var events = new List<IDarkFactoryMessage>();
        foreach (var spec in scheduled)
        {
            if (!CronSchedule.TryParse(spec.Schedule!, spec.Timezone, out var schedule, out var error))
            {
                // the fleet loader refuses such files; a fleet built in code may still carry one
                _log.Warning("Agent [{0}] is not scheduled: {1}", spec.Name, error);
                Timers.Cancel(TimerKey(spec.Name));
                _jobs.Remove(spec.Name);
                continue;
            }

            if (_jobs.TryGetValue(spec.Name, out var job))
            {
                var retime = job.Schedule.Expression != schedule!.Expression || job.Schedule.Zone.Id != schedule.Zone.Id || job.Spec.Jitter != spec.Jitter;
                job.Spec = spec;
                job.Schedule = schedule;
                if (retime)
                {
                    Arm(job, now);
                }

                continue;
            }

            job = new Job(spec, schedule!);
            _jobs[spec.Name] = job;
            if (_caughtUp.Add(spec.Name))
            {
                events.AddRange(PlanCatchUp(job, now));
            }

            if (!_last.ContainsKey(spec.Name) && !_armed.ContainsKey(spec.Name))
            {
                // never fired: remember since when it is scheduled, so a daemon down at its first firings catches them up
                events.Add(new ScheduleArmed(spec.Name, now));
            }

            Arm(job, now);
        }

        _order = scheduled.Select(a => a.Name).ToList();
        if (events.Count == 0)
        {
            return;
        }

        PersistAll(events, PersistedAny);
        DeferAsync(events.Count, _ =>
        {
            foreach (var job in _jobs.Values)
            {
                Drain(job);
            }
        });
    }

    private IEnumerable<SchedulerFired> PlanCatchUp(Job job, DateTimeOffset now)
    {
        var spec = job.Spec;
        var since = _last.GetValueOrDefault(spec.Name)?.ScheduledAt ?? (_armed.TryGetValue(spec.Name, out var armedAt) ? armedAt : null);
        var waiting = _waiting.GetValueOrDefault(spec.Name);
        var plan = CatchUp.Plan(job.Schedule, since, now, spec.CatchUp, spec.CatchUpLimit, waiting?.Keys);
        if (plan.Missed == 0)
        {
            yield break;
        }

        var policy = spec.CatchUp.ToString().ToLowerInvariant();
        _log.Info("Agent [{0}] missed {1} firing(s) while the daemon was down; catch_up: {2}, running {3}", spec.Name, plan.Missed, policy, plan.Run.Count);
        foreach (var at in plan.Dropped.Where(at => plan.Run.Count > 0 || at != plan.LatestMissed))
        {
            yield return new SchedulerFired(spec.Name, at, now, FiringOutcome.Skipped,
                Detail: $"was waiting when the daemon stopped; not run (catch_up: {policy})", CatchUp: true);
        }

        if (plan.Run.Count == 0)
        {
            yield return new SchedulerFired(spec.Name, plan.LatestMissed!.Value, now, FiringOutcome.Skipped,
                Detail: $"{plan.Missed} firing(s) missed while the daemon was down (catch_up: skip)", CatchUp: true);
            yield break;
        }

        foreach (var at in plan.Run)
        {
            var wasWaiting = waiting?.ContainsKey(at) == true;
            job.Queue.AddLast(new Pending(at, CatchUp: true));
            yield return new SchedulerFired(spec.Name, at, now, FiringOutcome.Queued,
                Detail: wasWaiting
                    ? $"was waiting when the daemon stopped; queued again (catch_up: {policy})"
                    : $"missed while the daemon was down (catch_up: {policy}, {plan.Missed} missed)",
                CatchUp: true);
        }
    }

    private void Suspend()
    {
        _suspended = true;
        Timers.CancelAll();
        foreach (var job in _jobs.Values)
        {
            job.Queue.Clear();
        }
    }

    // ---------------------------------------------------------------- timers and firings

    private static string TimerKey(string agent) => "fire-" + agent;

    private DateTimeOffset FireTime(Job job, DateTimeOffset scheduledAt) =>
        scheduledAt + Jitter.Offset(job.Spec.Jitter, _settings.JitterFraction(job.Spec.Name));

    /// <summary>Arms the agent's timer for its first firing after <paramref name="after"/> (plus its jitter).</summary>
    private void Arm(Job job, DateTimeOffset after)
    {
        var next = job.Schedule.Next(after);
        job.NextAt = next;
        if (next is not { } at)
        {
            Timers.Cancel(TimerKey(job.Spec.Name));
            return;
        }

        StartTimer(job, at);
    }

    private void StartTimer(Job job, DateTimeOffset scheduledAt)
    {
        var delay = FireTime(job, scheduledAt) - Now;
        var fire = new Fire(job.Spec.Name, scheduledAt);
        if (delay <= TimeSpan.Zero)
        {
            Timers.Cancel(TimerKey(job.Spec.Name));
            Self.Tell(fire);
            return;
        }

        Timers.StartSingleTimer(TimerKey(job.Spec.Name), fire, delay > _settings.MaxTimerDelay ? _settings.MaxTimerDelay : delay);
    }

    private void OnFire(Fire fire)
    {
        if (_suspended || !_jobs.TryGetValue(fire.Agent, out var job) || job.NextAt != fire.ScheduledAt)
        {
            return; // a stale firing: the agent was removed or re-timed
        }

        var now = Now;
        if (FireTime(job, fire.ScheduledAt) > now)
        {
            StartTimer(job, fire.ScheduledAt); // a split long timer, or a timer that ended early
            return;
        }

        // a late timer (suspended host) does not replay what it slept through
        Arm(job, fire.ScheduledAt > now ? fire.ScheduledAt : now);
        Start(job, new Pending(fire.ScheduledAt, CatchUp: false), fromQueue: false);
    }

    private void Start(Job job, Pending pending, bool fromQueue)
    {
        var agent = job.Spec.Name;
        var firedAt = Now;
        job.Starting++;
        _fleet.Ask<CommandResult>(new StartAgent(agent, By: Requester.Scheduler), _settings.AskTimeout).PipeTo(
            Self,
            success: r => new StartAnswered(agent, pending, firedAt, fromQueue, r),
            failure: e => new StartAnswered(agent, pending, firedAt, fromQueue, CommandResult.Refused(CommandOutcome.NoAnswer, $"the fleet did not answer: {e.Message}")));
    }

    private void OnStartAnswered(StartAnswered answer)
    {
        var agent = answer.Agent;
        var pending = answer.Pending;
        _jobs.TryGetValue(agent, out var job);
        if (job is not null)
        {
            job.Starting--;
        }

        var result = answer.Result;
        if (result.Ok)
        {
            _log.Info("Agent [{0}] fired for {1:o}: run {2} started", agent, pending.ScheduledAt, result.RunId);
            Record(new SchedulerFired(agent, pending.ScheduledAt, answer.FiredAt, FiringOutcome.Started, result.RunId, answer.FromQueue ? "was queued" : null, pending.CatchUp));
            return;
        }

        if (result.Outcome != CommandOutcome.AlreadyRunning || job is null)
        {
            _log.Warning("Agent [{0}] fired for {1:o} but did not start: {2}", agent, pending.ScheduledAt, result.Message);
            Record(new SchedulerFired(agent, pending.ScheduledAt, answer.FiredAt, FiringOutcome.Failed, Detail: result.Message, CatchUp: pending.CatchUp));
            return;
        }

        if (answer.FromQueue)
        {
            // still (or again) running: keep its place at the head of the queue
            job.Queue.AddFirst(pending);
            DrainIfEnded(job);
            return;
        }

        switch (job.Spec.Overlap)
        {
            case OverlapPolicy.Queue when job.Queue.Count < job.Spec.QueueLimit:
                job.Queue.AddLast(pending);
                Record(new SchedulerFired(agent, pending.ScheduledAt, answer.FiredAt, FiringOutcome.Queued, Detail: $"the previous run is still going (overlap: queue, {job.Queue.Count} of {job.Spec.QueueLimit} waiting)"));
                DrainIfEnded(job);
                break;
            case OverlapPolicy.Queue:
                Record(new SchedulerFired(agent, pending.ScheduledAt, answer.FiredAt, FiringOutcome.Skipped, Detail: $"the previous run is still going and the queue is full (queue_limit {job.Spec.QueueLimit})"));
                break;
            case OverlapPolicy.Replace:
                _fleet.Tell(new RestartAgent(agent, Requester.Scheduler), Self);
                Record(new SchedulerFired(agent, pending.ScheduledAt, answer.FiredAt, FiringOutcome.Replaced, Detail: "the previous run was restarted (overlap: replace)"));
                break;
            default:
                Record(new SchedulerFired(agent, pending.ScheduledAt, answer.FiredAt, FiringOutcome.Skipped, Detail: "the previous run is still going (overlap: skip)"));
                break;
        }
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (e.Kind is not (LifecycleKind.Exited or LifecycleKind.Crashed or LifecycleKind.Stopped or LifecycleKind.Killed)
            || !_jobs.TryGetValue(e.Agent, out var job))
        {
            return;
        }

        if (job.Starting > 0)
        {
            job.EndedWhileStarting = true; // the answer to a start in flight may still say "already running"
        }

        Drain(job);
    }

    private void DrainIfEnded(Job job)
    {
        if (job.EndedWhileStarting && job.Starting == 0)
        {
            job.EndedWhileStarting = false;
            Drain(job);
        }
    }

    /// <summary>Starts the first waiting firing, unless a start is already in flight.</summary>
    private void Drain(Job job)
    {
        if (_suspended || job.Starting > 0 || job.Queue.First is not { } first)
        {
            return;
        }

        job.Queue.RemoveFirst();
        job.EndedWhileStarting = false;
        Start(job, first.Value, fromQueue: true);
    }

    // ---------------------------------------------------------------- persistence

    private void Record(SchedulerFired fired) => Persist(fired, Persisted);

    private void PersistedAny(IDarkFactoryMessage e)
    {
        switch (e)
        {
            case SchedulerFired fired:
                Persisted(fired);
                break;
            case ScheduleArmed armed:
                Apply(armed);
                SnapshotWhenDue();
                break;
        }
    }

    private void Persisted(SchedulerFired fired)
    {
        Apply(fired);
        _topics.Publish(fired);
        SnapshotWhenDue();
    }

    private void SnapshotWhenDue() => SnapshotWhenDue(() => new SchedulerSnapshot(
        _last.Values.ToList(),
        _armed.Select(a => new ScheduleArmed(a.Key, a.Value)).ToList(),
        _waiting.Values.SelectMany(w => w.Values).ToList()));

    private void Apply(SchedulerFired fired)
    {
        if (!_last.TryGetValue(fired.Agent, out var last) || fired.ScheduledAt >= last.ScheduledAt)
        {
            _last[fired.Agent] = fired;
        }

        // a firing waits from Queued until any other outcome for the same cron time (started, failed, skipped ...)
        if (fired.Outcome == FiringOutcome.Queued)
        {
            Waiting(fired.Agent)[fired.ScheduledAt] = fired;
        }
        else if (_waiting.TryGetValue(fired.Agent, out var waiting) && waiting.Remove(fired.ScheduledAt) && waiting.Count == 0)
        {
            _waiting.Remove(fired.Agent);
        }
    }

    private void Apply(ScheduleArmed armed) => _armed.TryAdd(armed.Agent, armed.Since);

    private SortedDictionary<DateTimeOffset, SchedulerFired> Waiting(string agent)
    {
        if (!_waiting.TryGetValue(agent, out var waiting))
        {
            waiting = [];
            _waiting[agent] = waiting;
        }

        return waiting;
    }

    // ---------------------------------------------------------------- queries

    private void OnGetSchedule(GetSchedule query)
    {
        var now = Now;
        var count = Math.Clamp(query.Count, 0, 100);
        var agents = _order.Where(_jobs.ContainsKey).Select(name =>
        {
            var job = _jobs[name];
            return new AgentSchedule(
                name,
                job.Schedule.Expression,
                job.Spec.Timezone,
                job.Schedule.NextN(now, count),
                job.Spec.Overlap,
                job.Spec.CatchUp,
                job.Spec.Jitter,
                job.Queue.Count,
                _last.GetValueOrDefault(name));
        }).ToList();
        Sender.Tell(new ScheduleSnapshot(agents));
    }

    // ---------------------------------------------------------------- local messages and state

    private sealed record Fire(string Agent, DateTimeOffset ScheduledAt);

    private sealed record Pending(DateTimeOffset ScheduledAt, bool CatchUp);

    private sealed record StartAnswered(string Agent, Pending Pending, DateTimeOffset FiredAt, bool FromQueue, CommandResult Result);

    private sealed class Job(AgentSpec spec, CronSchedule schedule)
    {
        public AgentSpec Spec { get; set; } = spec;
        public CronSchedule Schedule { get; set; } = schedule;

        /// <summary>The cron time the timer is armed for.</summary>
        public DateTimeOffset? NextAt { get; set; }

        /// <summary>Firings waiting for the running run to end (overlap: queue, and catch-up).</summary>
        public LinkedList<Pending> Queue { get; } = new();

        /// <summary>Starts sent to the fleet and not answered yet.</summary>
        public int Starting { get; set; }

        public bool EndedWhileStarting { get; set; }
    }
}
