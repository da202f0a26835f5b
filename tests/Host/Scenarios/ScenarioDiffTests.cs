using System.Text.Json;
using DarkFactory.Host.Scenarios;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>What <c>df scenario diff</c> counts as the same behaviour: what happened, not the ids and texts that vary between runs.</summary>
public sealed class ScenarioDiffTests
{
    private static TimelineEntry Entry(string type, string json, int seconds = 10) =>
        new(DateTimeOffset.UnixEpoch.AddSeconds(seconds), TimeSpan.FromSeconds(seconds), EntrySource.Observed, type, type, JsonDocument.Parse(json).RootElement.Clone());

    [Fact]
    public void Two_runs_of_the_same_crash_have_one_signature_whatever_their_run_ids_and_details()
    {
        // arrange
        var first = Entry("AgentLifecycle", """{"agent":"worker","kind":"crashed","exit_code":1,"run_id":"aaaa","detail":"exited 1 after 00:00:05.120"}""");
        var second = Entry("AgentLifecycle", """{"agent":"worker","kind":"crashed","exit_code":1,"run_id":"bbbb","detail":"exited 1 after 00:00:05.340"}""");

        // act + assert
        Assert.Equal("AgentLifecycle agent=worker kind=crashed exit_code=1", ScenarioDiff.Signature(first));
        Assert.Equal(ScenarioDiff.Signature(first), ScenarioDiff.Signature(second));
    }

    [Fact]
    public void A_different_outcome_or_provider_is_a_different_signature()
    {
        // arrange
        var openai = Entry("RouteChosen", """{"agent":"reviewer","provider":"openai"}""");
        var anthropic = Entry("RouteChosen", """{"agent":"reviewer","provider":"anthropic"}""");
        var crashed = Entry("AgentLifecycle", """{"agent":"worker","kind":"crashed","exit_code":1}""");
        var killed = Entry("AgentLifecycle", """{"agent":"worker","kind":"crashed","exit_code":137,"signal":9}""");

        // act + assert
        Assert.NotEqual(ScenarioDiff.Signature(openai), ScenarioDiff.Signature(anthropic));
        Assert.NotEqual(ScenarioDiff.Signature(crashed), ScenarioDiff.Signature(killed));
    }
}
