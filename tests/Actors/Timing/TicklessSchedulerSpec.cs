using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Timing;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Timing;

/// <summary>
/// The tickless scheduler, alone and as an actor system's scheduler: order (by due time, then as scheduled),
/// cancellation (before it is due, and of a repeated timer between runs), repeated timers, a zero delay, an action that
/// throws, cancelled timers piling up, shutdown (pending timers run once, nothing scheduled after), and what it is for:
/// no wake-up while nothing is due.
/// </summary>
public sealed class TicklessSchedulerSpec(ITestOutputHelper output) : TestKit(SystemConfig, output: output)
{
    private static readonly string SystemConfig = $$"""
        akka.scheduler.implementation = "{{typeof(TicklessScheduler).FullName}}, {{typeof(TicklessScheduler).Assembly.GetName().Name}}"
        akka.loglevel = INFO
        """;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static TicklessScheduler Alone() =>
        new(ConfigurationFactory.ParseString("akka.scheduler.shutdown-timeout = 5s"), NoLogger.Instance);

    private static IAdvancedScheduler Adv(IScheduler s) => s.Advanced;

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(5);
        }
    }

    [Fact]
    public void The_actor_system_runs_on_it()
    {
        Assert.IsType<TicklessScheduler>(Sys.Scheduler);
    }

    [Fact]
    public async Task Timers_fire_by_due_time_and_those_due_together_in_the_order_they_were_scheduled()
    {
        using var s = Alone();
        var fired = new ConcurrentQueue<string>();
        var all = new CountdownEvent(6);
        void At(int ms, string name) => Adv(s).ScheduleOnce(TimeSpan.FromMilliseconds(ms), () =>
        {
            fired.Enqueue(name);
            all.Signal();
        });

        At(300, "c");
        At(100, "a");
        At(200, "b");
        At(400, "d1");
        At(400, "d2");
        At(400, "d3");

        Assert.True(all.Wait(Wait));
        Assert.Equal(["a", "b", "c", "d1", "d2", "d3"], fired);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_timer_fires_no_earlier_than_its_delay_and_a_zero_delay_at_once()
    {
        using var s = Alone();
        var started = s.MonotonicClock;
        var at = new TaskCompletionSource<TimeSpan>();
        Adv(s).ScheduleOnce(TimeSpan.FromMilliseconds(150), () => at.SetResult(s.MonotonicClock));
        Assert.True(await at.Task.WaitAsync(Wait) - started >= TimeSpan.FromMilliseconds(150));

        var now = new TaskCompletionSource<TimeSpan>();
        var asked = s.MonotonicClock;
        Adv(s).ScheduleOnce(TimeSpan.Zero, () => now.SetResult(s.MonotonicClock));
        Assert.True(await now.Task.WaitAsync(Wait) - asked < TimeSpan.FromSeconds(1)); // no tick to wait for
    }

    [Fact]
    public async Task A_cancelled_timer_never_fires_and_a_cancelled_repeated_timer_stops()
    {
        using var s = Alone();
        var cancelled = 0;
        var once = new Cancelable((IScheduler)s);
        Adv(s).ScheduleOnce(TimeSpan.FromMilliseconds(100), () => Interlocked.Increment(ref cancelled), once);
        once.Cancel();

        var runs = 0;
        var repeated = new Cancelable((IScheduler)s);
        Adv(s).ScheduleRepeatedly(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20), () =>
        {
            if (Interlocked.Increment(ref runs) == 3)
            {
                repeated.Cancel();
            }
        }, repeated);

        // a marker after both: when it fires, the cancelled once-timer's time has long passed
        var marker = new TaskCompletionSource();
        Adv(s).ScheduleOnce(TimeSpan.FromMilliseconds(300), marker.SetResult);
        await marker.Task.WaitAsync(Wait);

        Assert.Equal(0, Volatile.Read(ref cancelled));
        Assert.Equal(3, Volatile.Read(ref runs));
    }

    [Fact]
    public async Task A_repeated_timer_runs_again_each_interval_after_its_run()
    {
        using var s = Alone();
        var times = new ConcurrentQueue<TimeSpan>();
        var stop = new Cancelable((IScheduler)s);
        Adv(s).ScheduleRepeatedly(TimeSpan.Zero, TimeSpan.FromMilliseconds(50), () =>
        {
            times.Enqueue(s.MonotonicClock);
            if (times.Count == 5)
            {
                stop.Cancel();
            }
        }, stop);

        await Until(() => times.Count >= 5);
        var t = times.ToArray();
        for (var i = 1; i < t.Length; i++)
        {
            Assert.True(t[i] - t[i - 1] >= TimeSpan.FromMilliseconds(50), $"run {i} came {(t[i] - t[i - 1]).TotalMilliseconds} ms after the one before");
        }
    }

    [Fact]
    public async Task An_action_that_throws_is_not_repeated_and_does_not_stop_the_others()
    {
        using var s = Alone();
        var throws = 0;
        Adv(s).ScheduleRepeatedly(TimeSpan.Zero, TimeSpan.FromMilliseconds(10), () =>
        {
            Interlocked.Increment(ref throws);
            throw new InvalidOperationException("a broken timer");
        });
        var after = new TaskCompletionSource();
        Adv(s).ScheduleOnce(TimeSpan.FromMilliseconds(200), after.SetResult);

        await after.Task.WaitAsync(Wait);
        Assert.Equal(1, Volatile.Read(ref throws));
    }

    [Fact]
    public void Cancelled_timers_far_in_the_future_do_not_pile_up()
    {
        using var s = Alone();
        for (var i = 0; i < 20_000; i++)
        {
            var c = new Cancelable((IScheduler)s);
            Adv(s).ScheduleOnce(TimeSpan.FromHours(1), () => { }, c);
            c.Cancel(); // a timer replaced over and over (IWithTimers does this)
        }

        Assert.True(s.Held < 2_048, $"{s.Held} timers held");
    }

    [Fact]
    public async Task Nothing_due_means_no_wake_up()
    {
        using var s = Alone();
        var far = new Cancelable((IScheduler)s);
        Adv(s).ScheduleOnce(TimeSpan.FromHours(1), () => { }, far);
        var first = new TaskCompletionSource();
        Adv(s).ScheduleOnce(TimeSpan.FromMilliseconds(10), first.SetResult);
        await first.Task.WaitAsync(Wait);
        var woken = s.Wakeups;

        // half a second with only the hour-long timer pending: a 100 ms tick would have woken five times
        var marker = new TaskCompletionSource();
        Adv(s).ScheduleOnce(TimeSpan.FromMilliseconds(500), marker.SetResult);
        await marker.Task.WaitAsync(Wait);
        Assert.InRange(s.Wakeups - woken, 1, 3); // the marker's own (plus an early return of the OS wait)
        far.Cancel();
    }

    [Fact]
    public void On_dispose_pending_timers_run_once_and_nothing_can_be_scheduled_after()
    {
        var s = Alone();
        var ran = 0;
        var skipped = new Cancelable((IScheduler)s);
        Adv(s).ScheduleOnce(TimeSpan.FromHours(1), () => Interlocked.Increment(ref ran));
        Adv(s).ScheduleRepeatedly(TimeSpan.FromHours(1), TimeSpan.FromHours(1), () => Interlocked.Increment(ref ran));
        Adv(s).ScheduleOnce(TimeSpan.FromHours(1), () => Interlocked.Increment(ref ran), skipped);
        skipped.Cancel();

        s.Dispose();

        Assert.Equal(2, ran);
        Assert.Throws<SchedulerException>(() => Adv(s).ScheduleOnce(TimeSpan.Zero, () => { }));
        s.Dispose(); // twice is harmless
    }

    [Fact]
    public async Task Actor_timers_asks_and_receive_timeouts_work_on_it()
    {
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Props.Create(() => new Timed(probe.Ref)));
        await probe.ExpectMsgAsync("single", Wait);
        await probe.ExpectMsgAsync("periodic", Wait);
        await probe.ExpectMsgAsync("periodic", Wait);
        await probe.ExpectMsgAsync("idle", Wait);

        var silent = Sys.ActorOf(Props.Create(() => new Silent()));
        await Assert.ThrowsAsync<AskTimeoutException>(() => silent.Ask<object>("anything", TimeSpan.FromMilliseconds(100)));
        Watch(actor);
        Sys.Stop(actor);
        await ExpectTerminatedAsync(actor, Wait);
    }

    private sealed class Timed : ReceiveActor, IWithTimers
    {
        private int _periodic;

        public Timed(IActorRef probe)
        {
            Receive<string>(m => m == "periodic", m =>
            {
                probe.Tell(m);
                if (++_periodic == 2)
                {
                    Timers.Cancel("periodic");
                    Context.SetReceiveTimeout(TimeSpan.FromMilliseconds(100));
                }
            });
            Receive<ReceiveTimeout>(_ =>
            {
                Context.SetReceiveTimeout(null);
                probe.Tell("idle");
            });
            Receive<string>(m => probe.Tell(m));
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart()
        {
            Timers.StartSingleTimer("single", "single", TimeSpan.FromMilliseconds(20));
            Timers.StartPeriodicTimer("periodic", "periodic", TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(30));
        }
    }

    private sealed class Silent : ReceiveActor;
}
