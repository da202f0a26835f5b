using System.Collections.Immutable;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using DarkFactory.Actors.Routing.Admission;

namespace DarkFactory.Actors.Control;

/// <summary>
/// Dark Factory's metrics (System.Diagnostics.Metrics, meter <c>DarkFactory</c>) and traces (activity
/// source <c>DarkFactory</c>). The host exports them (OpenTelemetry, Prometheus at /metrics); the
/// <see cref="TelemetryActor"/> feeds them from the event stream. Gauges read immutable snapshots the actor
/// swaps in, never actor state.
/// </summary>
public sealed class FleetTelemetry : IDisposable
{
    public const string Name = "DarkFactory";

    private readonly Meter _meter;
    private ImmutableDictionary<string, int> _byState = ImmutableDictionary<string, int>.Empty;
    private ImmutableDictionary<string, double> _drift = ImmutableDictionary<string, double>.Empty;
    private ImmutableDictionary<string, bool> _readiness = ImmutableDictionary<string, bool>.Empty;
    private long _freeBytes = -1;

    public FleetTelemetry()
    {
        _meter = new Meter(Name, "1.0");
        Source = new ActivitySource(Name, "1.0");
        Restarts = _meter.CreateCounter<long>("df_agent_restarts", description: "Agent restarts by the layer supervisor");
        Exits = _meter.CreateCounter<long>("df_agent_exits", description: "Agent runs that ended, by exit code and kind (exited, crashed, killed, stopped)");
        OutputLines = _meter.CreateCounter<long>("df_agent_output_lines", description: "Output lines captured (rate() gives lines/s)");
        RoutingDecisions = _meter.CreateCounter<long>("df_routing_decisions", description: "Routes chosen by the router, by reason and provider");
        Spend = _meter.CreateCounter<double>("df_provider_spend_usd", description: "Spend reported by agent runs, per provider (USD)");
        Tokens = _meter.CreateCounter<long>("df_provider_tokens", description: "Tokens used, per provider and direction");
        Limited = _meter.CreateCounter<long>("df_provider_limited", description: "Rate-limit / quota verdicts per provider");
        ReviewDuration = _meter.CreateHistogram<double>("df_review_duration_seconds", unit: "s", description: "Compound review durations, by outcome");
        ReviewOutcomes = _meter.CreateCounter<long>("df_review_outcomes", description: "Compound reviews ended, by outcome");
        Corrections = _meter.CreateCounter<long>("df_drift_corrections", description: "Nightwatch corrections, by action");
        _meter.CreateObservableGauge("df_agents", ObserveStates, description: "Agents by state");
        _meter.CreateObservableGauge("df_drift_score", ObserveDrift, description: "Latest drift score per agent (0..1)");
        _meter.CreateObservableGauge("df_ready", () => Volatile.Read(ref _readiness) is { Count: > 0 } r && r.Values.All(ok => ok) ? 1 : 0, description: "1 when the daemon is ready (actor tree answers, journal takes writes, disk has room, agent logs take writes), else 0");
        _meter.CreateObservableGauge("df_readiness_check", ObserveReadiness, description: "Each readiness check: 1 passed, 0 failed (check = actors | journal | disk | logs)");
        _meter.CreateObservableGauge("df_data_dir_free_bytes", () => Volatile.Read(ref _freeBytes), unit: "By", description: "Free bytes on the data directory's file system (-1 unknown)");
        _meter.CreateObservableGauge("df_event_clients", () => Events.Clients, description: "Live event stream clients (SSE) connected");
        _meter.CreateObservableGauge("df_event_queued_bytes", () => Events.QueuedBytes, unit: "By", description: "Bytes of events queued for live clients, all clients together (each is bounded by darkfactory.event-client-buffer)");
        _meter.CreateObservableCounter("df_event_dropped", () => Events.DroppedEvents, description: "Events dropped for live clients that read too slowly (each told with a lagged event)");
        _meter.CreateObservableGauge("df_log_write_failing", () => LogWrites.FailingCount, description: "Agent logs whose writes the file system refuses now (full, read-only); their output is still captured and streamed");
        _meter.CreateObservableGauge("df_provider_in_flight", () => ObserveProviders(p => p.InFlight), description: "Runs on each provider now (against its limits.max_concurrent)");
        _meter.CreateObservableGauge("df_provider_queued", () => ObserveProviders(p => p.Queued), description: "Runs waiting in the admission queue for each provider (a declared limit holds them)");
        _meter.CreateObservableCounter("df_provider_throttled", ObserveThrottled, description: "Runs held back before the provider answered 429, per provider and limit (max_concurrent, requests_per_minute, tokens_per_minute, max_concurrent_runs)");
        _meter.CreateObservableGauge("df_runs_in_flight", () => Gate.Report().InFlight, description: "Runs counted against limits.max_concurrent_runs now (safety agents' runs are exempt)");
        _meter.CreateObservableGauge("df_runs_queued", () => Gate.Report().Queued, description: "Runs waiting in the admission queue (any declared limit)");
        _meter.CreateObservableGauge("df_queued_task_bytes", () => Spill?.Bytes ?? 0, unit: "By", description: "Bytes of queued runs' tasks waiting on disk in the data directory's queued-tasks/ (not in memory)");
        _meter.CreateObservableGauge("df_output_in_flight_bytes", () => Output?.InFlightBytes ?? 0, unit: "By", description: "Bytes of agent output published and not yet taken out of every consumer's mailbox (each run holds at most 16 batches in flight; past that its pumps pause)");
        _meter.CreateObservableGauge("df_output_waiting_bytes", ObserveWaiting, unit: "By", description: "Bytes of agent output waiting in each consumer's mailbox (consumer = events | telemetry | nightwatch | projects | review)");
        _meter.CreateObservableCounter("df_output_pauses", () => Output?.Pauses ?? 0, description: "Times a run's output pump paused because its batches were all in flight (a consumer was behind; the pipe back-pressures the agent)");
        _meter.CreateObservableCounter("df_output_paused_seconds", () => Output?.Paused.TotalSeconds ?? 0, unit: "s", description: "Time output pumps spent paused for a consumer, all runs together");
        _meter.CreateObservableCounter("df_log_dropped_bytes", () => LogWrites.DroppedBytes, unit: "By", description: "Bytes of agent output that could not be written to agent logs");
    }

