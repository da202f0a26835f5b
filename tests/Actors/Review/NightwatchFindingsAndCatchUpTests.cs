using DarkFactory.Actors.Review;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>Pure rules of round 2: Nightwatch's records as findings, and the schedule's catch-up after downtime.</summary>
public sealed class NightwatchFindingsAndCatchUpTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 5, 0, 0, TimeSpan.Zero);

    private static DriftCorrection Correction(string agent, DriftLevel level, CorrectionAction action, int minutesAgo, string reason = "errors 0.40") =>
        new(agent, Now.AddMinutes(-minutesAgo), level, action, 0.3, reason, "stop retrying the same failing command", "run-" + minutesAgo);

    private static EscalationEntry Escalated(string agent, int minutesAgo, bool? delivered) => new(
        new Escalation("esc-" + minutesAgo, agent, Now.AddMinutes(-minutesAgo), DriftLevel.Critical, 0.91, "loops 0.95: the same line 40 times", DriftComponents.Zero with { Loops = 0.95 }),
        delivered is null ? null : new EscalationDelivered("esc-" + minutesAgo, Now.AddMinutes(-minutesAgo), delivered.Value, delivered.Value ? "HTTP 200" : "connection refused (http://127.0.0.1)"));

    [Fact]
    public void Nightwatch_escalations_and_drift_incidents_become_findings_by_the_documented_priority()
    {
        var records = new NightwatchRecords(
            [
                Correction("coder", DriftLevel.Minor, CorrectionAction.Hint, 50),
                Correction("coder", DriftLevel.Severe, CorrectionAction.Pause, 40, "stall 0.80: no output for 12m"),
                Correction("tester", DriftLevel.Moderate, CorrectionAction.Restart, 30),
            ],
            [Escalated("looper", 20, delivered: false)]);
        var revert = new ScannedCommit("abcdef123456", Now.AddHours(-2), "a", "Revert \"x\"", [new FileChange("a", 1, 1)]);

        var findings = FindingRanker.Rank(new ScanInput([revert], [], [], records));

        Assert.Equal(
            [(FindingKind.Escalation, 100), (FindingKind.Revert, 80), (FindingKind.DriftIncident, 75), (FindingKind.DriftIncident, 70)],
            findings.Select(f => (f.Kind, f.Priority)));
        Assert.Contains("looper was escalated by Nightwatch: critical drift, score 0.91: loops 0.95", findings[0].Title);
        Assert.Contains("webhook delivery failed", findings[0].Why);
        Assert.Equal("agent looper (escalation esc-20)", findings[0].Where);
        Assert.Contains("coder drifted (severe, 2 correction(s): hint, pause): stall 0.80", findings[2].Title);
        Assert.Equal("agent coder (run run-40)", findings[2].Where);
        Assert.Contains("Last hint: stop retrying", findings[2].Why);
        Assert.Equal("drift-tester", findings[3].Slug);
    }

    [Fact]
    public void An_escalation_Nightwatch_recorded_is_not_found_twice_through_the_agents_history()
    {
        var history = new[]
        {
            new AgentLifecycle("looper", LifecycleKind.Escalated, Now.AddMinutes(-20), Detail: "critical drift"),
            new AgentLifecycle("other", LifecycleKind.Escalated, Now.AddMinutes(-10), Detail: "layer intensity exceeded"),
        };
        var records = new NightwatchRecords([], [Escalated("looper", 20, delivered: true)]);

        var findings = FindingRanker.Rank(new ScanInput([], [], history, records));

        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.Equal(FindingKind.Escalation, f.Kind));
        Assert.Single(findings, f => f.Where.StartsWith("agent looper", StringComparison.Ordinal));
        Assert.DoesNotContain("webhook", findings.Single(f => f.Where.StartsWith("agent looper", StringComparison.Ordinal)).Why);
    }

    [Theory]
    [InlineData(DriftLevel.Minor, 65)]
    [InlineData(DriftLevel.Moderate, 70)]
    [InlineData(DriftLevel.Severe, 75)]
    [InlineData(DriftLevel.Critical, 80)]
    public void Drift_priority_follows_the_highest_level(DriftLevel level, int priority) => Assert.Equal(priority, FindingRanker.DriftPriority(level));

    private static readonly CronSchedule Nightly = CronSchedule.Parse("0 2 * * *");

    private static ReviewScheduleFired Fired(DateTimeOffset due) => new(due, due, "started", "r1");

    [Fact]
    public void Without_a_recorded_firing_the_schedule_is_armed_and_nothing_runs()
    {
        var d = ReviewSchedule.OnStart(Nightly, null, Now, TimeSpan.FromHours(24), CatchUpPolicy.Once);
        Assert.Equal(new CatchUpDecision("armed", Now, 0), d);
    }

    [Fact]
    public void A_firing_missed_within_since_is_caught_up_once()
    {
        // last fired two nights ago; the daemon was down at 02:00 today
        var d = ReviewSchedule.OnStart(Nightly, Fired(new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero)), Now, TimeSpan.FromHours(24), CatchUpPolicy.Once);
        Assert.Equal(new CatchUpDecision("caught-up", new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero), 1), d);
    }

    [Fact]
    public void Several_missed_firings_give_one_review_for_the_last_and_older_ones_outside_since_are_dropped()
    {
        var hourly = CronSchedule.Parse("0 * * * *");
        var d = ReviewSchedule.OnStart(hourly, Fired(Now.AddDays(-3)), Now, TimeSpan.FromHours(3), CatchUpPolicy.Once);
        Assert.Equal(new CatchUpDecision("caught-up", Now, 3), d); // 03:00, 04:00, 05:00 (05:00 is due now)
    }

    [Fact]
    public void A_missed_firing_older_than_since_is_not_caught_up()
    {
        var d = ReviewSchedule.OnStart(Nightly, Fired(new DateTimeOffset(2026, 11, 20, 2, 0, 0, TimeSpan.Zero)), Now, TimeSpan.FromHours(2), CatchUpPolicy.Once);
        Assert.Null(d);
    }

    [Fact]
    public void Nothing_missed_when_the_last_firing_is_the_latest_due()
    {
        Assert.Null(ReviewSchedule.OnStart(Nightly, Fired(new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero)), Now, TimeSpan.FromHours(24), CatchUpPolicy.Once));
    }

    [Fact]
    public void With_catch_up_skip_the_missed_firing_is_recorded_as_skipped()
    {
        var d = ReviewSchedule.OnStart(Nightly, Fired(new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero)), Now, TimeSpan.FromHours(24), CatchUpPolicy.Skip);
        Assert.Equal("skipped", d!.Outcome);
    }
}
