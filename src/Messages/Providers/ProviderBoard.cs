using System.Collections.Frozen;
using System.Text.Json.Serialization;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Messages.Providers;

/// <summary>The live condition of one provider as the router sees it (absent from the board: ok).</summary>
/// <param name="State">ok, limited (rate limit), open (circuit breaker) or over_budget.</param>
/// <param name="ResetAt">When the state is expected to end (limit reset, half-open probe, budget window); null = unknown.</param>
/// <param name="Reason">Why, in words (for rejections).</param>
/// <param name="Probe">An open breaker whose open_for elapsed: one half-open probe run may go through.</param>
/// <param name="LatencyMs">Measured mean run time on this provider; null while unknown.</param>
/// <param name="Budget">Over budget because of a spend window (not exhausted credits): <c>on_budget_exceeded: wait</c> waits for it.</param>
[Manifest("provider-condition")]
public sealed record ProviderCondition(
    ProviderState State,
    DateTimeOffset? ResetAt = null,
    string? Reason = null,
    bool Probe = false,
    double? LatencyMs = null,
    bool Budget = false) : IDarkFactoryMessage
{
    public static readonly ProviderCondition Ok = new(ProviderState.Ok);

    [JsonIgnore]
    public bool Available => State == ProviderState.Ok || (State == ProviderState.Open && Probe);
}

/// <summary>An agent over one of its own budgets (fleet.yaml <c>agents[].budget</c>).</summary>
[Manifest("agent-condition")]
public sealed record AgentCondition(string Reason, DateTimeOffset? ResetAt) : IDarkFactoryMessage;

/// <summary>
/// An immutable picture of everything live the routing policy reads: provider conditions, agents over
/// budget, which CLIs are not installed, and the routes each agent must avoid (Nightwatch's severe drift).
/// The router publishes a new one after each change (<see cref="ProviderBoardPublished"/>). Plain data: its
/// maps are read-only dictionaries (JSON objects); <see cref="Frozen"/> turns them into frozen ones for the
/// hot path of a node that received the board.
/// </summary>
[Manifest("provider-board")]
public sealed record ProviderBoard : IDarkFactoryMessage
{
    public static readonly ProviderBoard Empty = new(
        FrozenDictionary<string, ProviderCondition>.Empty, FrozenDictionary<string, AgentCondition>.Empty, FrozenDictionary<string, string>.Empty);

    public ProviderBoard(
        IReadOnlyDictionary<string, ProviderCondition> providers,
        IReadOnlyDictionary<string, AgentCondition> agents,
        IReadOnlyDictionary<string, string> missingClis)
    {
        Providers = providers;
        Agents = agents;
        MissingClis = missingClis;
    }

    /// <summary>Provider name -> its condition; a provider that is not here is ok.</summary>
    public IReadOnlyDictionary<string, ProviderCondition> Providers { get; }

    /// <summary>Agent name -> why it is over its own budget.</summary>
    public IReadOnlyDictionary<string, AgentCondition> Agents { get; }

    /// <summary>CLI kind -> why it cannot run (not installed, with the command that installs it).</summary>
    public IReadOnlyDictionary<string, string> MissingClis { get; }

    /// <summary>
    /// True (runs): a provider whose CLI is not installed is rejected. False (what-if decisions such as
    /// `df route`): the policy's choice stands and the missing CLI is only noted.
    /// </summary>
    public bool EnforceInstalled { get; init; } = true;

    /// <summary>Agent -> the routes its runs keep off (unexpired entries only; the router re-publishes when one expires).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<RouteAvoidRecorded>> Avoids { get; init; } = FrozenDictionary<string, IReadOnlyList<RouteAvoidRecorded>>.Empty;

    /// <summary>
    /// The providers added at runtime (<c>df provider add</c>), routed to after fleet.yaml's: each node's route board
    /// merges them into the fleet's policy (fleet.yaml wins a name).
    /// </summary>
    public IReadOnlyList<ProviderSpec> Added { get; init; } = [];

    public ProviderCondition Of(string provider) => Providers.TryGetValue(provider, out var c) ? c : ProviderCondition.Ok;

    public ProviderBoard With(
        IReadOnlyDictionary<string, ProviderCondition>? providers = null,
        IReadOnlyDictionary<string, AgentCondition>? agents = null,
        IReadOnlyDictionary<string, string>? missingClis = null,
        IReadOnlyDictionary<string, IReadOnlyList<RouteAvoidRecorded>>? avoids = null) =>
        new(providers ?? Providers, agents ?? Agents, missingClis ?? MissingClis) { EnforceInstalled = EnforceInstalled, Avoids = avoids ?? Avoids, Added = Added };

    /// <summary>The same board with every map frozen (ordinal keys): the form the routing hot path reads. Itself when already frozen.</summary>
    public ProviderBoard Frozen() =>
        Providers is FrozenDictionary<string, ProviderCondition> && Agents is FrozenDictionary<string, AgentCondition>
        && MissingClis is FrozenDictionary<string, string> && Avoids is FrozenDictionary<string, IReadOnlyList<RouteAvoidRecorded>>
            ? this
            : new ProviderBoard(Freeze(Providers), Freeze(Agents), Freeze(MissingClis)) { EnforceInstalled = EnforceInstalled, Avoids = Freeze(Avoids), Added = Added };

    private static FrozenDictionary<string, T> Freeze<T>(IReadOnlyDictionary<string, T> map) =>
        map as FrozenDictionary<string, T> ?? map.ToFrozenDictionary(StringComparer.Ordinal);
}

/// <summary>
/// The router published a new <see cref="ProviderBoard"/> (after every change of a provider's health, the
/// ledger, a budget or an avoided route). Each node keeps its own copy for its layers' run starts (the
/// node-local <c>RouteBoard</c>, fed by a subscriber of this message), so the board can cross nodes. One
/// router publishes them in order, and a subscriber receives them in that order.
/// </summary>
[Manifest("provider-board-published")]
public sealed record ProviderBoardPublished(ProviderBoard Board) : IDarkFactoryMessage;

/// <summary>
/// Asks the router for its current <see cref="ProviderBoard"/> (answered with <see cref="CurrentProviderBoard"/>): a
/// node's board subscriber that starts after the router's last <see cref="ProviderBoardPublished"/> (a late-joining
/// node, a restarted subscriber) would otherwise route against an empty board until the next change.
/// </summary>
[Manifest("get-provider-board")]
public sealed record GetProviderBoard : Signal<GetProviderBoard>, IDarkFactoryMessage;

/// <summary>The router's answer to <see cref="GetProviderBoard"/>: its board as it is now.</summary>
[Manifest("current-provider-board")]
public sealed record CurrentProviderBoard(ProviderBoard Board) : IDarkFactoryMessage;
