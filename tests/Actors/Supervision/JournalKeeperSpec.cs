using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Scheduling;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>
/// A persistent actor stopped by a failing journal is started again by its <see cref="JournalKeeper"/>
/// after a backoff, knows the fleet without waiting for a reload, and goes on; on virtual time.
/// </summary>
public sealed class JournalKeeperSpec : VirtualTimeSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 11, 59, 30, TimeSpan.Zero);
    private static readonly BackoffSpec Backoff = new() { Min = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(8), Jitter = 0, ResetAfter = TimeSpan.FromSeconds(30) };
    private readonly TestProbe _fleet;
    private readonly TestProbe _fired;

    public JournalKeeperSpec(ITestOutputHelper output)
        : base(Start, $$"""
            akka.loglevel = INFO
            {{FailingJournal.Hocon}}
            {{File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"))}}
            """, output)
    {
        _fleet = CreateTestProbe("fleet");
        _fired = CreateTestProbe("fired");
        Sys.EventStream.Subscribe(_fired.Ref, typeof(SchedulerFired));
    }

    private FailingJournal.Switch Journal => FailingJournal.For(Sys);

    private IActorRef KeptScheduler() => Sys.ActorOf(JournalKeeper.Props(
        SchedulerActor.Props(_fleet.Ref, new SchedulerSettings { Clock = Clock, JitterFraction = _ => 0, MaxTimerDelay = TimeSpan.FromDays(1) }),
        "scheduler",
        Backoff,
        () => 0));

    private static readonly AgentSpec Agent = new()
    {
        Name = "repo-health",
        Layer = LayerName.Core,
        Command = ["true"],
        Schedule = "*/10 * * * *",
        CatchUp = CatchUpPolicy.Skip,
    };

    [Fact]
    public async Task A_scheduler_stopped_by_a_failing_journal_is_started_again_with_backoff_and_fires_again()
    {
        // arrange: the scheduler knows the fleet (through the keeper), then the database breaks
        var keeper = KeptScheduler();
        keeper.Tell(new ApplyFleet(new FleetSpec { Agents = [Agent] }));
        Assert.Single((await keeper.Ask<ScheduleSnapshot>(new GetSchedule(), Wait)).Agents);
        Journal.Failing = true;

        // act: the 12:00 firing cannot be written ahead: the scheduler stops before it starts anything
        Advance(TimeSpan.FromSeconds(30));
        await AwaitConditionAsync(() => Task.FromResult(Journal.FailedWrites > 0), Wait);
        await _fleet.ExpectNoMsgAsync(Quiet);
        await _fired.ExpectNoMsgAsync(Quiet);

        // the database comes back; after the first backoff (1 s) a new scheduler recovers and re-arms
        Journal.Failing = false;
        Advance(TimeSpan.FromSeconds(1));
        await AwaitAssertAsync(
            async () => Assert.Equal("repo-health", Assert.Single((await keeper.Ask<ScheduleSnapshot>(new GetSchedule(), TimeSpan.FromSeconds(1))).Agents).Agent),
            Wait);

        // assert: the 12:00 firing that never ran is a missed firing (catch_up: skip records it, truly), and 12:10 fires
        var skipped = await _fired.ExpectMsgAsync<SchedulerFired>(Wait);
        Assert.Equal((FiringOutcome.Skipped, new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero)), (skipped.Outcome, skipped.ScheduledAt));
        Advance(TimeSpan.FromMinutes(10));
        await _fleet.ExpectMsgAsync<StartAgent>(Wait);
        _fleet.Reply(CommandResult.Done(CommandOutcome.Started, "started", "r2"));
        var fired = await _fired.ExpectMsgAsync<SchedulerFired>(Wait);
        Assert.Equal((FiringOutcome.Started, "r2"), (fired.Outcome, fired.RunId));
    }

    [Fact]
    public async Task StopPersistent_stops_the_child_after_its_writes_and_then_the_keeper_without_a_restart()
    {
        // a cluster singleton's termination message: the keeper passes it on and stops with its child (no respawn)
        var keeper = KeptScheduler();
        keeper.Tell(new ApplyFleet(new FleetSpec { Agents = [Agent] }));
        Assert.Single((await keeper.Ask<ScheduleSnapshot>(new GetSchedule(), Wait)).Agents);
        Watch(keeper);

        keeper.Tell(StopPersistent.Instance);

        await ExpectTerminatedAsync(keeper, Wait);
        Assert.Equal(0, Journal.FailedWrites);
    }

    [Fact]
    public async Task Repeated_failures_back_off_exponentially_and_messages_wait_for_the_new_child()
    {
        // arrange: every write fails, so each new scheduler tries to record that the agent is armed and stops
        var warnings = CreateTestProbe("warnings");
        Sys.EventStream.Subscribe(warnings.Ref, typeof(Akka.Event.Warning));
        Journal.Failing = true;
        var keeper = KeptScheduler();
        keeper.Tell(new ApplyFleet(new FleetSpec { Agents = [Agent] }));

        // act + assert: attempt 1 after 1 s, attempt 2 after 2 s more, nothing earlier
        Assert.Contains("in 1.0 s (attempt 1)", await KeeperWarning(warnings));
        Advance(TimeSpan.FromMilliseconds(999));
        await warnings.ExpectNoMsgAsync(Quiet);
        Advance(TimeSpan.FromMilliseconds(1));
        Assert.Contains("in 2.0 s (attempt 2)", await KeeperWarning(warnings));
        Advance(TimeSpan.FromMilliseconds(1999));
        await warnings.ExpectNoMsgAsync(Quiet);

        // a query sent while the child is down is answered by the next one, once the journal works
        var answer = keeper.Ask<ScheduleSnapshot>(new GetSchedule(), Wait);
        Journal.Failing = false;
        Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("repo-health", Assert.Single((await answer).Agents).Agent);
        Assert.Equal(2, Journal.FailedWrites);
    }

    private static async Task<string> KeeperWarning(TestProbe warnings)
    {
        while (true)
        {
            var warning = await warnings.ExpectMsgAsync<Akka.Event.Warning>(Wait);
            var text = warning.Message?.ToString() ?? "";
            if (text.Contains("starting it again", StringComparison.Ordinal))
            {
                return text;
            }
        }
    }
}
