using System.Text.Json;
using DarkFactory.Host.Scenarios;
using DarkFactory.Messages.Agents;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>Expectations on a timeline (pure): happens, never, a count, a window; a failure names its first counter-example.</summary>
public sealed class ExpectationCheckTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    private static TimelineEntry At(TimeSpan offset, string agent, LifecycleKind kind) =>
        ScenarioEvents.Entry(new AgentLifecycle(agent, kind, Start + offset), Start + offset, Start, EntrySource.Observed);

    private static readonly IReadOnlyList<TimelineEntry> Timeline =
    [
        At(TimeSpan.FromSeconds(10), "worker", LifecycleKind.Crashed),
        At(TimeSpan.FromSeconds(25), "worker", LifecycleKind.Crashed),
        At(TimeSpan.FromSeconds(45), "worker", LifecycleKind.Crashed),
        At(TimeSpan.FromSeconds(45), "worker", LifecycleKind.Quarantined),
        At(TimeSpan.FromMinutes(30), "other", LifecycleKind.Started),
    ];

    private static Expectation Expect(string kind, string agent = "worker") =>
        new("AgentLifecycle", new Dictionary<string, string> { ["agent"] = agent, ["kind"] = kind }, 7);

    private static ExpectationResult Check(Expectation e) => ExpectationCheck.Check(e, Timeline, TimeSpan.FromHours(1));

    [Fact]
    public void An_event_that_happens_in_its_window_passes()
    {
        var result = Check(Expect("quarantined") with { Within = TimeSpan.FromMinutes(1) });
        Assert.True(result.Passed, result.Detail);
        Assert.Contains("first at +00:00:45", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_event_outside_its_window_fails_and_says_when_it_came()
    {
        var result = Check(Expect("quarantined") with { Within = TimeSpan.FromSeconds(30) });
        Assert.False(result.Passed);
        Assert.Equal("none between +00:00:00 and +00:00:30; one came outside the window at +00:00:45", result.Detail);
    }

    [Fact]
    public void A_never_that_happened_fails_with_its_first_counter_example()
    {
        var result = Check(Expect("crashed") with { Never = true });
        Assert.False(result.Passed);
        Assert.StartsWith("counter-example: at +00:00:10: AgentLifecycle agent=worker kind=crashed", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_fails_with_the_first_one_over_the_count()
    {
        var result = Check(Expect("crashed") with { AtMost = 2 });
        Assert.False(result.Passed);
        Assert.Contains("counter-example: the 3rd at +00:00:45", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_few_fails_listing_those_that_came_and_a_mismatch_names_the_last_event_of_the_type()
    {
        var few = Check(Expect("crashed") with { Count = 4 });
        Assert.False(few.Passed);
        Assert.StartsWith("only 3 between +00:00:00 and +01:00:00 (at +00:00:10, +00:00:25, +00:00:45)", few.Detail, StringComparison.Ordinal);

        var none = Check(Expect("released"));
        Assert.False(none.Passed);
        Assert.Contains("the last: AgentLifecycle agent=other kind=started at +00:30:00", none.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Fields_match_by_their_json_names_as_text_and_instants_in_any_zone()
    {
        var entry = Timeline[0];
        Assert.True(ExpectationCheck.Matches(entry, new Dictionary<string, string> { ["kind"] = "CRASHED", ["at"] = "2026-12-07T10:00:10+01:00" }));
        Assert.False(ExpectationCheck.Matches(entry, new Dictionary<string, string> { ["exit_code"] = "1" }));
        Assert.Equal(JsonValueKind.Object, entry.Fields.ValueKind);
    }
}
