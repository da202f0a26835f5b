using DarkFactory.Actors.Review;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>The pure review state: events applied in order give the next step; recovery never repeats a PR.</summary>
public sealed class ReviewStateRulesTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 2, 0, 0, TimeSpan.Zero);
    private const string Id = "r1";

    private static readonly Finding Top = new(FindingKind.Revert, 80, "Revert abc: x", "abc", "why", "revert-x", At);

    private static ReviewRecord Play(bool createPrs, params IReviewEvent[] events)
    {
        ReviewRecord? r = null;
        foreach (var e in new IReviewEvent[] { new ReviewStarted(Id, At, ReviewTrigger.Manual, "/repo", "main", "fixer", createPrs, TimeSpan.FromMinutes(30)) }.Concat(events))
        {
            r = ReviewStateRules.Apply(r, e);
        }

        return r!;
    }

    private static IReviewEvent[] UpToGates(bool passed) =>
    [
        new FindingsRecorded(Id, At.AddSeconds(1), [Top], 5),
        new TaskAssigned(Id, At.AddSeconds(2), "fixer", "task", "df/compound/2026-11-22-revert-x", "/wt/r1"),
        new ReviewAgentStarted(Id, At.AddSeconds(3), "run1"),
        new ReviewAgentFinished(Id, At.AddSeconds(10), "run1", true, 0, "done", "c0ffee", ["a.txt"]),
        new GatesEvaluated(Id, At.AddSeconds(20), [new GateResult("build", passed, passed ? 0 : 1, 0, 100)]),
    ];

    [Fact]
    public void Each_recorded_event_moves_to_the_next_step()
    {
        Assert.Equal(ReviewStep.Scan, ReviewStateRules.Next(Play(true)));
        var events = UpToGates(passed: true);
        var expected = new[] { ReviewStep.Assign, ReviewStep.StartAgent, ReviewStep.AwaitAgent, ReviewStep.RunGates, ReviewStep.IntendPr };
        for (var i = 0; i < events.Length; i++)
        {
            Assert.Equal(expected[i], ReviewStateRules.Next(Play(true, events[..(i + 1)])));
        }

        var intended = Play(true, [.. events, new PrIntended(Id, At.AddSeconds(21), "b", "t", "body")]);
        Assert.Equal(ReviewStep.OpenPr, ReviewStateRules.Next(intended));
        var opened = ReviewStateRules.Apply(intended, new PrOpened(Id, At.AddSeconds(22), 42, "https://x/pull/42"));
        Assert.Equal(ReviewStep.Complete, ReviewStateRules.Next(opened));
        Assert.Equal(ReviewStep.Done, ReviewStateRules.Next(ReviewStateRules.Apply(opened, new ReviewCompleted(Id, At.AddSeconds(23)))));
    }

    [Fact]
    public void Recovery_after_the_PR_intent_looks_the_PR_up_instead_of_intending_again()
    {
        var r = Play(true, [.. UpToGates(true), new PrIntended(Id, At, "b", "t", "body")]);
        Assert.Equal(ReviewStep.OpenPr, ReviewStateRules.NextAfterRecovery(r));
    }

    [Fact]
    public void Without_create_prs_a_dry_run_is_recorded_instead()
    {
        var r = Play(false, UpToGates(true));
        Assert.Equal(ReviewStep.DryRun, ReviewStateRules.Next(r));
        r = ReviewStateRules.Apply(r, new DryRunRecorded(Id, At, "/data/reviews/r1/report.md"));
        Assert.Equal(ReviewStep.Complete, ReviewStateRules.Next(r));
        var view = ReviewStateRules.View(r);
        Assert.Equal([ReviewStage.Scan, ReviewStage.Assign, ReviewStage.Agent, ReviewStage.Gates, ReviewStage.DryRun], view.Steps.Select(s => s.Name));
        Assert.All(view.Steps, s => Assert.Equal(StepStatus.Completed, s.Status));
        Assert.Equal("/data/reviews/r1/report.md", view.ReportPath);
    }

    [Fact]
    public void Failed_gates_fail_the_review_and_name_the_gate()
    {
        var r = Play(true, UpToGates(false));
        Assert.Equal(ReviewStep.Fail, ReviewStateRules.Next(r));
        var (step, reason) = ReviewStateRules.FailureOf(r);
        Assert.Equal(ReviewStage.Gates, step);
        Assert.Contains("build (exit 1, expected 0)", reason);
        r = ReviewStateRules.Apply(r, new ReviewFailed(Id, At.AddSeconds(30), step, reason));
        var view = ReviewStateRules.View(r);
        Assert.Equal(ReviewStatus.Failed, view.Status);
        Assert.Equal(StepStatus.Failed, view.Steps.Single(s => s.Name == ReviewStage.Gates).Status);
        Assert.Equal(StepStatus.Skipped, view.Steps.Single(s => s.Name == ReviewStage.Pr).Status);
        Assert.Equal(At.AddSeconds(10), view.Steps.Single(s => s.Name == ReviewStage.Gates).StartedAt);
    }

    [Fact]
    public void An_agent_run_lost_to_a_daemon_restart_is_started_again_a_bounded_number_of_times()
    {
        var events = UpToGates(true)[..3];
        var r = Play(true, events);
        Assert.Equal(ReviewStep.AwaitAgent, ReviewStateRules.Next(r));
        Assert.Equal(ReviewStep.StartAgent, ReviewStateRules.NextAfterRecovery(r));
        r = ReviewStateRules.Apply(r, new ReviewAgentStarted(Id, At, "run2"));
        r = ReviewStateRules.Apply(r, new ReviewAgentStarted(Id, At, "run3"));
        Assert.Equal(ReviewStep.Fail, ReviewStateRules.NextAfterRecovery(r));
        Assert.Equal(ReviewStage.Agent, ReviewStateRules.FailureOf(r).Step);
    }

    [Fact]
    public void A_clustered_review_that_took_over_awaits_a_run_that_goes_on_takes_in_one_that_ended_and_starts_another_only_for_one_that_is_gone()
    {
        var r = Play(true, UpToGates(true)[..3]); // awaiting run1
        var running = new AgentStatus { Agent = "fixer", State = AgentState.Running, RunId = "run1" };
        var started = new AgentLifecycle("fixer", LifecycleKind.Started, At, "run1");
        var exited = new AgentLifecycle("fixer", LifecycleKind.Exited, At.AddSeconds(9), "run1", ExitCode: 0);

        Assert.Equal(RunResume.GoesOn, ReviewStateRules.Resume(r, running, [started]));
        Assert.Equal(RunResume.Ended(exited), ReviewStateRules.Resume(r, running with { State = AgentState.Stopped }, [started, exited]));
        Assert.Equal(RunResume.Ended(exited), ReviewStateRules.Resume(r, null, [started, exited])); // its node answers the history, not the status

        // the run died with its node: the agent placed again runs another run, or nothing, or nobody answers
        Assert.Equal(RunResume.Gone, ReviewStateRules.Resume(r, running with { RunId = "run9" }, [started, new AgentLifecycle("fixer", LifecycleKind.Started, At.AddSeconds(20), "run9")]));
        Assert.Equal(RunResume.Gone, ReviewStateRules.Resume(r, running with { State = AgentState.Stopped }, [started])); // started in the shared record, never ended
        Assert.Equal(RunResume.Gone, ReviewStateRules.Resume(r, null, null));
        Assert.Equal(RunResume.Gone, ReviewStateRules.Resume(Play(true, UpToGates(true)[..2]), running, [started])); // no run recorded yet
    }

    [Fact]
    public void Only_a_stop_nobody_asked_for_of_the_awaited_run_is_its_nodes()
    {
        var r = Play(true, UpToGates(true)[..3]); // awaiting run1
        var drained = new AgentLifecycle("fixer", LifecycleKind.Stopped, At, "run1", Detail: "daemon shutting down");

        Assert.True(ReviewStateRules.StoppedByItsNode(r, drained));
        Assert.False(ReviewStateRules.StoppedByItsNode(r, drained with { By = Requester.Operator }));
        Assert.False(ReviewStateRules.StoppedByItsNode(r, drained with { By = Requester.CompoundReview }));
        Assert.False(ReviewStateRules.StoppedByItsNode(r, drained with { Restarts = true }));
        Assert.False(ReviewStateRules.StoppedByItsNode(r, drained with { RunId = "run0" }));
        Assert.False(ReviewStateRules.StoppedByItsNode(r, drained with { Kind = LifecycleKind.Crashed }));
    }

    [Fact]
    public void An_agent_that_changed_nothing_or_failed_ends_the_review()
    {
        var noChange = Play(true, [.. UpToGates(true)[..3], new ReviewAgentFinished(Id, At, "run1", true, 0, "", null, [])]);
        Assert.Equal(ReviewStep.Fail, ReviewStateRules.Next(noChange));
        Assert.Contains("changed nothing", ReviewStateRules.FailureOf(noChange).Reason);

        var crashed = Play(true, [.. UpToGates(true)[..3], new ReviewAgentFinished(Id, At, "run1", false, 3, "", "abc", ["x"])]);
        Assert.Equal(ReviewStep.Fail, ReviewStateRules.Next(crashed));
        Assert.Contains("exit 3", ReviewStateRules.FailureOf(crashed).Reason);
    }

    [Fact]
    public void Nothing_found_completes_the_review_without_work()
    {
        var r = Play(true, new FindingsRecorded(Id, At, [], 0));
        Assert.Equal(ReviewStep.Complete, ReviewStateRules.Next(r));
        var view = ReviewStateRules.View(ReviewStateRules.Apply(r, new ReviewCompleted(Id, At, "nothing found to work on")));
        Assert.Equal(ReviewStatus.Completed, view.Status);
        Assert.Equal(StepStatus.Skipped, view.Steps.Single(s => s.Name == ReviewStage.Agent).Status);
    }

    [Fact]
    public void A_running_review_shows_its_current_step_as_running()
    {
        var view = ReviewStateRules.View(Play(true, UpToGates(true)[..3]));
        Assert.Equal(ReviewStatus.Running, view.Status);
        Assert.Equal(StepStatus.Running, view.Steps.Single(s => s.Name == ReviewStage.Agent).Status);
        Assert.Equal(StepStatus.Pending, view.Steps.Single(s => s.Name == ReviewStage.Gates).Status);
        Assert.Equal("run1", view.RunId);
    }
}
