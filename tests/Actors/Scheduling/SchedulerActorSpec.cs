using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Scheduling;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Scheduling;

/// <summary>
/// The scheduler on virtual time: the TestKit's <see cref="TestScheduler"/> drives the actor's timers
/// and a <see cref="ManualClock"/> moves with it; no test waits for wall-clock time to pass. The
/// factory is a probe that answers StartAgent with typed outcomes (<see cref="CommandOutcome"/>) as a layer would.
/// </summary>
public sealed class SchedulerActorSpec : VirtualTimeSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 11, 59, 30, TimeSpan.Zero);
    private readonly TestProbe _factory;
    private readonly TestProbe _fired;

    public SchedulerActorSpec(ITestOutputHelper output)
        : base(Start, Config(), output)
    {
        _factory = CreateTestProbe("factory");
        _fired = CreateTestProbe("fired");
        Sys.EventStream.Subscribe(_fired.Ref, typeof(SchedulerFired));
    }

    private static string Config() => $$"""
        akka.loglevel = INFO
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        {{File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"))}}
        """;

    /// <summary>Moves the clock and the actor system's scheduler together.</summary>

    private SchedulerSettings Settings(int snapshotEvery = 100) => new()
    {
        Clock = Clock,
        SnapshotEvery = snapshotEvery,
        JitterFraction = _ => 0.5,
        MaxTimerDelay = TimeSpan.FromDays(400),
    };

    private IActorRef NewScheduler(int snapshotEvery = 100) => Sys.ActorOf(SchedulerActor.Props(_factory.Ref, Settings(snapshotEvery)));

    private static AgentSpec Agent(string name, string? schedule = "*/10 * * * *") => new()
    {
        Name = name,
        Layer = LayerName.Core,
        Command = ["true"],
        Schedule = schedule,
    };

    /// <summary>Applies a fleet and waits until the scheduler has armed its timers (it answers in order).</summary>
    private static async Task<ScheduleSnapshot> Apply(IActorRef scheduler, params AgentSpec[] agents)
    {
        scheduler.Tell(new ApplyFleet(new FleetSpec { Agents = agents }));
        return await scheduler.Ask<ScheduleSnapshot>(new GetSchedule(), Wait);
    }

    private static async Task<AgentSchedule> ScheduleOf(IActorRef scheduler, string agent) =>
        (await scheduler.Ask<ScheduleSnapshot>(new GetSchedule(), Wait)).Agents.Single(a => a.Agent == agent);

    private async Task ExpectStart(string agent, CommandResult answer)
    {
        var start = await _factory.ExpectMsgAsync<StartAgent>(Wait);
        Assert.Equal(agent, start.Agent);
        Assert.Null(start.Task); // the agent's own task
        Assert.Equal(Requester.Scheduler, start.By);
        _factory.Reply(answer);
    }

    /// <summary>The next firing the scheduler persisted (it publishes each on the event stream).</summary>
    private async Task<SchedulerFired> ExpectFired(FiringOutcome outcome)
    {
        var fired = await _fired.ExpectMsgAsync<SchedulerFired>(Wait);
        Assert.Equal(outcome, fired.Outcome);
        return fired;
    }

    /// <summary>A daemon whose scheduler is stopped (the next incarnation recovers from its journal).</summary>
    private async Task Down(IActorRef scheduler)
    {
        Watch(scheduler);
        Sys.Stop(scheduler);
        await ExpectTerminatedAsync(scheduler, Wait);
    }

    /// <summary>A first incarnation: the agent fires at 12:00 (run r1), then the daemon goes down.</summary>
    private async Task FiredAtNoonThenDown(AgentSpec agent, int snapshotEvery = 100)
    {
        var first = NewScheduler(snapshotEvery);
        await Apply(first, agent);
        Advance(TimeSpan.FromSeconds(30));
        await ExpectStart(agent.Name, CommandResult.Done(CommandOutcome.Started, "started", "r1"));
        await ExpectFired(FiringOutcome.Started);
        await Down(first);
    }

    private static CommandResult AlreadyRunning(string agent) => CommandResult.Refused(CommandOutcome.AlreadyRunning, $"agent '{agent}' is already running (run r0)");

    private static DateTimeOffset Utc(int hour, int minute) => new(2026, 11, 22, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public async Task Fires_at_the_cron_time_and_rearms_after_each_firing()
    {
        // arrange
        var scheduler = NewScheduler();
        await Apply(scheduler, Agent("repo-health"));

        // act + assert: nothing before 12:00, a start at 12:00
        Advance(TimeSpan.FromSeconds(29));
        await _factory.ExpectNoMsgAsync(Quiet);
        Advance(TimeSpan.FromSeconds(1));
        await ExpectStart("repo-health", CommandResult.Done(CommandOutcome.Started, "started", "r1"));
        await ExpectFired(FiringOutcome.Started);

        // re-armed for 12:10
        Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        await _factory.ExpectNoMsgAsync(Quiet);
        Advance(TimeSpan.FromSeconds(1));
        await ExpectStart("repo-health", CommandResult.Done(CommandOutcome.Started, "started", "r2"));
        var fired = await ExpectFired(FiringOutcome.Started);

        Assert.Equal(("r2", Utc(12, 10)), (fired.RunId, fired.ScheduledAt));
        var schedule = await ScheduleOf(scheduler, "repo-health");
        Assert.Equal(fired, schedule.LastFiring);
        Assert.Equal(Utc(12, 20), schedule.Next[0]);
    }

    [Fact]
    public async Task Jitter_delays_each_firing_by_the_agents_offset()
    {
        var scheduler = NewScheduler();
        await Apply(scheduler, Agent("sentinel") with { Jitter = TimeSpan.FromMinutes(2) }); // fraction 0.5: +1 min

        Advance(TimeSpan.FromSeconds(30)); // 12:00
        await _factory.ExpectNoMsgAsync(Quiet);
        Advance(TimeSpan.FromMinutes(1)); // 12:01
        await ExpectStart("sentinel", CommandResult.Done(CommandOutcome.Started, "started", "r1"));

        var fired = await ExpectFired(FiringOutcome.Started);
        Assert.Equal((Utc(12, 0), Utc(12, 1)), (fired.ScheduledAt, fired.FiredAt));
    }

    [Fact]
    public async Task Lists_the_next_firings_of_scheduled_agents_only()
    {
        var scheduler = NewScheduler();
        var snapshot = await Apply(
            scheduler,
            Agent("nightly", "30 2 * * *") with { Timezone = "America/New_York" },
            Agent("implementer", null) with { Layer = LayerName.Growth });

        var nightly = Assert.Single(snapshot.Agents);
        Assert.Equal("nightly", nightly.Agent);
        Assert.Equal("America/New_York", nightly.Timezone);
        Assert.Equal(5, nightly.Next.Count);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 7, 30, 0, TimeSpan.Zero), nightly.Next[0]); // 02:30 EST
    }

    [Fact]
    public async Task An_agent_removed_from_the_fleet_no_longer_fires()
    {
        var scheduler = NewScheduler();
        await Apply(scheduler, Agent("repo-health"));
        await Apply(scheduler, Agent("other", "0 0 * * *"));

        Advance(TimeSpan.FromMinutes(1));
        await _factory.ExpectNoMsgAsync(Quiet);
    }

    [Fact]
    public async Task Overlap_skip_records_a_skipped_firing()
    {
        var scheduler = NewScheduler();
        await Apply(scheduler, Agent("repo-health"));

        Advance(TimeSpan.FromSeconds(30));
        await ExpectStart("repo-health", AlreadyRunning("repo-health"));

        var last = await ExpectFired(FiringOutcome.Skipped);
        Assert.Contains("overlap: skip", last.Detail);
        await _factory.ExpectNoMsgAsync(Quiet);
    }

    [Fact]
    public async Task Overlap_queue_starts_a_queued_firing_when_the_run_ends_and_is_bounded()
    {
        var scheduler = NewScheduler();
        await Apply(scheduler, Agent("test-runner") with { Overlap = OverlapPolicy.Queue, QueueLimit = 1 });

        // 12:00 finds the run going: queued
        Advance(TimeSpan.FromSeconds(30));
        await ExpectStart("test-runner", AlreadyRunning("test-runner"));
        await ExpectFired(FiringOutcome.Queued);
        Assert.Equal(1, (await ScheduleOf(scheduler, "test-runner")).Queued);

        // 12:10 as well, but the queue is full: skipped
        Advance(TimeSpan.FromMinutes(10));
        await ExpectStart("test-runner", AlreadyRunning("test-runner"));
        var last = await ExpectFired(FiringOutcome.Skipped);
        Assert.Contains("queue is full", last.Detail);
        await _factory.ExpectNoMsgAsync(Quiet);

        // the run ends: the queued firing starts
        Sys.EventStream.Publish(new AgentLifecycle("test-runner", LifecycleKind.Exited, Clock.GetUtcNow(), "r0", ExitCode: 0));
        await ExpectStart("test-runner", CommandResult.Done(CommandOutcome.Started, "started", "r1"));
        var started = await ExpectFired(FiringOutcome.Started);
        Assert.Equal(Utc(12, 0), started.ScheduledAt);
        Assert.Equal(0, (await ScheduleOf(scheduler, "test-runner")).Queued);

        // nothing else waits
        Sys.EventStream.Publish(new AgentLifecycle("test-runner", LifecycleKind.Exited, Clock.GetUtcNow(), "r1", ExitCode: 0));
        await _factory.ExpectNoMsgAsync(Quiet);
    }

    [Fact]
    public async Task Overlap_replace_restarts_the_running_agent()
    {
        var scheduler = NewScheduler();
        await Apply(scheduler, Agent("upstream-sync") with { Overlap = OverlapPolicy.Replace });

        Advance(TimeSpan.FromSeconds(30));
        await ExpectStart("upstream-sync", AlreadyRunning("upstream-sync"));

        var restart = await _factory.ExpectMsgAsync<RestartAgent>(Wait);
        Assert.Equal("upstream-sync", restart.Agent);
        Assert.Equal(Requester.Scheduler, restart.By);
        _factory.Reply(CommandResult.Done(CommandOutcome.Restarting, "restarting", "r0"));
        await ExpectFired(FiringOutcome.Replaced);
    }

    [Fact]
    public async Task Overlap_follows_the_typed_outcome_not_the_wording_of_the_answer()
    {
        var scheduler = NewScheduler();
        await Apply(scheduler, Agent("test-runner") with { Overlap = OverlapPolicy.Queue, QueueLimit = 2 });

        // words that say "already running" under another outcome are a refusal, not an overlap
        Advance(TimeSpan.FromSeconds(30));
        await ExpectStart("test-runner", CommandResult.Refused(CommandOutcome.Unavailable, "agent 'test-runner' is already running out of disk"));
        await ExpectFired(FiringOutcome.Failed);

        // AlreadyRunning in any words is an overlap: queued
        Advance(TimeSpan.FromMinutes(10));
        await ExpectStart("test-runner", CommandResult.Refused(CommandOutcome.AlreadyRunning, "busy"));
        var queued = await ExpectFired(FiringOutcome.Queued);
        Assert.Equal(Utc(12, 10), queued.ScheduledAt);
        Assert.Equal(1, (await ScheduleOf(scheduler, "test-runner")).Queued);
    }

    [Fact]
    public async Task A_refused_start_is_recorded_as_failed()
    {
        var scheduler = NewScheduler();
        await Apply(scheduler, Agent("repo-health"));

        Advance(TimeSpan.FromSeconds(30));
        await ExpectStart("repo-health", CommandResult.Refused(CommandOutcome.Quarantined, "agent 'repo-health' is quarantined (crash loop)"));

        var last = await ExpectFired(FiringOutcome.Failed);
        Assert.Contains("quarantined", last.Detail);
    }

    [Theory]
    [InlineData(CatchUpPolicy.Skip, 100)]
    [InlineData(CatchUpPolicy.Once, 1)]
    [InlineData(CatchUpPolicy.All, 100)]
    [InlineData(CatchUpPolicy.All, 1)]
    public async Task After_a_daemon_restart_missed_firings_follow_the_catch_up_policy(CatchUpPolicy policy, int snapshotEvery)
    {
        // arrange: an hourly agent fires at 12:00 in the first incarnation
        var agent = Agent("dependency-audit", "0 * * * *") with { CatchUp = policy, CatchUpLimit = 2 };
        await FiredAtNoonThenDown(agent, snapshotEvery);

        // act: the daemon is down from 12:00 to 15:30 (13:00, 14:00 and 15:00 are missed), then starts again
        Advance(TimeSpan.FromHours(3.5));
        var second = NewScheduler(snapshotEvery);
        await Apply(second, agent);

        // assert
        switch (policy)
        {
            case CatchUpPolicy.Skip:
                var skipped = await ExpectFired(FiringOutcome.Skipped);
                await _factory.ExpectNoMsgAsync(Quiet);
                Assert.True(skipped.CatchUp);
                Assert.Equal(Utc(15, 0), skipped.ScheduledAt);
                Assert.Contains("3 firing(s) missed", skipped.Detail);
                break;
            case CatchUpPolicy.Once:
                Assert.Equal(Utc(15, 0), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
                await ExpectStart("dependency-audit", CommandResult.Done(CommandOutcome.Started, "started", "r2"));
                var once = await ExpectFired(FiringOutcome.Started);
                Assert.Equal((Utc(15, 0), true), (once.ScheduledAt, once.CatchUp));
                await _factory.ExpectNoMsgAsync(Quiet);
                break;
            case CatchUpPolicy.All:
                // catch_up_limit 2: 14:00 and 15:00, one after the other
                Assert.Equal(Utc(14, 0), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
                Assert.Equal(Utc(15, 0), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
                await ExpectStart("dependency-audit", CommandResult.Done(CommandOutcome.Started, "started", "r2"));
                Assert.Equal(Utc(14, 0), (await ExpectFired(FiringOutcome.Started)).ScheduledAt);
                await _factory.ExpectNoMsgAsync(Quiet);
                Sys.EventStream.Publish(new AgentLifecycle("dependency-audit", LifecycleKind.Exited, Clock.GetUtcNow(), "r2", ExitCode: 0));
                await ExpectStart("dependency-audit", CommandResult.Done(CommandOutcome.Started, "started", "r3"));
                var all = await ExpectFired(FiringOutcome.Started);
                Assert.Equal((Utc(15, 0), "r3"), (all.ScheduledAt, all.RunId));
                Sys.EventStream.Publish(new AgentLifecycle("dependency-audit", LifecycleKind.Exited, Clock.GetUtcNow(), "r3", ExitCode: 0));
                await _factory.ExpectNoMsgAsync(Quiet);
                break;
        }

        // the regular schedule goes on: 16:00
        Advance(TimeSpan.FromMinutes(30));
        await ExpectStart("dependency-audit", CommandResult.Done(CommandOutcome.Started, "started", "r9"));
    }

    [Fact]
    public async Task A_new_incarnation_does_not_repeat_firings_already_recorded()
    {
        var agent = Agent("dependency-audit", "0 * * * *") with { CatchUp = CatchUpPolicy.All, CatchUpLimit = 5 };
        await FiredAtNoonThenDown(agent);

        // restarted within the same hour: nothing was missed
        Advance(TimeSpan.FromMinutes(20));
        var second = NewScheduler();
        await Apply(second, agent);
        await _factory.ExpectNoMsgAsync(Quiet);
        await _fired.ExpectNoMsgAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task An_agent_that_never_fired_catches_up_what_it_missed_while_the_daemon_was_down()
    {
        // arrange: scheduled at 11:59:30, the daemon dies before its first firing (12:00)
        var agent = Agent("dependency-audit", "0 * * * *") with { CatchUp = CatchUpPolicy.All, CatchUpLimit = 5 };
        var first = NewScheduler();
        await Apply(first, agent);
        await Down(first);

        // act: down until 14:30 (12:00, 13:00 and 14:00 missed)
        Advance(TimeSpan.FromHours(2.5));
        var second = NewScheduler();
        await Apply(second, agent);

        // assert
        Assert.Equal(Utc(12, 0), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
        Assert.Equal(Utc(13, 0), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
        Assert.Equal(Utc(14, 0), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
        await ExpectStart("dependency-audit", CommandResult.Done(CommandOutcome.Started, "started", "r1"));
        var started = await ExpectFired(FiringOutcome.Started);
        Assert.Equal((Utc(12, 0), true), (started.ScheduledAt, started.CatchUp));
    }

    [Fact]
    public async Task A_catch_up_firing_the_daemon_died_before_starting_is_run_by_the_next_incarnation()
    {
        // arrange: fired at 12:00, down until 15:30; the second incarnation queues 15:00 and asks the
        // fleet to start it, and dies before the fleet answers
        var agent = Agent("dependency-audit", "0 * * * *") with { CatchUp = CatchUpPolicy.Once };
        await FiredAtNoonThenDown(agent);

        Advance(TimeSpan.FromHours(3.5));
        var second = NewScheduler();
        await Apply(second, agent);
        Assert.Equal(Utc(15, 0), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
        await _factory.ExpectMsgAsync<StartAgent>(Wait); // never answered
        await Down(second);

        // act: back ten minutes later, within the same hour (nothing new was missed)
        Advance(TimeSpan.FromMinutes(10));
        var third = NewScheduler();
        await Apply(third, agent);

        // assert: the 15:00 firing still runs, once
        var again = await ExpectFired(FiringOutcome.Queued);
        Assert.Equal(Utc(15, 0), again.ScheduledAt);
        Assert.Contains("queued again", again.Detail);
        await ExpectStart("dependency-audit", CommandResult.Done(CommandOutcome.Started, "started", "r2"));
        var started = await ExpectFired(FiringOutcome.Started);
        Assert.Equal((Utc(15, 0), "r2"), (started.ScheduledAt, started.RunId));
        await _factory.ExpectNoMsgAsync(Quiet);

        // and a fourth incarnation has nothing left to run
        await Down(third);
        var fourth = NewScheduler();
        await Apply(fourth, agent);
        await _factory.ExpectNoMsgAsync(Quiet);
        await _fired.ExpectNoMsgAsync(TimeSpan.Zero);
    }

    [Theory]
    [InlineData(CatchUpPolicy.Skip, 100)]
    [InlineData(CatchUpPolicy.Once, 1)]
    public async Task A_firing_queued_behind_a_running_run_is_not_lost_when_the_daemon_dies(CatchUpPolicy policy, int snapshotEvery)
    {
        // arrange: overlap queue; 12:00 started, 12:10 queued behind it, then the daemon dies
        var agent = Agent("repo-health") with { Overlap = OverlapPolicy.Queue, CatchUp = policy };
        var first = NewScheduler(snapshotEvery);
        await Apply(first, agent);
        Advance(TimeSpan.FromSeconds(30));
        await ExpectStart("repo-health", CommandResult.Done(CommandOutcome.Started, "started", "r1"));
        await ExpectFired(FiringOutcome.Started);
        Advance(TimeSpan.FromMinutes(10));
        await ExpectStart("repo-health", AlreadyRunning("repo-health"));
        Assert.Equal(Utc(12, 10), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
        await Down(first);

        // act: back at 12:15
        Advance(TimeSpan.FromMinutes(5));
        var second = NewScheduler(snapshotEvery);
        await Apply(second, agent);

        // assert: the policy decides about it like any missed firing
        if (policy == CatchUpPolicy.Skip)
        {
            var skipped = await ExpectFired(FiringOutcome.Skipped);
            Assert.Equal((Utc(12, 10), true), (skipped.ScheduledAt, skipped.CatchUp));
            await _factory.ExpectNoMsgAsync(Quiet);
            return;
        }

        Assert.Equal(Utc(12, 10), (await ExpectFired(FiringOutcome.Queued)).ScheduledAt);
        await ExpectStart("repo-health", CommandResult.Done(CommandOutcome.Started, "started", "r2"));
        var started = await ExpectFired(FiringOutcome.Started);
        Assert.Equal((Utc(12, 10), "r2"), (started.ScheduledAt, started.RunId));
    }
}
