using System.Collections.Concurrent;
using Akka.Dispatch;

namespace DarkFactory.Host.Scenarios;

/// <summary>
/// The virtual clock of one scenario sandbox: the instant every actor reads (<see cref="Clock"/>), the timers
/// the actor system's scheduler holds (<see cref="VirtualScheduler"/>), and how busy its dispatchers are
/// (<see cref="SandboxExecutor"/>: one simulation thread runs every mailbox). Time moves only when the runner says (<see cref="AdvanceTo"/>); the
/// runner moves it to the next due timer whenever the actors are idle (<see cref="WaitIdle"/>).
/// The actor system finds its instance by id in its configuration (<see cref="Find"/>).
/// </summary>
public sealed class VirtualTime : IDisposable
{
    private static readonly ConcurrentDictionary<string, VirtualTime> Registry = new(StringComparer.Ordinal);

    private readonly Lock _gate = new();
    private readonly PriorityQueue<Timer, (long Due, long Seq)> _timers = new();
    private long _nowTicks;
    private long _seq;
    private readonly System.Collections.Concurrent.ConcurrentQueue<IRunnable> _runs = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private long _busy;
    private long _activity;
    private readonly ConcurrentDictionary<object, long> _held = new();
    private readonly Lock _pump = new();
    private readonly ManualResetEventSlim _runnerIdle = new(true);
    private int _sleeping;
    private bool _runnerActive;
    private volatile bool _stopped;

    public VirtualTime(DateTimeOffset start)
    {
        _nowTicks = start.UtcTicks;
        Start = start.ToUniversalTime();
        Id = "vt-" + Guid.NewGuid().ToString("N");
        Clock = new VirtualClock(this);
        Registry[Id] = this;
        _thread = new Thread(Simulate) { IsBackground = true, Name = "scenario-simulation" };
        _thread.Start();
    }

    /// <summary>The key the sandbox's HOCON names this instance by.</summary>
    public string Id { get; }

    public DateTimeOffset Start { get; }

    public DateTimeOffset Now => new(Interlocked.Read(ref _nowTicks), TimeSpan.Zero);

    /// <summary>The clock every actor of the sandbox takes (<c>LayerServices.Clock</c>).</summary>
    public TimeProvider Clock { get; }

    /// <summary>Timers delivered so far (for the benchmark and the report).</summary>
    public long Fired { get; private set; }

    public static VirtualTime Find(string id) =>
        Registry.TryGetValue(id, out var time) ? time : throw new InvalidOperationException($"no virtual time '{id}' (the sandbox composes it before the actor system)");

    /// <summary>The due time of the earliest pending timer; null when none is pending.</summary>
    public DateTimeOffset? NextDue()
    {
        lock (_gate)
        {
            while (_timers.TryPeek(out var timer, out var key))
            {
                if (!timer.Cancelled)
                {
                    return new DateTimeOffset(key.Due, TimeSpan.Zero);
                }

                _timers.Dequeue();
            }

            return null;
        }
    }

    /// <summary>Forgets every pending timer: the actor system that set them is gone (a daemon restart in the scenario).</summary>
    public void DropTimers()
    {
        lock (_gate)
        {
            _timers.Clear();
        }
    }

    /// <summary>Holds <paramref name="action"/> until the clock reaches now + <paramref name="delay"/>.</summary>
    internal void Schedule(TimeSpan delay, Action action, ICancelable? cancelable)
    {
        if (delay < TimeSpan.Zero)
        {
            delay = TimeSpan.Zero;
        }

        lock (_gate)
        {
            _timers.Enqueue(new Timer(action, cancelable), (_nowTicks + delay.Ticks, _seq++));
        }

        Interlocked.Increment(ref _activity);
    }

    /// <summary>Moves the clock to <paramref name="to"/>, delivering every timer due by then in due order (each waits for the actors to be idle first).</summary>
    public void AdvanceTo(DateTimeOffset to, TimeSpan settle)
    {
        while (true)
        {
            Action? due = null;
            lock (_gate)
            {
                if (_timers.TryPeek(out var timer, out var key) && key.Due <= to.UtcTicks)
                {
                    _timers.Dequeue();
                    if (key.Due > _nowTicks)
                    {
                        Interlocked.Exchange(ref _nowTicks, key.Due);
                    }

                    if (!timer.Cancelled)
                    {
                        due = timer.Action;
                    }
                }
                else
                {
                    if (to.UtcTicks > _nowTicks)
                    {
                        Interlocked.Exchange(ref _nowTicks, to.UtcTicks);
                    }

                    return;
                }
            }

            if (due is not null)
            {
                Fired++;
                due();
                WaitIdle(settle);
            }
        }
    }

