using System.Text.Json;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages;
using DarkFactory.Messages.Nightwatch;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>
/// Nightwatch's persisted state without the actor: corrections and escalations kept within their bounds, a
/// delivery joined to its escalation, pending hints set by a correction and cleared by their use, the records of a
/// window, and a snapshot that a new state restores to the same answers and the same snapshot.
/// </summary>
public sealed class NightwatchStateTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private static DriftCorrection Correction(string agent, int minutes, string hint = "stop repeating") =>
        new(agent, At.AddMinutes(minutes), DriftLevel.Minor, CorrectionAction.Hint, 0.12, "minor drift 0.12 (loops 0.12)", hint, "r1", "anthropic");

    private static Escalation Escalation(string id, int minutes) =>
        new(id, "coder", At.AddMinutes(minutes), DriftLevel.Critical, 0.8, "critical drift 0.80 (errors 0.80)", new DriftComponents(Errors: 0.8), "r1");

    private static NightwatchState Populated()
    {
        var state = new NightwatchState(keepCorrections: 10, keepEscalations: 10);
        object[] events =
        [
            Correction("coder", 0, "first hint"),
            Correction("reviewer", 1),
            Correction("coder", 2, "second hint"),
            Escalation("e1", 3),
            new EscalationDelivered("e1", At.AddMinutes(3), true, "https://hooks.example.com: HTTP 204"),
            Escalation("e2", 4),
            new DriftHintUsed("reviewer", At.AddMinutes(5), "r2"),
        ];
        foreach (var e in events)
        {
            Assert.True(state.Apply(e));
        }

        return state;
    }

    [Fact]
    public void Corrections_set_pending_hints_their_use_clears_them_and_deliveries_join_their_escalation()
    {
        var state = Populated();

        Assert.Equal("second hint", state.PendingHints["coder"]);
        Assert.False(state.PendingHints.ContainsKey("reviewer"));
        Assert.Equal(At.AddMinutes(2), state.LastCorrection("coder")!.At);
        Assert.Null(state.LastCorrection("nobody"));
        var escalations = state.Escalations(10);
        Assert.Equal(new[] { "e2", "e1" }, escalations.Select(e => e.Escalation.Id)); // newest first
        Assert.Null(escalations[0].Delivery);
        Assert.True(escalations[1].Delivery!.Ok);
        Assert.Equal("e2", Assert.Single(state.Escalations(0)).Escalation.Id); // at least one
        Assert.False(state.Apply(new RouteAvoid("coder", "anthropic", null, At, "not an event of Nightwatch")));
    }

    [Fact]
    public void Records_of_a_window_are_those_at_or_after_its_start_oldest_first()
    {
        var records = Populated().Records(At.AddMinutes(2));

        Assert.Equal("second hint", Assert.Single(records.Corrections).Hint);
        Assert.Equal(new[] { "e1", "e2" }, records.Escalations.Select(e => e.Escalation.Id));
    }

    [Fact]
    public void Corrections_and_escalations_are_bounded_oldest_first()
    {
        var state = new NightwatchState(keepCorrections: 3, keepEscalations: 2);
        for (var i = 0; i < 5; i++)
        {
            state.Apply(Correction("coder", i, $"hint {i}"));
            state.Apply(Escalation($"e{i}", i));
        }

        Assert.Equal(new[] { "hint 2", "hint 3", "hint 4" }, state.Snapshot().Corrections.Select(c => c.Hint));
        Assert.Equal(new[] { "e4", "e3" }, state.Escalations(10).Select(e => e.Escalation.Id));

        state.Apply(new EscalationDelivered("e0", At, true, "dropped long ago")); // its escalation is gone: nothing to join
        Assert.All(state.Escalations(10), e => Assert.Null(e.Delivery));
    }

    [Fact]
    public void A_restored_snapshot_answers_the_same_and_snapshots_the_same()
    {
        var state = Populated();
        var snapshot = state.Snapshot();

        var restored = new NightwatchState(10, 10);
        restored.Apply(Correction("stale", 0)); // a restore replaces what was there
        restored.Restore(snapshot);

        Assert.Equal(Json(snapshot), Json(restored.Snapshot()));
        Assert.Equal(state.PendingHints, restored.PendingHints);
        Assert.Equal(Json(state.Records(At)), Json(restored.Records(At)));
        Assert.Null(restored.LastCorrection("stale"));
    }

    private static string Json(object o) => JsonSerializer.Serialize(o, o.GetType(), DarkFactoryJson.Options);
}
