using System.Diagnostics;
using DarkFactory.Actors.Control;
using DarkFactory.Messages.Agents;
using Xunit;

namespace DarkFactory.Actors.Tests.Control;

/// <summary>A task's path as a trace (route, spawn, run, exit), read with an in-process listener (no exporter, no network).</summary>
public sealed class RunTracesTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);
    private readonly ActivitySource _source = new("DarkFactory.Tests.RunTraces." + Guid.NewGuid().ToString("N"));
    private readonly List<Activity> _spans = [];
    private readonly ActivityListener _listener;

    public RunTracesTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => ReferenceEquals(s, _source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (_spans)
                {
                    _spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
    }

    private Activity Span(string name) => Assert.Single(_spans, s => s.OperationName == name);

    [Fact]
    public void A_routed_run_that_crashes_is_one_trace_of_route_spawn_run_and_exit_whatever_order_its_events_come_in()
    {
        // arrange
        var traces = new RunTraces(_source);

        // act: the process runs before the router's event about its route arrives
        traces.Lifecycle(new AgentLifecycle("coder", LifecycleKind.Started, T0.AddMilliseconds(40), "r1", 4242, LaunchedAt: T0));
        traces.Route("coder", "r1", T0.AddMilliseconds(1), "claude", "anthropic", "sonnet", "keyword 'review' -> anthropic");
        Assert.Empty(_spans); // a trace is made whole when the run ends
        traces.Lifecycle(new AgentLifecycle("coder", LifecycleKind.Crashed, T0.AddSeconds(10).AddMilliseconds(5), "r1", ExitCode: 3, Detail: "exit code 3", ExitedAt: T0.AddSeconds(10)));

        // assert
        var task = Span("task");
        Assert.Equal(default, task.ParentSpanId);
        Assert.Equal("r1", task.GetTagItem("df.run_id"));
        Assert.Equal("coder", task.GetTagItem("df.agent"));
        Assert.Equal("anthropic", task.GetTagItem("df.provider"));
        Assert.Equal(ActivityStatusCode.Error, task.Status);
        Assert.Equal(T0.UtcDateTime, task.StartTimeUtc);
        Assert.Equal(TimeSpan.FromMilliseconds(10_005), task.Duration);
        foreach (var child in _spans.Where(s => s != task))
        {
            Assert.Equal(task.TraceId, child.TraceId);
            Assert.Equal(task.SpanId, child.ParentSpanId);
        }

        Assert.Equal("sonnet", Span("route").GetTagItem("df.model"));
        Assert.Equal(T0.AddMilliseconds(1).UtcDateTime, Span("route").StartTimeUtc);
        Assert.Equal(TimeSpan.FromMilliseconds(40), Span("spawn").Duration);
        Assert.Equal(4242, Span("spawn").GetTagItem("process.pid"));
        Assert.Equal(T0.AddMilliseconds(40).UtcDateTime, Span("run").StartTimeUtc);
        Assert.Equal(TimeSpan.FromMilliseconds(9_960), Span("run").Duration);
        var exit = Span("exit");
        Assert.Equal(TimeSpan.FromMilliseconds(5), exit.Duration);
        Assert.Equal(3, exit.GetTagItem("df.exit_code"));
        Assert.Equal("crashed", exit.GetTagItem("df.outcome"));
        Assert.Equal(ActivityStatusCode.Error, exit.Status);
        Assert.Equal(0, traces.Open);
    }

    [Fact]
    public void A_command_run_that_exits_cleanly_has_no_route_and_an_ok_status()
    {
        var traces = new RunTraces(_source);

        traces.Lifecycle(new AgentLifecycle("ticker", LifecycleKind.Started, T0.AddMilliseconds(3), "r2", 7, LaunchedAt: T0));
        traces.Lifecycle(new AgentLifecycle("ticker", LifecycleKind.Exited, T0.AddSeconds(1), "r2", ExitCode: 0, ExitedAt: T0.AddSeconds(1)));

        Assert.Equal(["exit", "run", "spawn", "task"], _spans.Select(s => s.OperationName).Order());
        Assert.Equal(ActivityStatusCode.Ok, Span("task").Status);
        Assert.True(Span("exit").Duration > TimeSpan.Zero); // same instant: a tick, not "now"
        Assert.True(Span("exit").StartTimeUtc < T0.AddSeconds(2).UtcDateTime);
    }

    [Fact]
    public void A_run_still_going_when_the_daemon_stops_ends_its_trace_and_a_stop_of_an_idle_agent_makes_none()
    {
        var traces = new RunTraces(_source);
        traces.Lifecycle(new AgentLifecycle("keeper", LifecycleKind.Started, T0, "r3", 9, LaunchedAt: T0));
        traces.Route("coder", "r4", T0, "codex", "openai", "gpt", "cost"); // routed, waits, then stopped before it ran
        traces.Lifecycle(new AgentLifecycle("coder", LifecycleKind.Stopped, T0.AddSeconds(1), "r4", Detail: "stopped by operator"));

        traces.Close(T0.AddMinutes(1));

        var task = Span("task");
        Assert.Equal("r3", task.GetTagItem("df.run_id"));
        Assert.Equal("daemon_stopped", task.GetTagItem("df.outcome"));
        Assert.Equal(TimeSpan.FromMinutes(1), task.Duration);
        Assert.DoesNotContain(_spans, s => s.OperationName == "exit");
        Assert.Equal(0, traces.Open);
    }

    [Fact]
    public void Nothing_is_kept_while_no_listener_is_attached()
    {
        using var unheard = new ActivitySource("DarkFactory.Tests.Unheard." + Guid.NewGuid().ToString("N"));
        var traces = new RunTraces(unheard);

        traces.Route("coder", "r5", T0, "claude", "anthropic", "sonnet", "cost");
        traces.Lifecycle(new AgentLifecycle("coder", LifecycleKind.Started, T0, "r5", 1, LaunchedAt: T0));

        Assert.Equal(0, traces.Open);
    }
}
