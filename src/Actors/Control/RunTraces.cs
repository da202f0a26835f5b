using System.Diagnostics;

namespace DarkFactory.Actors.Control;

/// <summary>
/// Traces a task's path, one trace per run, from the events the fleet already publishes: a root span
/// <c>task</c> (tags <c>df.agent</c>, <c>df.run_id</c>) with the children
/// <list type="bullet">
/// <item><c>route</c>: the routing decision (provider, model, reason), when the run was routed;</item>
/// <item><c>spawn</c>: from the layer beginning the run (route, launch plan, process start) to its process running (pid);</item>
/// <item><c>run</c>: the process running, until it exited;</item>
/// <item><c>exit</c>: from the process's exit until the layer recorded it (output drained, process group killed), with exit code, signal and outcome.</item>
/// </list>
/// A run's spans are made when it ends (the times come from the events), so one trace arrives whole; the
/// events of a run may come in any order (the route comes through the router). Nothing is kept while no
/// listener (exporter) is attached. Not thread-safe: one actor owns it.
/// </summary>
public sealed class RunTraces(ActivitySource source)
{
    /// <summary>Runs with no end in sight (a route whose run never started) are forgotten after this.</summary>
    public static readonly TimeSpan Forget = TimeSpan.FromMinutes(10);
    private const int MaxPending = 10_000;
    private readonly Dictionary<string, Pending> _runs = new(StringComparer.Ordinal);

    /// <summary>Runs seen but not yet ended.</summary>
    public int Open => _runs.Count;

    public void Route(string agent, string runId, DateTimeOffset at, string? cli, string? provider, string? model, string? reason)
    {
        if (!source.HasListeners())
        {
            return;
        }

        var run = Get(agent, runId, at);
        run.Route = new RouteInfo(at, cli, provider, model, reason);
    }

    public void Lifecycle(AgentLifecycle e)
    {
        if (e.RunId is not { } runId || !source.HasListeners())
        {
            return;
        }

        switch (e.Kind)
        {
            case LifecycleKind.Started:
                var run = Get(e.Agent, runId, e.At);
                run.Started = e.At;
                run.Launched = e.LaunchedAt ?? e.At;
                run.Pid = e.Pid;
                break;
            case var kind when kind.EndsRun() && _runs.Remove(runId, out var ended):
                if (ended.Started is null && e.ExitCode is null)
                {
                    return; // a stop of an agent whose run never started (it waited for a route or a restart)
                }

                Emit(runId, ended, e);
                break;
            case LifecycleKind.Unavailable when _runs.Remove(runId, out var failed):
                Emit(runId, failed, e); // the launch failed (a misconfigured run)
                break;
        }
    }

    /// <summary>The daemon stops: runs still going end their trace here.</summary>
    public void Close(DateTimeOffset now)
    {
        foreach (var (runId, run) in _runs.Where(r => r.Value.Started is not null).ToList())
        {
            Emit(runId, run, null, now);
        }

        _runs.Clear();
    }

    private Pending Get(string agent, string runId, DateTimeOffset at)
    {
        if (!_runs.TryGetValue(runId, out var run))
        {
            if (_runs.Count >= MaxPending)
            {
                Prune(at);
            }

            run = new Pending(agent, at);
            _runs[runId] = run;
        }

        return run;
    }

    /// <summary>Forgets runs that never started and are old; if none are, the oldest not started.</summary>
    private void Prune(DateTimeOffset now)
    {
        var stale = _runs.Where(r => r.Value.Started is null && now - r.Value.Seen > Forget).Select(r => r.Key).ToList();
        if (stale.Count == 0)
        {
            stale = _runs.Where(r => r.Value.Started is null).OrderBy(r => r.Value.Seen).Take(MaxPending / 10).Select(r => r.Key).ToList();
        }

        foreach (var key in stale)
        {
            _runs.Remove(key);
        }
    }

    private void Emit(string runId, Pending run, AgentLifecycle? end, DateTimeOffset? now = null)
    {
        var endAt = end?.At ?? now ?? DateTimeOffset.UtcNow;
        var launched = run.Launched ?? run.Route?.At ?? run.Started ?? endAt;
        var start = Min(launched, run.Route?.At ?? launched);
        var outcome = end is null ? "daemon_stopped" : end.Kind.ToString().ToLowerInvariant();
        var failed = end?.Kind is LifecycleKind.Crashed or LifecycleKind.Killed or LifecycleKind.Unavailable;
        var previous = Activity.Current;
        Activity.Current = null;
        try
        {
            using var task = source.StartActivity("task", ActivityKind.Internal, default(ActivityContext), startTime: start);
            if (task is null)
            {
                return;
            }

            task.SetTag("df.agent", run.Agent).SetTag("df.run_id", runId).SetTag("df.outcome", outcome);
            if (run.Route is { } route)
            {
                Child(task, "route", route.At, route.At, s => s.SetTag("df.cli", route.Cli).SetTag("df.provider", route.Provider).SetTag("df.model", route.Model).SetTag("df.reason", route.Reason));
                task.SetTag("df.provider", route.Provider).SetTag("df.model", route.Model);
            }

            if (run.Started is { } started)
            {
                var exited = end?.ExitedAt ?? endAt;
                Child(task, "spawn", launched, started, s => s.SetTag("process.pid", run.Pid));
                Child(task, "run", started, exited, s => s.SetTag("process.pid", run.Pid));
                if (end is not null)
                {
                    Child(task, "exit", exited, endAt, s =>
                    {
                        s.SetTag("df.exit_code", end.ExitCode).SetTag("df.signal", end.Signal).SetTag("df.outcome", outcome);
                        s.SetStatus(failed ? ActivityStatusCode.Error : ActivityStatusCode.Ok, end.Detail);
                    });
                }
            }
            else
            {
                Child(task, "spawn", launched, endAt, s => s.SetStatus(ActivityStatusCode.Error, end?.Detail ?? "the run did not start"));
            }

            task.SetTag("process.pid", run.Pid).SetTag("df.exit_code", end?.ExitCode).SetTag("df.signal", end?.Signal);
            task.SetStatus(end is null ? ActivityStatusCode.Unset : failed ? ActivityStatusCode.Error : ActivityStatusCode.Ok, end?.Detail);
            task.SetEndTime(Later(start, endAt).UtcDateTime);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    private void Child(Activity parent, string name, DateTimeOffset start, DateTimeOffset end, Action<Activity> describe)
    {
        using var span = source.StartActivity(name, ActivityKind.Internal, parent.Context, startTime: start);
        if (span is null)
        {
            return;
        }

        describe(span);
        span.SetEndTime(Later(start, end).UtcDateTime);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>The end of a span: never before its start, and never exactly at it (a zero duration means "now" to Activity.Stop).</summary>
    private static DateTimeOffset Later(DateTimeOffset start, DateTimeOffset end) => end > start ? end : start.AddTicks(1);

    private sealed record RouteInfo(DateTimeOffset At, string? Cli, string? Provider, string? Model, string? Reason);

    private sealed class Pending(string agent, DateTimeOffset seen)
    {
        public string Agent { get; } = agent;
        public DateTimeOffset Seen { get; } = seen;
        public RouteInfo? Route { get; set; }
        public DateTimeOffset? Launched { get; set; }
        public DateTimeOffset? Started { get; set; }
        public int? Pid { get; set; }
    }
}
