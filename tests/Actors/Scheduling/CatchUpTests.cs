using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Fleet;
using Xunit;
namespace DarkFactory.Actors.Tests.Scheduling;

public sealed class CatchUpTests
{
    private static readonly CronSchedule Hourly = CronSchedule.Parse("0 * * * *");
    private static readonly DateTimeOffset Last = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 15, 30, 0, TimeSpan.Zero);

    private static DateTimeOffset At(int hour) => new(2026, 11, 22, hour, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Skip_runs_nothing_but_counts_what_was_missed()
    {
        var plan = CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.Skip, 3);

        Assert.Equal(5, plan.Missed); // 11, 12, 13, 14, 15
        Assert.Empty(plan.Run);
        Assert.Equal(At(15), plan.LatestMissed);
    }

    [Fact]
    public void Once_runs_the_latest_missed_firing()
    {
        var plan = CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.Once, 3);

        Assert.Equal(5, plan.Missed);
        Assert.Equal([At(15)], plan.Run);
    }

    [Fact]
    public void All_runs_the_latest_firings_up_to_the_limit_in_order()
    {
        Assert.Equal([At(13), At(14), At(15)], CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.All, 3).Run);
        Assert.Equal([At(11), At(12), At(13), At(14), At(15)], CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.All, 10).Run);
    }

    [Theory]
    [InlineData(CatchUpPolicy.Skip)]
    [InlineData(CatchUpPolicy.Once)]
    [InlineData(CatchUpPolicy.All)]
    public void Nothing_is_caught_up_without_a_last_firing_or_when_nothing_was_missed(CatchUpPolicy policy)
    {
        Assert.Same(CatchUpPlan.Nothing, CatchUp.Plan(Hourly, null, Now, policy, 3));
        Assert.Same(CatchUpPlan.Nothing, CatchUp.Plan(Hourly, Last, Last.AddMinutes(59), policy, 3));
        Assert.Same(CatchUpPlan.Nothing, CatchUp.Plan(Hourly, Now, Last, policy, 3)); // clock went backwards
    }

    [Fact]
    public void Waiting_firings_are_missed_firings_too_and_each_policy_says_which_run()
    {
        // 09:00 was queued (the previous run was still going) and 10:00 was the last firing recorded
        // before the daemon died; 11:00 .. 15:00 were missed while it was down
        DateTimeOffset[] waiting = [At(9)];

        var skip = CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.Skip, 3, waiting);
        var once = CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.Once, 3, waiting);
        var all = CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.All, 10, waiting);

        Assert.Equal((6, At(15)), (skip.Missed, skip.LatestMissed));
        Assert.Empty(skip.Run);
        Assert.Equal([At(9)], skip.Dropped);
        Assert.Equal([At(15)], once.Run);
        Assert.Equal([At(9)], once.Dropped);
        Assert.Equal([At(9), At(11), At(12), At(13), At(14), At(15)], all.Run);
        Assert.Empty(all.Dropped);
    }

    [Fact]
    public void A_waiting_catch_up_firing_is_replayed_when_nothing_else_was_missed()
    {
        // the daemon died again right after it had queued 15:00 as a catch-up firing (recorded as the
        // last firing), and came back within the hour
        var plan = CatchUp.Plan(Hourly, At(15), Now, CatchUpPolicy.Once, 3, [At(15)]);

        Assert.Equal((1, At(15)), (plan.Missed, plan.LatestMissed));
        Assert.Equal([At(15)], plan.Run);
        Assert.Empty(plan.Dropped);
    }

    [Fact]
    public void An_agent_that_never_fired_catches_up_from_when_it_was_first_scheduled()
    {
        // first scheduled at 12:20 (no firing yet), daemon down from 12:30 to 15:30
        var plan = CatchUp.Plan(Hourly, At(12).AddMinutes(20), Now, CatchUpPolicy.All, 10);

        Assert.Equal([At(13), At(14), At(15)], plan.Run);
    }

    [Fact]
    public void A_firing_exactly_now_counts_as_missed()
    {
        var plan = CatchUp.Plan(Hourly, Last, At(11), CatchUpPolicy.Once, 3);

        Assert.Equal([At(11)], plan.Run);
    }

    // ---------------------------------------------------------------- the compound review's use: one review for every missed firing within its scan window

    private static readonly CronSchedule Nightly = CronSchedule.Parse("0 2 * * *");
    private static readonly DateTimeOffset Five = new(2026, 11, 22, 5, 0, 0, TimeSpan.Zero);

    private static CatchUpPlan Review(CronSchedule cron, DateTimeOffset lastDue, TimeSpan window, CatchUpPolicy policy = CatchUpPolicy.Once) =>
        CatchUp.Plan(cron, lastDue, Five, policy, 1, notBefore: Five - window);

    [Fact]
    public void The_review_catches_up_a_firing_missed_within_its_window_once()
    {
        // last fired two nights ago; the daemon was down at 02:00 today
        var plan = Review(Nightly, new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero), TimeSpan.FromHours(24));
        Assert.Equal((1, new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero)), (plan.Missed, plan.LatestMissed));
        Assert.Equal([new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero)], plan.Run);
    }

    [Fact]
    public void Several_missed_firings_give_one_review_for_the_last_and_those_before_the_window_are_not_missed()
    {
        var plan = Review(Hourly, Five.AddDays(-3), TimeSpan.FromHours(3));
        Assert.Equal(3, plan.Missed); // 03:00, 04:00, 05:00 (05:00 is due now)
        Assert.Equal([Five], plan.Run);
    }

    [Fact]
    public void A_missed_firing_older_than_the_window_is_not_caught_up()
    {
        Assert.Same(CatchUpPlan.Nothing, Review(Nightly, new DateTimeOffset(2026, 11, 20, 2, 0, 0, TimeSpan.Zero), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void Nothing_is_missed_when_the_last_firing_is_the_latest_due()
    {
        Assert.Same(CatchUpPlan.Nothing, Review(Nightly, new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero), TimeSpan.FromHours(24)));
    }

    [Fact]
    public void With_skip_the_review_runs_nothing_and_knows_the_firing_it_skips()
    {
        var plan = Review(Nightly, new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero), TimeSpan.FromHours(24), CatchUpPolicy.Skip);
        Assert.Empty(plan.Run);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero), plan.LatestMissed);
    }

    [Fact]
    public void A_window_that_starts_before_the_last_firing_changes_nothing()
    {
        Assert.Equal(CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.All, 10).Run, CatchUp.Plan(Hourly, Last, Now, CatchUpPolicy.All, 10, notBefore: Last.AddDays(-1)).Run);
    }
}
