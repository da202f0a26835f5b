namespace DarkFactory.Messages.Fleet;

// The fleet's own protocol: what the factory, the scheduler, the review and the daemon's shutdown send
// to the fleet, and what the fleet sends to its layers. (ApplyFleet / FleetApplied: Messages.Agents.)

// ---- fleet ----

/// <summary>Stop every agent of every layer gracefully; answered with <see cref="FleetDrained"/>.</summary>
[Manifest("drain-fleet")]
public sealed record DrainFleet : Signal<DrainFleet>, IDarkFactoryMessage;

[Manifest("fleet-drained")]
public sealed record FleetDrained : Signal<FleetDrained>, IDarkFactoryMessage;

/// <summary>Asks the fleet for the revision it runs; answered with <see cref="CurrentFleet"/>.</summary>
[Manifest("get-fleet")]
public sealed record GetFleet : Signal<GetFleet>, IDarkFactoryMessage;

[Manifest("current-fleet")]
public sealed record CurrentFleet(FleetSpec Fleet, int Revision) : IDarkFactoryMessage;

/// <summary>
/// A fleet file the daemon refused to apply (SIGHUP, <c>df reload</c>, a scenario's <c>inject: reload</c>): it was
/// invalid, or it would have stopped every agent or every safety agent. The running fleet is unchanged. Published
/// on the event stream (SSE <c>fleet-reload-refused</c>) so an operator sees a reload that did nothing.
/// </summary>
/// <param name="Source">The file (or what stood for it) that was refused.</param>
/// <param name="Reason">One line: why.</param>
/// <param name="WouldStop">The agents the reload would have stopped (empty for an invalid file).</param>
/// <param name="Errors">The file's errors, each "file:line:col: field: message" (empty for a guarded refusal).</param>
[Manifest("fleet-reload-refused")]
public sealed record FleetReloadRefused(DateTimeOffset At, string Source, string Reason, IReadOnlyList<string> WouldStop, IReadOnlyList<string> Errors) : IDarkFactoryMessage;

// ---- layers ----

/// <summary>Fleet -> layer: this is the layer's desired state now. Answered with <see cref="LayerReconciled"/>.</summary>
/// <param name="Providers">The fleet's providers (fleet.yaml <c>providers</c>), for the CLI adapters' endpoints and keys.</param>
[Manifest("reconcile-layer")]
public sealed record ReconcileLayer(LayerSpec Layer, IReadOnlyList<AgentSpec> Agents, int Revision, IReadOnlyList<ProviderSpec>? Providers = null)
    : IDarkFactoryMessage
{
    /// <summary>Agents of the layer not to autostart (<see cref="DarkFactory.Messages.Agents.ApplyFleet.Held"/>); null: none.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset>? Held { get; init; }

    /// <summary>
    /// The working directories the fleet's agents declare, in every layer: a sandboxed run sees none of them but its
    /// own (and those it lives in or that live in it). Null: none known (an older sender).
    /// </summary>
    public IReadOnlyList<string>? Workdirs { get; init; }
}

/// <summary>
/// What a reconciliation did with each agent, by name: <see cref="LayerReconciled"/> for one layer,
/// <see cref="DarkFactory.Messages.Agents.FleetApplied"/> for the whole fleet (its layers' lists joined). On the wire
/// the lists follow the fields of the message (<c>revision</c>, then <c>started</c> ... <c>updated</c>).
/// </summary>
public abstract record ReconcileChanges
{
    public IReadOnlyList<string> Started { get; init; } = [];
    public IReadOnlyList<string> Restarted { get; init; } = [];
    public IReadOnlyList<string> Stopped { get; init; } = [];
    public IReadOnlyList<string> Unchanged { get; init; } = [];

    /// <summary>Agents changed only in what their running process does not use (schedule, budget, capabilities...): the new declaration is taken, the process kept.</summary>
    public IReadOnlyList<string> Updated { get; init; } = [];
}

/// <summary>What a layer did with a <see cref="ReconcileLayer"/>: each agent of it (and each one it removed) in one list.</summary>
[Manifest("layer-reconciled")]
public sealed record LayerReconciled(LayerName Layer, int Revision) : ReconcileChanges, IDarkFactoryMessage;

/// <summary>Stop every agent of the layer gracefully and answer <see cref="LayerDrained"/> when none is left.</summary>
[Manifest("drain-layer")]
public sealed record DrainLayer : Signal<DrainLayer>, IDarkFactoryMessage;

[Manifest("layer-drained")]
public sealed record LayerDrained(LayerName Layer) : IDarkFactoryMessage;
