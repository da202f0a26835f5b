using System.Diagnostics;
using Akka.Configuration;
using Akka.Dispatch;

namespace DarkFactory.Actors.Timing;

/// <summary>
/// The daemon's Akka scheduler (<c>akka.scheduler.implementation</c>, hocon/darkfactory.conf): no tick. One thread
/// sleeps until the earliest pending timer is due (or until a timer due earlier is added) and runs what is due, so an
/// idle daemon wakes only when a timer of its own is due, and every delay is as exact as the operating system's wait
/// (a zero delay runs at once). Akka's <see cref="HashedWheelTimerScheduler"/> instead wakes every
/// <c>akka.scheduler.tick-duration</c> whether anything is due or not, and rounds every delay up to a tick.
/// <para>The contract kept (Akka's own scheduler): timers due at the same instant run in the order they were scheduled;
/// a cancelled timer never runs (a repeated one stops); a repeated timer runs again <c>interval</c> after each run; an
/// action that throws is logged and, if repeated, not run again; the actions run on the scheduler's thread (they are
/// tells: keep them short); after <see cref="Dispose"/> nothing can be scheduled and every timer still pending and not
/// cancelled runs once. Cancelled timers are dropped when they come due, or sooner when they pile up (a timer replaced
/// over and over, far in the future).</para>
/// </summary>
public sealed class TicklessScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    private const int LeastPurge = 1024;

    private readonly object _gate = new();
    private readonly long _origin = Stopwatch.GetTimestamp();
    private readonly TimeSpan _shutdownTimeout;
    private readonly Thread _thread;
    private PriorityQueue<Timer, (long Due, long Seq)> _timers = new();
    private long _seq;
    private int _purgeAt = LeastPurge;
    private bool _stopping;
    private long _wakeups;

    public TicklessScheduler(Config config, ILoggingAdapter log)
        : base(config, log)
    {
        _shutdownTimeout = SchedulerConfig.GetTimeSpan("akka.scheduler.shutdown-timeout", TimeSpan.FromSeconds(5), allowInfinite: false);
        _thread = new Thread(Run) { IsBackground = true, Name = "df-scheduler" };
        _thread.Start();
    }

    /// <summary>How many times the scheduler's thread woke up (to run timers, or because one due earlier was added).</summary>
    public long Wakeups => Interlocked.Read(ref _wakeups);

    /// <summary>Timers held (pending, and cancelled ones not dropped yet).</summary>
    public int Held
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count;
            }
        }
    }

    protected override DateTimeOffset TimeNow => DateTimeOffset.Now;

    public override TimeSpan MonotonicClock => Stopwatch.GetElapsedTime(_origin);

    public override TimeSpan HighResMonotonicClock => Stopwatch.GetElapsedTime(_origin);

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, new Tell(receiver, message, sender), cancelable);

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(initialDelay, interval, new Tell(receiver, message, sender), cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, new ActionRunnable(action), cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, action, cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Add(initialDelay, interval, new ActionRunnable(action), cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Add(initialDelay, interval, action, cancelable);

    private long NowTicks => Stopwatch.GetElapsedTime(_origin).Ticks;

    private void Add(TimeSpan delay, TimeSpan interval, IRunnable action, ICancelable? cancelable)
    {
        var due = NowTicks + delay.Ticks;
        lock (_gate)
        {
            if (_stopping)
            {
                throw new SchedulerException("cannot schedule after the scheduler stopped");
            }

            var wake = !_timers.TryPeek(out _, out var head) || due < head.Due;
            Enqueue(new Timer(action, cancelable, interval.Ticks), due);
            if (_timers.Count >= _purgeAt)
            {
                Purge();
            }

            if (wake)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    private void Enqueue(Timer timer, long due) => _timers.Enqueue(timer, (due, _seq++));

    // under the gate: drops the cancelled timers (amortised: the next purge waits until the queue doubles)
    private void Purge()
    {
        var kept = new PriorityQueue<Timer, (long Due, long Seq)>();
        foreach (var (timer, key) in _timers.UnorderedItems)
        {
            if (!timer.Cancelled)
            {
                kept.Enqueue(timer, key);
            }
        }

        _timers = kept;
        _purgeAt = Math.Max(LeastPurge, kept.Count * 2);
    }

    private void Run()
    {
        var due = new List<Timer>();
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    if (!_timers.TryPeek(out _, out var head))
                    {
                        Monitor.Wait(_gate);
                        Interlocked.Increment(ref _wakeups);
                        continue;
                    }

                    var wait = head.Due - NowTicks;
                    if (wait <= 0)
                    {
                        break;
                    }

                    var ms = (wait + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
                    Monitor.Wait(_gate, (int)Math.Min(ms, int.MaxValue));
                    Interlocked.Increment(ref _wakeups);
                }

                var now = NowTicks;
                while (_timers.TryPeek(out var timer, out var key) && key.Due <= now)
                {
                    _timers.Dequeue();
                    if (!timer.Cancelled)
                    {
                        due.Add(timer);
                    }
                }
            }

            foreach (var timer in due)
            {
                if (Execute(timer) && timer.Interval > 0 && !timer.Cancelled)
                {
                    lock (_gate)
                    {
                        if (!_stopping)
                        {
                            Enqueue(timer, NowTicks + timer.Interval);
                        }
                    }
                }
            }

            due.Clear();
        }
    }

    // runs a timer's action; false when it threw (logged)
    private bool Execute(Timer timer)
    {
        try
        {
            timer.Action.Run();
            return true;
        }
        catch (SchedulerException)
        {
            return false; // a tell to a terminated system
        }
        catch (Exception e)
        {
            Log.Error(e, "Error while executing scheduled task {0}", timer.Action);
            return false;
        }
    }

    /// <summary>Stops the thread; every timer still pending and not cancelled runs once (as Akka's scheduler does at shutdown).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        if (Thread.CurrentThread != _thread && !_thread.Join(_shutdownTimeout))
        {
            Log.Warning("The scheduler's thread did not stop within {0}", _shutdownTimeout);
        }

        List<Timer> left;
        lock (_gate)
        {
            left = [];
            while (_timers.TryDequeue(out var timer, out _))
            {
                if (!timer.Cancelled)
                {
                    left.Add(timer);
                }
            }
        }

        foreach (var timer in left)
        {
            Execute(timer);
        }
    }

    private sealed class Timer(IRunnable action, ICancelable? cancelable, long interval)
    {
        public IRunnable Action { get; } = action;

        public long Interval { get; } = interval;

        public bool Cancelled => cancelable?.IsCancellationRequested ?? false;
    }

    private sealed class Tell(ICanTell receiver, object message, IActorRef sender) : IRunnable
    {
        public void Run() => receiver.Tell(message, sender);

        public void Execute() => Run();

        public override string ToString() => $"[{receiver}.Tell({message}, {sender})]";
    }
}
