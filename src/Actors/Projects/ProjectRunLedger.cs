using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Routing;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// What a project's actor reads from its runs while they go (their output, route and priced usage, from the topics)
/// and their ends, until the run's end is recorded as a <see cref="ProjectRunEnded"/>: the final message and CLI
/// session read by the CLI's adapter, the exit, the route and the cost. Bounded: a few runs' traces and ends at a
/// time (an end may overtake its start's answer and wait here). Not thread-safe: the actor's own.
/// </summary>
public sealed class ProjectRunLedger
{
    private const int MaxTraces = 8;
    private const int MaxEnds = 16;

    private readonly Dictionary<string, RunTrace> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AgentLifecycle> _ended = new(StringComparer.Ordinal);

    private sealed class RunTrace
    {
        public RunTranscript Transcript { get; } = new();
        public RouteChosen? Route { get; set; }
        public decimal CostUsd { get; set; }
        public long InputTokens { get; set; }
        public long OutputTokens { get; set; }
    }

    /// <summary>Starts (or keeps) the trace of a run; <paramref name="current"/> is never the one dropped to make room.</summary>
    public void Open(string runId, string? current) => Trace(runId, current);

    public void Output(AgentOutput m, string? current) => Trace(m.RunId, current).Transcript.Add(m.Lines);

    public void Route(RouteChosen m, string? current) => Trace(m.RunId, current).Route = m;

    /// <summary>Adds a run's usage, priced by its provider (the usage's, else its route's).</summary>
    public void Usage(AgentUsage usage, string? current, FleetSpec? fleet)
    {
        var trace = Trace(usage.RunId, current);
        var provider = usage.Provider ?? trace.Route?.Provider;
        var priced = CostLedger.Price(usage, provider, fleet?.Providers.FirstOrDefault(p => p.Name == provider));
        trace.CostUsd += priced.CostUsd;
        trace.InputTokens += usage.InputTokens;
        trace.OutputTokens += usage.OutputTokens;
    }

    /// <summary>Keeps a run's end (or its unavailability) until the project reads it; false for any other lifecycle event.</summary>
    public bool Ended(AgentLifecycle e)
    {
        if (e.RunId is null || (!e.Kind.EndsRun() && e.Kind != LifecycleKind.Unavailable))
        {
            return false;
        }

        if (_ended.Count >= MaxEnds)
        {
            _ended.Remove(_ended.Keys.First());
        }

        _ended[e.RunId] = e;
        return true;
    }

    /// <summary>
    /// The current run's end as the event to record, once it has ended (else null), and forgets the run.
    /// </summary>
    /// <param name="interrupting">The project stopped the run itself (pause, timeout, drain): a stop is an interruption.</param>
    public (ProjectRunEnded Ended, string Agent)? TakeEnd(ProjectState s, bool interrupting, FleetSpec? fleet, DateTimeOffset now)
    {
        if (s.CurrentRunId is not { } runId || !_ended.Remove(runId, out var end))
        {
            return null;
        }

        var trace = Trace(runId, runId);
        var outcome = end.Kind == LifecycleKind.Unavailable
            ? ProjectRunOutcome.Unavailable
            : end.Kind == LifecycleKind.Stopped && interrupting ? ProjectRunOutcome.Interrupted : ProjectRunOutcome.Ended;
        var agent = s.CurrentRun()?.Agent ?? AgentInstance.BaseOf(end.Agent);
        var cli = trace.Route?.Route.Cli ?? fleet?.Agents.FirstOrDefault(a => a.Name == AgentInstance.BaseOf(agent))?.Cli ?? CliCatalog.Command;
        var (message, session) = trace.Transcript.Read(CliAdapters.For(cli));
        var exit = end.ExitCode ?? (end.Signal is { } signal ? 128 + signal : null);
        _runs.Remove(runId);
        var route = trace.Route?.Route;
        return (new ProjectRunEnded(
            s.Created.ProjectId, now, runId, outcome, exit, message, session, cli, route?.Provider, route?.Model, route?.Reason,
            trace.CostUsd, trace.InputTokens, trace.OutputTokens, end.Detail), agent);
    }

    private RunTrace Trace(string runId, string? current)
    {
        if (!_runs.TryGetValue(runId, out var trace))
        {
            if (_runs.Count >= MaxTraces)
            {
                _runs.Remove(_runs.Keys.First(k => k != current));
            }

            trace = _runs[runId] = new RunTrace();
        }

        return trace;
    }
}
