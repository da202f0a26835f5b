using DarkFactory.Actors.Control;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Control;

public sealed class EventClientTests
{
    [Fact]
    public void A_full_queue_drops_the_oldest_events_and_counts_them()
    {
        // arrange
        var client = new EventClient(3);

        // act
        for (var i = 1; i <= 5; i++)
        {
            client.Offer(new ServerEvent(i, "agent-lifecycle", "{}"));
        }

        // assert: the newest three are kept, two dropped (reported once)
        var kept = new List<long>();
        while (client.Reader.TryRead(out var e))
        {
            kept.Add(e.Id);
        }

        Assert.Equal([3L, 4L, 5L], kept);
        Assert.Equal(2, client.TakeDropped());
        Assert.Equal(0, client.TakeDropped());
    }

    [Fact]
    public void Output_goes_only_to_clients_that_asked_for_the_agent()
    {
        var watcher = new EventClient(8, new HashSet<string> { "a" });
        var plain = new EventClient(8);
        var outputOfA = new ServerEvent(1, "agent-output", "{}", OutputAgent: "a");
        var outputOfB = new ServerEvent(2, "agent-output", "{}", OutputAgent: "b");
        var status = new ServerEvent(3, "agent-status", "{}");

        Assert.True(watcher.Wants(outputOfA));
        Assert.False(watcher.Wants(outputOfB));
        Assert.True(watcher.Wants(status));
        Assert.False(plain.Wants(outputOfA));
        Assert.True(plain.Wants(status));
    }
}

public sealed class StatusTrackerTests
{
    private static AgentStatus Status(string name, AgentState state, int restarts = 0) =>
        new() { Agent = name, Layer = LayerName.Safety, State = state, Restarts = restarts };

    [Fact]
    public void Only_changed_and_removed_agents_are_reported()
    {
        var tracker = new StatusTracker();
        var (first, _) = tracker.Update([Status("a", AgentState.Running), Status("b", AgentState.Stopped)]);
        Assert.Equal(2, first.Count);

        var (changed, removed) = tracker.Update([Status("a", AgentState.Running, restarts: 1), Status("c", AgentState.Starting)]);

        Assert.Equal(["a", "c"], changed.Select(s => s.Agent).Order());
        Assert.Equal(["b"], removed);
        Assert.Equal(2, tracker.Current.Count);

        var (none, gone) = tracker.Update([Status("a", AgentState.Running, restarts: 1), Status("c", AgentState.Starting)]);
        Assert.Empty(none);
        Assert.Empty(gone);
    }

    [Fact]
    public void Labels_from_free_text_stay_bounded()
    {
        Assert.Equal("keyword", TelemetryFields.Label("Keyword: 'test' matched rule 2"));
        Assert.Equal("unknown", TelemetryFields.Label("  "));
        Assert.Equal(40, TelemetryFields.Label(new string('x', 100)).Length);
    }
}
