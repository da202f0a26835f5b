using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Scheduling;

/// <summary>
/// The shared cron timer on virtual time: the actor system's <see cref="TestScheduler"/> runs the timers and a
/// <see cref="ManualClock"/> is the wall clock; moving them apart is how a wall-clock jump or a suspended host looks.
/// </summary>
public sealed class CronTimerSpec : TestKit
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(Start);
    private readonly TestProbe _due;

    public CronTimerSpec(ITestOutputHelper output)
        : base("""akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """, output)
    {
        _due = CreateTestProbe("due");
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef Host() => Sys.ActorOf(Props.Create(() => new TimerHost(_clock, _due.Ref)));

    /// <summary>Both clocks move (time passes), then the host has handled what came due.</summary>
    private async Task Pass(IActorRef host, TimeSpan by)
    {
        _clock.Advance(by);
        Scheduler.Advance(by);
        await Sync(host);
    }

    /// <summary>The host has handled every message sent before this (timers that came due included).</summary>
    private static Task Sync(IActorRef host) => host.Ask<TimerHost.Armed>(TimerHost.Ping.Instance);

    [Fact]
    public async Task A_firing_hours_away_comes_once_at_its_time_through_hour_long_slices()
    {
        var host = Host();
        host.Tell(new TimerHost.Arm("job", Start.AddHours(3), "nightly"));
        await Sync(host);

        await Pass(host, TimeSpan.FromHours(1));
        await Pass(host, TimeSpan.FromHours(1));
        await Pass(host, TimeSpan.FromMinutes(59));
        await _due.ExpectNoMsgAsync(Quiet);
        await Pass(host, TimeSpan.FromMinutes(1));

        Assert.Equal("nightly", await _due.ExpectMsgAsync<string>());
        await Pass(host, TimeSpan.FromHours(2));
        await _due.ExpectNoMsgAsync(Quiet);
    }

    [Fact]
    public async Task A_wall_clock_that_jumped_ahead_fires_when_the_current_slice_ends_not_hours_later()
    {
        var host = Host();
        host.Tell(new TimerHost.Arm("job", Start.AddHours(3), "nightly"));
        await Sync(host);

        _clock.Advance(TimeSpan.FromHours(4)); // the host slept: the wall clock moved on, the timers did not
        Scheduler.Advance(TimeSpan.FromHours(1)); // the first slice ends and reads the clock

        Assert.Equal("nightly", await _due.ExpectMsgAsync<string>());
    }

    [Fact]
    public async Task A_timer_that_ends_before_the_wall_clock_reaches_the_firing_waits_for_the_rest()
    {
        var host = Host();
        host.Tell(new TimerHost.Arm("job", Start.AddMinutes(30), "soon"));
        await Sync(host);

        _clock.Advance(TimeSpan.FromMinutes(10)); // the wall clock was set back: when the timer ends it reads 12:10
        Scheduler.Advance(TimeSpan.FromMinutes(30));
        await Sync(host);
        await _due.ExpectNoMsgAsync(Quiet);
        await Pass(host, TimeSpan.FromMinutes(20));

        Assert.Equal("soon", await _due.ExpectMsgAsync<string>());
    }

    [Fact]
    public async Task A_firing_already_past_comes_at_once_and_rearming_a_key_replaces_its_timer()
    {
        var host = Host();
        host.Tell(new TimerHost.Arm("job", Start.AddMinutes(-5), "late"));
        Assert.Equal("late", await _due.ExpectMsgAsync<string>());

        host.Tell(new TimerHost.Arm("job", Start.AddMinutes(10), "first"));
        host.Tell(new TimerHost.Arm("job", Start.AddMinutes(20), "second"));
        host.Tell(new TimerHost.Arm("other", Start.AddMinutes(15), "other"));
        await Sync(host);
        await Pass(host, TimeSpan.FromMinutes(20));

        Assert.Equal("other", await _due.ExpectMsgAsync<string>());
        Assert.Equal("second", await _due.ExpectMsgAsync<string>());
        await _due.ExpectNoMsgAsync(Quiet);
    }

    [Fact]
    public async Task A_cancelled_key_never_fires()
    {
        var host = Host();
        host.Tell(new TimerHost.Arm("job", Start.AddMinutes(10), "never"));
        host.Tell(new TimerHost.Cancel("job"));
        await Sync(host);
        await Pass(host, TimeSpan.FromHours(2));

        await _due.ExpectNoMsgAsync(Quiet);
    }

    /// <summary>An actor that arms <see cref="CronTimer"/> keys on request and tells the probe each due message.</summary>
    private sealed class TimerHost : ReceiveActor, IWithTimers
    {
        private CronTimer? _cron;

        public TimerHost(TimeProvider clock, IActorRef due)
        {
            Receive<Arm>(a => Cron(clock).Arm(a.Key, a.Due, a.Message));
            Receive<Cancel>(c => Cron(clock).Cancel(c.Key));
            Receive<Ping>(_ => Sender.Tell(new Armed()));
            Receive<CronTimer.Tick>(t =>
            {
                if (Cron(clock).Elapsed(t))
                {
                    due.Tell(t.Message);
                }
            });
        }

        public ITimerScheduler Timers { get; set; } = null!;

        private CronTimer Cron(TimeProvider clock) => _cron ??= new CronTimer(Timers, Self, clock, TimeSpan.FromHours(1));

        public sealed record Arm(string Key, DateTimeOffset Due, string Message);

        public sealed record Cancel(string Key);

        public sealed record Armed;

        public sealed class Ping
        {
            public static readonly Ping Instance = new();
        }
    }
}
