using Akka.Persistence;
using DarkFactory.Actors.Persistence;

namespace DarkFactory.Actors.Scheduling;

/// <summary>
/// Starts agents on their cron schedules (/user/factory/scheduler). One timer per agent on the shared
/// <see cref="CronTimer"/>, keyed by its name and re-armed after each firing; a firing sends
/// <see cref="StartAgent"/> to the factory. When the fleet answers that the previous run is still going, the
/// agent's overlap policy decides (<see cref="Overlap"/>): skip (recorded), queue (bounded by queue_limit;
/// started when an <see cref="AgentLifecycle"/> on the topics says the run ended) or replace
/// (<see cref="RestartAgent"/>). A cron firing is written ahead (<see cref="FiringDue"/>) before its start, so it
/// runs at most once even when its outcome cannot be recorded (a journal outage, a crash between); every firing's
/// outcome is persisted as a <see cref="SchedulerFired"/> and published;
/// when the fleet first arrives after a daemon restart, the firings missed since the last recorded one follow
/// the agent's catch_up policy (<see cref="CatchUp"/>). The persisted state is <see cref="SchedulerState"/>;
/// decisions about time are pure (<see cref="CronSchedule"/>, <see cref="CatchUp"/>, <see cref="Jitter"/>):
/// the actor keeps the timers, the queues and the starts in flight.
/// </summary>
public sealed class SchedulerActor : PersistentActorBase
{
    private readonly IActorRef _factory;
    private readonly SchedulerSettings _settings;
    private SchedulerState _state = SchedulerState.Empty;

    // runtime state
    private readonly Dictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _caughtUp = new(StringComparer.Ordinal);
    private List<string> _order = [];
    private CronTimer? _cron;
    private bool _suspended;

    public SchedulerActor(IActorRef factory, SchedulerSettings settings)
        : base(settings.PersistenceId, settings.SnapshotEvery, settings.Clock)
    {
        _factory = factory;
        _settings = settings;

        RecoverSnapshot<SchedulerSnapshot>(snapshot => _state = SchedulerState.From(snapshot));
        Recover<SchedulerFired>(e => _state = _state.Apply(e));
        Recover<ScheduleArmed>(e => _state = _state.Apply(e));
        Recover<FiringDue>(e => _state = _state.Apply(e));

        Command<ApplyFleet>(OnFleet);
        Command<CurrentFleet>(current => OnFleet(new ApplyFleet(current.Fleet)));
        Command<CronTimer.Tick>(t =>
        {
            if (t.Message is Fire fire && IsCurrent(fire, out var job) && Cron.Elapsed(t))
            {
                OnFire(job, fire);
            }
        });
        Command<StartAnswered>(OnStartAnswered);
        Command<AgentLifecycle>(OnLifecycle);
        Command<GetSchedule>(OnGetSchedule);
        Command<DrainFleet>(_ => Suspend());
        Command<CommandResult>(r => Log.Debug("Fleet answered a replace: {0}", r.Message));
    }

    /// <param name="factory">Where StartAgent / RestartAgent go (the factory, which routes them to the fleet).</param>
    /// <param name="settings">Clock, persistence id, snapshot interval, jitter.</param>
    public static Props Props(IActorRef factory, SchedulerSettings settings) =>
        Akka.Actor.Props.Create(() => new SchedulerActor(factory, settings));

    private CronTimer Cron => _cron ??= new CronTimer(Timers, Self, Clock, _settings.MaxTimerDelay);

