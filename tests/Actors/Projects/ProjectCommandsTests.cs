using DarkFactory.Actors.Projects;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Projects;
using DarkFactory.Messages.Providers;
using Xunit;
using static DarkFactory.Actors.Tests.Projects.ProjectStateTests;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>
/// The operator's commands as <see cref="ProjectCommands"/> decides them from the recorded state, and what
/// <see cref="ProjectRunLedger"/> reads from a run until its end is recorded.
/// </summary>
public sealed class ProjectCommandsTests
{
    private static ProjectState Started() => Play(null, Created(), new ProjectStartRequested(Id, At));

    private static ProjectState Running() => Play(Planned(), new ProjectRunStarted(Id, At.AddMinutes(1), "r1", ProjectRunPurpose.Task, "engineer-cmd@" + Id, "engineer", "t1", 1));

    [Fact]
    public void Start_records_a_request_only_for_a_new_or_paused_project_and_says_what_to_do_otherwise()
    {
        Assert.Equal((ProjectCommandAction.Request, ProjectCommandOutcome.Started), Of(ProjectCommands.Start(Play(null, Created()))));
        Assert.Equal((ProjectCommandAction.Answer, ProjectCommandOutcome.Unchanged), Of(ProjectCommands.Start(Started())));
        Assert.Equal((ProjectCommandAction.Answer, ProjectCommandOutcome.Unchanged), Of(ProjectCommands.Start(Planned())));
        var paused = Play(Planned(), new ProjectPaused(Id, At, "paused by the operator"));
        Assert.Equal((ProjectCommandAction.Request, ProjectCommandOutcome.Resumed), Of(ProjectCommands.Start(paused)));

        var completed = ProjectCommands.Start(Play(Planned(), new ProjectCompleted(Id, At)));
        Assert.False(completed.Ok);
        Assert.Equal($"project {Id} is completed: nothing to start (its report: df export {Id})", completed.Message);
        var timedOut = ProjectCommands.Start(Play(Planned(), new ProjectTimedOut(Id, At, TimeSpan.FromHours(12))));
        Assert.Contains($"df resume {Id} --extend 2h", timedOut.Message);
    }

    [Fact]
    public void Resume_extends_an_active_project_continues_a_paused_one_and_refuses_a_timeout_without_enough_time()
    {
        var now = At.AddHours(13);
        var timedOut = Play(Planned(), new ProjectTimedOut(Id, At.AddHours(12).AddSeconds(5), TimeSpan.FromHours(12)));
        var refused = ProjectCommands.Resume(timedOut, null, now);
        Assert.Equal((ProjectCommandAction.Answer, ProjectCommandOutcome.Refused), Of(refused));
        Assert.Contains("--extend", refused.Message);
        var extended = ProjectCommands.Resume(timedOut, TimeSpan.FromHours(2), now);
        Assert.Equal((ProjectCommandAction.Request, ProjectCommandOutcome.Resumed, TimeSpan.FromHours(2)), (extended.Action, extended.Outcome, extended.Extend));

        var active = ProjectCommands.Resume(Planned(), TimeSpan.FromHours(1), At);
        Assert.Equal((ProjectCommandAction.Extend, $"project {Id}: max runtime extended by 01:00:00 to 13:00:00"), (active.Action, active.Message));
        Assert.Equal((ProjectCommandAction.Answer, ProjectCommandOutcome.Unchanged), Of(ProjectCommands.Resume(Planned(), null, At)));
        Assert.Equal($"project {Id} was never started: df start {Id}", ProjectCommands.Resume(Play(null, Created()), null, At).Message);
    }

    [Fact]
    public void Pause_is_recorded_for_a_running_or_queued_project_only()
    {
        Assert.Equal((ProjectCommandAction.Pause, ProjectCommandOutcome.Paused), Of(ProjectCommands.Pause(Running())));
        Assert.Equal((ProjectCommandAction.Pause, ProjectCommandOutcome.Paused), Of(ProjectCommands.Pause(Started())));
        Assert.Equal($"project {Id} is not started: nothing to pause", ProjectCommands.Pause(Play(null, Created())).Message);
        Assert.Equal($"project {Id} is completed: nothing to pause", ProjectCommands.Pause(Play(Planned(), new ProjectCompleted(Id, At))).Message);
        var paused = Play(Running(), new ProjectPaused(Id, At, "paused by the operator"));
        Assert.Equal((ProjectCommandAction.Answer, ProjectCommandOutcome.Unchanged), Of(ProjectCommands.Pause(paused)));
        Assert.Equal($"project {Id} paused: its run r1 is stopping; df resume {Id} continues it", ProjectCommands.Paused(paused));
    }

    [Fact]
    public void The_ledger_keeps_an_end_that_overtakes_its_start_and_reads_the_run_into_its_recorded_end()
    {
        var ledger = new ProjectRunLedger();
        var agent = "engineer-cmd@" + Id;
        Assert.False(ledger.Ended(new AgentLifecycle(agent, LifecycleKind.Started, At, "r1")));
        Assert.True(ledger.Ended(new AgentLifecycle(agent, LifecycleKind.Stopped, At, "r1", Signal: 15, Detail: "stopped")));
        Assert.Null(ledger.TakeEnd(Planned(), interrupting: false, null, At)); // its start is not recorded yet

        ledger.Output(new AgentOutput(agent, "r1", 0, At, [new OutputLine(OutputStream.Stdout, "working"), new OutputLine(OutputStream.Stdout, "done: limit added")]), "r1");
        ledger.Usage(new AgentUsage(agent, "r1", null, "m", 100, 20, At), "r1", null);
        ledger.Usage(new AgentUsage(agent, "r1", null, "m", 50, 5, At), "r1", null);
        var (ended, by) = ledger.TakeEnd(Running(), interrupting: true, null, At.AddMinutes(2))!.Value;

        Assert.Equal(("r1", ProjectRunOutcome.Interrupted, 143, 150L, 25L), (ended.RunId, ended.Outcome, ended.ExitCode, ended.InputTokens, ended.OutputTokens));
        Assert.Contains("done: limit added", ended.FinalMessage);
        Assert.Equal("engineer-cmd@" + Id, by);
        Assert.Null(ledger.TakeEnd(Running(), interrupting: true, null, At)); // read once

        Assert.True(ledger.Ended(new AgentLifecycle(agent, LifecycleKind.Stopped, At, "r1", ExitCode: 0)));
        Assert.Equal(ProjectRunOutcome.Ended, ledger.TakeEnd(Running(), interrupting: false, null, At)!.Value.Ended.Outcome); // not the project's stop
    }

    private static (ProjectCommandAction, ProjectCommandOutcome) Of(ProjectCommandDecision d) => (d.Action, d.Outcome);
}