    /// <summary>
    /// Blocks until no mailbox is scheduled or running, the thread pool holds no queued work, and nothing new
    /// happened for a few rounds (a task the actors started, such as a journal write, lands meanwhile).
    /// </summary>
    public void WaitIdle(TimeSpan settle)
    {
        // the runner takes the simulation thread's turn: it runs the queued mailboxes itself (no thread hop per
        // timer, no second thread spinning against it on a loaded machine), one at a time, in their order
        Volatile.Write(ref _runnerActive, true);
        _runnerIdle.Reset();
        try
        {
            lock (_pump)
            {
                var quiet = 0;
                var seen = Interlocked.Read(ref _activity);
                var deadline = Environment.TickCount64 + 30_000;
                var settleUntil = settle > TimeSpan.Zero ? Environment.TickCount64 + (long)settle.TotalMilliseconds : 0;
                while (true)
                {
                    var ran = false;
                    while (_runs.TryDequeue(out var run))
                    {
                        RunOne(run);
                        ran = true;
                    }

                    var activity = Interlocked.Read(ref _activity);
                    if (ran || activity != seen || ThreadPool.PendingWorkItemCount > 0 || Held())
                    {
                        quiet = 0;
                        seen = activity;
                        if (settle > TimeSpan.Zero)
                        {
                            settleUntil = Environment.TickCount64 + (long)settle.TotalMilliseconds;
                        }

                        if (!ran)
                        {
                            Thread.Yield();
                        }
                    }
                    else if (++quiet >= QuietRounds && (settleUntil == 0 || Environment.TickCount64 >= settleUntil))
                    {
                        return;
                    }
                    else
                    {
                        Thread.SpinWait(QuietSpin);
                    }

                    if (Environment.TickCount64 > deadline)
                    {
                        throw new TimeoutException("the scenario's actors did not become idle within 30 s of wall time (a busy loop?)");
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _runnerActive, false);
            _runnerIdle.Set();
        }
    }

    /// <summary>
    /// Background work of the actors held in flight (<see cref="Hold"/>): a step of the review or of a project runs
    /// in a task, and the clock must not move past it while its code runs. A step that is waiting for something only
    /// the clock brings (an ask to an actor that is down times out on virtual time) would wait for ever: once it has
    /// been held <see cref="MaxHold"/> of wall time, the clock moves on without it.
    /// </summary>
    public IDisposable Hold()
    {
        var release = new Release(this);
        _held[release] = Environment.TickCount64;
        Interlocked.Increment(ref _activity);
        return release;
    }

    /// <summary>How long one piece of held work may keep the clock still (wall time from its start).</summary>
    public TimeSpan MaxHold { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Work is held in flight that began less than <see cref="MaxHold"/> ago.</summary>
    private bool Held()
    {
        if (_held.IsEmpty)
        {
            return false;
        }

        var now = Environment.TickCount64;
        return _held.Values.Any(began => now - began < (long)MaxHold.TotalMilliseconds);
    }

    private sealed class Release(VirtualTime time) : IDisposable
    {
        public void Dispose()
        {
            if (time._held.TryRemove(this, out _))
            {
                Interlocked.Increment(ref time._activity);
            }
        }
    }

    /// <summary>Consecutive quiet checks (no mailbox scheduled or running, no queued work, nothing new) that make "idle".</summary>
    public static int QuietRounds { get; set; } = 8;

    /// <summary>Spin iterations between two quiet checks.</summary>
    public static int QuietSpin { get; set; } = 50;

    /// <summary>A mailbox run of the sandbox's actors: queued for the simulation thread (<see cref="SandboxExecutor"/>).</summary>
    internal void Execute(IRunnable run)
    {
        Interlocked.Increment(ref _busy);
        Interlocked.Increment(ref _activity);
        _runs.Enqueue(run);
        if (Interlocked.Exchange(ref _sleeping, 0) == 1)
        {
            _wake.Release();
        }
    }

    /// <summary>
    /// The simulation thread: runs the actors' mailboxes one at a time in the order they were scheduled, while the
    /// runner is not running them itself (<see cref="WaitIdle"/>): at start-up, and while the runner awaits a reply.
    /// </summary>
    private void Simulate()
    {
        var spin = new SpinWait();
        while (!_stopped)
        {
            if (Volatile.Read(ref _runnerActive))
            {
                _runnerIdle.Wait(50);
                continue;
            }

            var ran = false;
            lock (_pump)
            {
                while (!Volatile.Read(ref _runnerActive) && _runs.TryDequeue(out var run))
                {
                    RunOne(run);
                    ran = true;
                }
            }

            if (ran)
            {
                spin.Reset();
                continue;
            }

            if (!spin.NextSpinWillYield)
            {
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }

            Interlocked.Exchange(ref _sleeping, 1);
            if (!_runs.IsEmpty)
            {
                Interlocked.Exchange(ref _sleeping, 0);
                continue;
            }

            _wake.Wait(50);
            spin.Reset();
        }
    }

    private void RunOne(IRunnable run)
    {
        try
        {
            run.Run();
        }
        finally
        {
            Interlocked.Decrement(ref _busy);
        }
    }

    public void Dispose()
    {
        Registry.TryRemove(Id, out _);
        _stopped = true;
        _wake.Release();
        _runnerIdle.Set();
        _thread.Join(TimeSpan.FromSeconds(5));
        _wake.Dispose();
        _runnerIdle.Dispose();
    }

    private sealed record Timer(Action Action, ICancelable? Cancelable)
    {
        public bool Cancelled => Cancelable?.IsCancellationRequested == true;
    }

    private sealed class VirtualClock(VirtualTime time) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => time.Now;

        public override long GetTimestamp() => time.Now.UtcTicks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }
}