    protected override void PreStart()
    {
        base.PreStart();
        Subscribe(typeof(AgentLifecycle));
    }

    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason);

        // timers and jobs died with the failed instance: ask for the fleet again instead of waiting for a reload
        _factory.Tell(GetFleet.Instance, Self);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Log.Error(reason, "Scheduler state could not be recovered");
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
            Unschedule(name);
        }

        var events = new List<IDarkFactoryMessage>();
        foreach (var spec in scheduled)
        {
            if (!CronSchedule.TryParse(spec.Schedule!, spec.Timezone, out var schedule, out var error))
            {
                // the fleet loader refuses such files; a fleet built in code may still carry one
                Log.Warning("Agent [{0}] is not scheduled: {1}", spec.Name, error);
                Unschedule(spec.Name);
                continue;
            }

            if (_jobs.TryGetValue(spec.Name, out var job))
            {
                var retime = job.Schedule.Expression != schedule!.Expression || job.Schedule.Zone.Id != schedule.Zone.Id || job.Spec.Jitter != spec.Jitter;
                (job.Spec, job.Schedule) = (spec, schedule);
                if (retime)
                {
                    Arm(job, now);
                }

                continue;
            }

            job = _jobs[spec.Name] = new Job(spec, schedule!);
            if (_caughtUp.Add(spec.Name))
            {
                events.AddRange(PlanCatchUp(job, now));
            }

            if (!_state.Knows(spec.Name))
            {
                // never fired: remember since when it is scheduled, so a daemon down at its first firings catches them up
                events.Add(new ScheduleArmed(spec.Name, now));
            }

            Arm(job, now);
        }

        _order = scheduled.Select(a => a.Name).ToList();
        if (events.Count > 0)
        {
            PersistAll(events, Persisted);
            DeferAsync(events.Count, _ => _jobs.Values.ToList().ForEach(Drain));
        }
    }

    private IReadOnlyList<SchedulerFired> PlanCatchUp(Job job, DateTimeOffset now)
    {
        var spec = job.Spec;
        var waiting = _state.WaitingOf(spec.Name);
        var plan = CatchUp.Plan(job.Schedule, _state.Since(spec.Name), now, spec.CatchUp, spec.CatchUpLimit, waiting);
        var firings = CatchUp.Firings(spec.Name, plan, spec.CatchUp, waiting, now);
        if (plan.Missed > 0)
        {
            Log.Info("Agent [{0}] missed {1} firing(s) while the daemon was down; catch_up: {2}, running {3}", spec.Name, plan.Missed, spec.CatchUp.ToString().ToLowerInvariant(), plan.Run.Count);
        }

        foreach (var queued in firings.Where(f => f.Outcome == FiringOutcome.Queued))
        {
            job.Queue.AddLast(new Pending(queued.ScheduledAt, CatchUp: true));
        }

        return firings;
    }

    private void Unschedule(string agent)
    {
        Cron.Cancel(TimerKey(agent));
        _jobs.Remove(agent);
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

    /// <summary>Arms the agent's timer for its first firing after <paramref name="after"/> (plus its jitter).</summary>
    private void Arm(Job job, DateTimeOffset after)
    {
        job.NextAt = job.Schedule.Next(after);
        if (job.NextAt is not { } at)
        {
            Cron.Cancel(TimerKey(job.Spec.Name));
            return;
        }

        Cron.Arm(TimerKey(job.Spec.Name), at + Jitter.Offset(job.Spec.Jitter, _settings.JitterFraction(job.Spec.Name)), new Fire(job.Spec.Name, at));
    }

    /// <summary>False for a stale firing: the agent was removed or re-timed, or the fleet drains.</summary>
    private bool IsCurrent(Fire fire, out Job job) =>
        _jobs.TryGetValue(fire.Agent, out job!) && !_suspended && job.NextAt == fire.ScheduledAt;

    private void OnFire(Job job, Fire fire)
    {
        // a late timer (suspended host) does not replay what it slept through
        var now = Now;
        Arm(job, fire.ScheduledAt > now ? fire.ScheduledAt : now);

        // written ahead: a firing starts only once it is on record, so it never runs twice (see FiringDue)
        Persist(new FiringDue(job.Spec.Name, fire.ScheduledAt), due =>
        {
            Persisted(due);
            if (_jobs.TryGetValue(due.Agent, out var current) && !_suspended)
            {
                Start(current, new Pending(due.ScheduledAt, CatchUp: false), fromQueue: false);
            }
        });
    }

    private void Start(Job job, Pending pending, bool fromQueue)
    {
        var agent = job.Spec.Name;
        var firedAt = Now;
        job.Starting++;
        _factory.Ask<CommandResult>(new StartAgent(agent, By: Requester.Scheduler), _settings.AskTimeout).PipeTo(
            Self,
            success: r => new StartAnswered(agent, pending, firedAt, fromQueue, r),
            failure: e => new StartAnswered(agent, pending, firedAt, fromQueue, CommandResult.Refused(CommandOutcome.NoAnswer, $"the fleet did not answer: {e.Message}")));
    }

    private void OnStartAnswered(StartAnswered answer)
    {
        var (agent, pending, result) = (answer.Agent, answer.Pending, answer.Result);
        if (_jobs.TryGetValue(agent, out var job))
        {
            job.Starting--;
        }

        if (result.Ok)
        {
            Log.Info("Agent [{0}] fired for {1:o}: run {2} started", agent, pending.ScheduledAt, result.RunId);
            Record(new SchedulerFired(agent, pending.ScheduledAt, answer.FiredAt, FiringOutcome.Started, result.RunId, answer.FromQueue ? "was queued" : null, pending.CatchUp));
            return;
        }

        if (result.Outcome != CommandOutcome.AlreadyRunning || job is null)
        {
            Log.Warning("Agent [{0}] fired for {1:o} but did not start: {2}", agent, pending.ScheduledAt, result.Message);
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

        var decision = Overlap.Decide(job.Spec.Overlap, job.Queue.Count, job.Spec.QueueLimit);
        if (decision.Outcome == FiringOutcome.Queued)
        {
            job.Queue.AddLast(pending);
        }
        else if (decision.Outcome == FiringOutcome.Replaced)
        {
            _factory.Tell(new RestartAgent(agent, Requester.Scheduler), Self);
        }

        Record(new SchedulerFired(agent, pending.ScheduledAt, answer.FiredAt, decision.Outcome, Detail: decision.Detail));
        if (decision.Outcome == FiringOutcome.Queued)
        {
            DrainIfEnded(job);
        }
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (!e.Kind.EndsRun()
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

    // ---------------------------------------------------------------- persistence and queries

    private void Record(SchedulerFired fired) => Persist(fired, Persisted);

    private void Persisted(IDarkFactoryMessage e)
    {
        _state = _state.Apply(e);
        if (e is SchedulerFired fired)
        {
            Topics.Publish(fired);
        }

        SnapshotWhenDue(_state.ToSnapshot);
    }

    private void OnGetSchedule(GetSchedule query)
    {
        var now = Now;
        var count = Math.Clamp(query.Count, 0, 100);
        var agents = _order.Where(_jobs.ContainsKey).Select(name =>
        {
            var job = _jobs[name];
            return new AgentSchedule(name, job.Schedule.Expression, job.Spec.Timezone, job.Schedule.NextN(now, count), job.Spec.Overlap, job.Spec.CatchUp,
                job.Spec.Jitter, job.Queue.Count, _state.Last.GetValueOrDefault(name));
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
