using DarkFactory.Actors.Review;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>Pure rules: Nightwatch's records as findings of the review's scan.</summary>
public sealed class NightwatchFindingsTests
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
}