    /// <summary>
    /// Every counter family at zero, so alerts and dashboards have their series before the first event
    /// (a counter is exported only once something was added to it). Call once the exporter listens.
    /// </summary>
    public void ExportZeros()
    {
        foreach (var counter in new[] { Restarts, Exits, OutputLines, RoutingDecisions, Tokens, Limited, ReviewOutcomes, Corrections })
        {
            counter.Add(0);
        }

        Spend.Add(0);
    }

    /// <summary>An agent's drift score at 0 until Nightwatch judges it (its series exists from the start).</summary>
    public void KnowAgent(string agent) => ImmutableInterlocked.TryAdd(ref _drift, agent, 0);

    /// <summary>The live clients' queues (the event stream's endpoint counts its clients here).</summary>
    public EventQueues Events { get; } = new();

    /// <summary>The node's admission gate (declared limits; its queue): the daemon's layers admit their runs here.</summary>
    public RunGate Gate { get; } = new(TimeProvider.System);

    /// <summary>Where the node's queued runs keep their tasks (the daemon sets it); null: none.</summary>
    public Supervision.TaskSpill? Spill { get; set; }

    /// <summary>The node's agent output in flight to its consumers (the daemon sets it); null: none.</summary>
    public Output.OutputFlow? Output { get; set; }

    /// <summary>Agent log writes the file system refused (the daemon's <see cref="Output.LogSinks"/> report here).</summary>
    public Output.LogWriteFaults LogWrites { get; } = new();

    public ActivitySource Source { get; }
    public Counter<long> Restarts { get; }
    public Counter<long> Exits { get; }
    public Counter<long> OutputLines { get; }
    public Counter<long> RoutingDecisions { get; }
    public Counter<double> Spend { get; }
    public Counter<long> Tokens { get; }
    public Counter<long> Limited { get; }
    public Histogram<double> ReviewDuration { get; }
    public Counter<long> ReviewOutcomes { get; }
    public Counter<long> Corrections { get; }

    /// <summary>Agents per state (every state present, zeros included, so a gauge drops to 0).</summary>
    public void SetStates(ImmutableDictionary<string, int> byState) => Volatile.Write(ref _byState, byState);

    /// <summary>The latest readiness checks (name → passed) and the data directory's free bytes.</summary>
    public void SetReadiness(ImmutableDictionary<string, bool> checks, long freeBytes)
    {
        Volatile.Write(ref _readiness, checks);
        Volatile.Write(ref _freeBytes, freeBytes);
    }

    public void SetDrift(string agent, double score) => ImmutableInterlocked.AddOrUpdate(ref _drift, agent, score, (_, _) => score);

    public void RemoveAgent(string agent) => ImmutableInterlocked.TryRemove(ref _drift, agent, out _);

    private IEnumerable<Measurement<int>> ObserveStates() =>
        Volatile.Read(ref _byState).Select(p => new Measurement<int>(p.Value, new KeyValuePair<string, object?>("state", p.Key)));

    private IEnumerable<Measurement<int>> ObserveReadiness() =>
        Volatile.Read(ref _readiness).Select(p => new Measurement<int>(p.Value ? 1 : 0, new KeyValuePair<string, object?>("check", p.Key)));

    private IEnumerable<Measurement<int>> ObserveProviders(Func<ProviderAdmission, int> value) =>
        Gate.Report().Providers.Select(p => new Measurement<int>(value(p), new KeyValuePair<string, object?>("provider", p.Provider)));

    private IEnumerable<Measurement<long>> ObserveThrottled() =>
        Gate.Report().Providers.SelectMany(p => p.Throttled.Select(t => new Measurement<long>(
            t.Value,
            new KeyValuePair<string, object?>("provider", p.Provider),
            new KeyValuePair<string, object?>("limit", t.Key))));

    private IEnumerable<Measurement<long>> ObserveWaiting() =>
        (Output?.Waiting() ?? []).Select(w => new Measurement<long>(w.Bytes, new KeyValuePair<string, object?>("consumer", w.Consumer)));

    private IEnumerable<Measurement<double>> ObserveDrift() =>
        Volatile.Read(ref _drift).Select(p => new Measurement<double>(p.Value, new KeyValuePair<string, object?>("agent", p.Key)));

    public void Dispose()
    {
        _meter.Dispose();
        Source.Dispose();
    }
}
