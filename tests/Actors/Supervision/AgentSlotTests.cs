using Akka.Actor;
using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>The per-agent state machine of a layer, without a layer: each transition and what it leaves to do.</summary>
public sealed class AgentSlotTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly AgentSpec Spec = new() { Name = "worker", Command = ["/bin/worker"] };

    private static AgentRun Run(string runId, string? taskId = null) =>
        new(Spec.Name, runId, new LaunchPlan("/bin/worker", [], new Dictionary<string, string>(), "/", null, "d/worker/" + runId, null), TimeSpan.FromSeconds(1), null, new LogSink("/dev/null"), Redactor.None, (_, _) => OutputKind.Text, ActorRefs.Nobody)
        {
            TaskId = taskId,
        };

    /// <summary>A slot whose run r1 is up since T0.</summary>
    private static AgentSlot Running(string runId = "r1")
    {
        var slot = new AgentSlot(Spec);
        slot.BeginRun(Run(runId), ActorRefs.Nobody, T0, T0, limit: null);
        Assert.True(slot.Started(runId, 42, T0));
        return slot;
    }

    [Fact]
    public void A_run_goes_starting_then_running_and_news_of_another_run_is_ignored()
    {
        var slot = new AgentSlot(Spec);
        slot.BeginRun(Run("r1", "task-7"), ActorRefs.Nobody, T0, T0, limit: null);
        Assert.Equal((AgentState.Starting, 1, "task-7"), (slot.State, slot.Generation, slot.TaskId));

        Assert.False(slot.Started("r0", 41, T0));
        Assert.Equal(AgentState.Starting, slot.State);
        Assert.True(slot.Started("r1", 42, T0.AddSeconds(1)));
        Assert.Equal((AgentState.Running, 42), (slot.State, slot.Pid));
    }

    [Fact]
    public void A_run_that_ends_by_itself_is_concluded_from_its_exit()
    {
        var exited = Running();
        exited.Ended(new RunEnded("worker", "r1", new ExitInfo(0, null, T0.AddSeconds(5)), null));
        var run = exited.Conclude(T0.AddSeconds(6), null);
        Assert.Equal((RunEnd.Exited, false, TimeSpan.FromSeconds(6)), (run.End, run.Abnormal, run.Uptime));
        Assert.False(exited.Running);

        var timedOut = Running();
        timedOut.Ended(new RunEnded("worker", "r1", new ExitInfo(143, 15, T0, "max runtime exceeded"), null, TimedOut: true));
        Assert.Equal(RunEnd.TimedOut, timedOut.Conclude(T0, null).End);

        var crashed = Running();
        crashed.Crashed("r1", new ExitInfo(3, null, T0));
        var crash = crashed.Conclude(T0, null);
        Assert.Equal((RunEnd.Crashed, true, 3), (crash.End, crash.Abnormal, crash.Exit.Code));

        // its actor failed, not its process: still a crash, with the failure as the reason
        var failed = Running();
        Assert.Equal("boom", failed.Conclude(T0, "boom").Exit.Reason);
    }

    [Fact]
    public void A_routed_run_that_exits_non_zero_on_its_providers_limit_ends_limited_and_anything_else_still_crashes()
    {
        // it reported the limit (gemini's exit 173 read by its adapter): limited, not a crash, and its restart waits for the router's mark
        var limited = new AgentSlot(Spec);
        var guard = new RunLimitGuard("google");
        limited.BeginRun(Run("r1"), ActorRefs.Nobody, T0, T0, guard);
        limited.Started("r1", 42, T0);
        limited.Ended(new RunEnded("worker", "r1", new ExitInfo(173, null, T0.AddSeconds(2)), null, Crashed: true, Limited: true));
        var run = limited.Conclude(T0.AddSeconds(2), null);
        Assert.Equal((RunEnd.Limited, false, 173), (run.End, run.Abnormal, run.Exit.Code));
        Assert.True(guard.ReportedLimit);

        // the same exit without a reported limit is a crash
        var crashed = new AgentSlot(Spec);
        crashed.BeginRun(Run("r2"), ActorRefs.Nobody, T0, T0, new RunLimitGuard("google"));
        crashed.Ended(new RunEnded("worker", "r2", new ExitInfo(173, null, T0), null, Crashed: true));
        Assert.Equal(RunEnd.Crashed, crashed.Conclude(T0, null).End);

        // a run no router routed cannot fail over: its limit exit stays a crash (backoff paces it)
        var unrouted = new AgentSlot(Spec);
        unrouted.BeginRun(Run("r3"), ActorRefs.Nobody, T0, T0, new RunLimitGuard(null));
        unrouted.Ended(new RunEnded("worker", "r3", new ExitInfo(173, null, T0), null, Crashed: true, Limited: true));
        Assert.Equal(RunEnd.Crashed, unrouted.Conclude(T0, null).End);

        // killed by a signal after a limit: a crash (the limit did not end it)
        var signalled = new AgentSlot(Spec);
        signalled.BeginRun(Run("r4"), ActorRefs.Nobody, T0, T0, new RunLimitGuard("google"));
        signalled.Ended(new RunEnded("worker", "r4", new ExitInfo(137, 9, T0), null, Crashed: true, Limited: true));
        Assert.Equal(RunEnd.Crashed, signalled.Conclude(T0, null).End);
    }

    [Fact]
    public void A_run_the_layer_stopped_is_stopped_whatever_its_exit_and_a_misconfigured_one_unavailable()
    {
        var stopped = Running();
        Assert.True(stopped.RequestStop("its declaration changed", AfterStop.Restart));
        Assert.Equal(AgentState.Stopping, stopped.State);
        stopped.Crashed("r1", new ExitInfo(137, 9, T0));
        var run = stopped.Conclude(T0, null);
        Assert.Equal((RunEnd.Stopped, "its declaration changed"), (run.End, run.Reason));
        Assert.Equal((AgentState.Stopped, "its declaration changed"), (stopped.State, stopped.Reason));

        var bad = Running();
        bad.Misconfigured("working directory '/nope' does not exist");
        Assert.Equal(RunEnd.Misconfigured, bad.Conclude(T0, null).End);
        Assert.Equal(AgentState.Unavailable, bad.State);
    }

    [Fact]
    public void Without_a_run_there_is_nothing_to_stop()
    {
        var slot = new AgentSlot(Spec);

        Assert.False(slot.RequestStop("stopped by operator", AfterStop.Stay, overrides: true));
        Assert.Equal((AgentState.Stopped, AfterStop.Stay), (slot.State, slot.AfterStop));
    }

    [Theory]
    [InlineData(AfterStop.Stay, AfterStop.Restart, false, AfterStop.Restart)] // a restart beats staying stopped
    [InlineData(AfterStop.Restart, AfterStop.Stay, false, AfterStop.Restart)]
    [InlineData(AfterStop.Restart, AfterStop.Stay, true, AfterStop.Stay)] // the operator's (or the drain's) word replaces it
    [InlineData(AfterStop.Stay, AfterStop.Restart, true, AfterStop.Restart)]
    [InlineData(AfterStop.Remove, AfterStop.Restart, false, AfterStop.Remove)] // a removal stays a removal
    [InlineData(AfterStop.Remove, AfterStop.Restart, true, AfterStop.Remove)]
    public void What_waits_for_the_end_of_a_run_combines_by_rule(AfterStop first, AfterStop second, bool overrides, AfterStop expected)
    {
        var slot = Running();
        slot.RequestStop("first", first);

        slot.RequestStop("second", second, overrides);

        Assert.Equal(expected, slot.AfterStop);
        Assert.Equal(overrides ? "second" : "first", slot.StopReason);
    }

    [Fact]
    public void A_changed_declaration_waits_for_the_run_and_its_next_run_is_a_fresh_one()
    {
        var slot = Running();
        slot.Plan(new RunRequest(Spec) { Task = "fix it", TaskId = "t-1" });
        var changed = Spec with { Command = ["/bin/worker", "--v2"] };

        Assert.True(slot.Replace(changed, "its declaration changed"));
        Assert.Same(changed, slot.Declared);
        Assert.Same(Spec, slot.Spec);
        slot.Conclude(T0, null);

        Assert.Equal(AfterStop.Restart, slot.TakeAfterStop());
        Assert.Same(changed, slot.Spec);
        Assert.Null(slot.Pending);
        var next = slot.Next();
        Assert.Same(changed, next.Agent);
        Assert.Equal((null, null), (next.Task, next.TaskId));
        Assert.Equal(AfterStop.Stay, slot.AfterStop);
    }

    [Fact]
    public void A_changed_declaration_without_a_run_is_taken_at_once()
    {
        var slot = new AgentSlot(Spec);
        var changed = Spec with { Task = "other" };

        Assert.False(slot.Replace(changed, "its declaration changed"));
        Assert.Same(changed, slot.Spec);
        Assert.Null(slot.Pending);
    }

    [Fact]
    public void An_update_goes_to_the_declaration_that_runs_next()
    {
        var slot = Running();
        var scheduled = Spec with { Schedule = "0 * * * *" };
        slot.Update(scheduled);
        Assert.Same(scheduled, slot.Spec);

        var changed = Spec with { Task = "other" };
        slot.Replace(changed, "its declaration changed");
        var changedAndScheduled = changed with { Schedule = "*/5 * * * *" };
        slot.Update(changedAndScheduled);
        Assert.Same(changedAndScheduled, slot.Declared);
        Assert.Same(scheduled, slot.Spec);
    }

    [Fact]
    public void The_next_run_keeps_the_on_demand_task_and_ids_and_the_hint_is_used_once()
    {
        var slot = new AgentSlot(Spec);
        slot.Plan(new RunRequest(Spec) { Task = "fix it", Workdir = "/w", TaskId = "t-1", ProjectId = "p-1" });
        slot.Hint = "say what you do";

        var next = slot.Next();
        Assert.Equal(("fix it", "/w", "t-1", "p-1", "say what you do"), (next.Task, next.Workdir, next.TaskId, next.ProjectId, next.Hint));

        slot.BeginRun(Run("r1", "t-1"), ActorRefs.Nobody, T0, T0, limit: null);
        Assert.Null(slot.Next().Hint);
        Assert.Equal("fix it", slot.Next().Task);
    }

    [Fact]
    public void Restart_decisions_set_the_state_the_operator_sees()
    {
        var completed = Running();
        completed.Ended(new RunEnded("worker", "r1", new ExitInfo(0, null, T0), null));
        completed.Decided(completed.Conclude(T0, null), new RestartDecision(RestartAction.None, TimeSpan.Zero, 0, "completed"));
        Assert.Equal((AgentState.Completed, null), (completed.State, completed.Reason));

        var temporary = Running();
        temporary.Decided(temporary.Conclude(T0, null), new RestartDecision(RestartAction.None, TimeSpan.Zero, 1, "temporary: not restarted"));
        Assert.Equal((AgentState.Stopped, "temporary: not restarted"), (temporary.State, temporary.Reason));

        var looping = Running();
        looping.Decided(looping.Conclude(T0, null), new RestartDecision(RestartAction.Quarantine, TimeSpan.Zero, 5, "crash loop"));
        Assert.Equal((AgentState.Quarantined, 5), (looping.State, looping.ConsecutiveCrashes));
        Assert.True(looping.Release());
        Assert.Equal(0, looping.ConsecutiveCrashes);

        var restarted = Running();
        restarted.Decided(restarted.Conclude(T0, null), new RestartDecision(RestartAction.Restart, TimeSpan.FromSeconds(2), 1, "crashed"));
        restarted.BackOff(T0.AddSeconds(2));
        var status = restarted.Status(LayerName.Core);
        Assert.Equal((AgentState.Backoff, 1, T0.AddSeconds(2)), (status.State, status.Restarts, status.NextRestartAt));
    }

    [Fact]
    public void A_stop_while_waiting_keeps_the_agent_stopped_and_availability_is_news_once()
    {
        var slot = new AgentSlot(Spec);
        Assert.False(slot.StopWaiting("stopped by operator"));
        slot.WaitForRoute("all providers limited; polling", slot.Next());
        Assert.Equal(AgentState.Backoff, slot.State);
        Assert.True(slot.StopWaiting("stopped by operator"));
        Assert.Equal(AgentState.Stopped, slot.State);

        Assert.True(slot.Unavailable("'claude' is not installed", "npm install -g @anthropic-ai/claude-code"));
        Assert.False(slot.Unavailable("'claude' is not installed"));
        slot.Available();
        Assert.Equal((AgentState.Stopped, null, null), (slot.State, slot.Reason, slot.Install));
    }

    [Fact]
    public void A_projects_instance_takes_its_agents_declaration_never_restarts_and_is_finished_when_its_run_is_over()
    {
        var declared = Spec with { Restart = RestartType.Permanent, Autostart = true };
        var instance = AgentSlot.InstanceOf(declared, "worker@p-1");
        Assert.Equal(("worker@p-1", (RestartType?)RestartType.Temporary, (bool?)false, true), (instance.Name, instance.Spec.Restart, instance.Spec.Autostart, instance.Instance));
        Assert.Equal(declared.Command, instance.Spec.Command);
        Assert.False(new AgentSlot(declared).Finished);

        instance.BeginRun(Run("r1"), ActorRefs.Nobody, T0, T0, limit: null);
        Assert.False(instance.Finished);
        instance.Ended(new RunEnded("worker@p-1", "r1", new ExitInfo(0, null, T0), null));
        instance.Conclude(T0, null);
        Assert.True(instance.Finished);

        var waiting = AgentSlot.InstanceOf(declared, "worker@p-2");
        waiting.WaitForRoute("all providers limited", new RunRequest(waiting.Spec));
        Assert.False(waiting.Finished);
    }

    [Fact]
    public void Who_asked_for_a_start_is_taken_once_and_who_asked_for_a_stop_holds_for_that_run()
    {
        var slot = new AgentSlot(Spec);
        slot.StartFor(Requester.Scheduler);
        slot.BeginRun(Run("r1"), ActorRefs.Nobody, T0, T0, limit: null);
        Assert.Equal(Requester.Scheduler, slot.TakeStartedBy());
        Assert.Null(slot.TakeStartedBy()); // a restart after this run is the layer's own

        Assert.True(slot.RequestStop("stopped by nightwatch", AfterStop.Stay, overrides: true, Requester.Nightwatch));
        Assert.True(slot.RequestStop("its declaration changed", AfterStop.Restart, by: Requester.Operator));
        Assert.Equal((Requester.Nightwatch, "stopped by nightwatch"), (slot.StoppedBy, slot.StopReason));

        slot.BeginRun(Run("r2"), ActorRefs.Nobody, T0, T0, limit: null);
        Assert.Null(slot.StoppedBy);
    }

    [Fact]
    public void A_spilled_task_goes_when_the_next_run_no_longer_needs_it_and_never_earlier()
    {
        var data = Directory.CreateTempSubdirectory("df-slot-").FullName;
        try
        {
            var spill = TaskSpill.Prepare(data, out _);
            var slot = new AgentSlot(Spec);
            var queued = spill.Spill("first");
            slot.Queue("max_concurrent_runs 1 reached", new RunRequest(Spec) { Spilled = queued, TaskId = "t-1" });
            Assert.Same(queued, slot.Spilled);
            Assert.True(slot.StopWaiting("stopped by the operator"));
            Assert.True(File.Exists(queued.Path)); // a restart runs it

            var again = spill.Spill("second"); // the same request queued again (a new file) drops nothing else
            slot.Queue("max_concurrent_runs 1 reached", slot.Next() with { Spilled = again });
            Assert.False(File.Exists(queued.Path));
            Assert.Equal("t-1", slot.Next().TaskId);

            slot.Unspilled(slot.Next() with { Task = again.Take() });
            Assert.Equal(("second", null), (slot.Next().Task, slot.Spilled));

            foreach (var drop in new Action<AgentSlot>[] { s => s.Plan(new RunRequest(Spec) { Task = "new" }), s => s.Redeclare(Spec with { Task = "declared" }), s => s.Forget() })
            {
                var waiting = spill.Spill("waiting");
                slot.Queue("limit", new RunRequest(Spec) { Spilled = waiting });
                drop(slot);
                Assert.False(File.Exists(waiting.Path));
                Assert.Null(slot.Spilled);
            }

            Assert.Equal(0L, spill.Files);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
