using System.Collections.Frozen;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Actors.Routing;

/// <summary>The live condition of one provider as the router sees it (absent from the board: ok).</summary>
/// <param name="State">ok, limited (rate limit), open (circuit breaker) or over_budget.</param>
/// <param name="ResetAt">When the state is expected to end (limit reset, half-open probe, budget window); null = unknown.</param>
/// <param name="Reason">Why, in words (for rejections).</param>
/// <param name="Probe">An open breaker whose open_for elapsed: one half-open probe run may go through.</param>
/// <param name="LatencyMs">Measured mean run time on this provider; null while unknown.</param>
/// <param name="Budget">Over budget because of a spend window (not exhausted credits): <c>on_budget_exceeded: wait</c> waits for it.</param>
public sealed record ProviderCondition(
    ProviderState State,
    DateTimeOffset? ResetAt = null,
    string? Reason = null,
    bool Probe = false,
    double? LatencyMs = null,
    bool Budget = false)
{
    public static readonly ProviderCondition Ok = new(ProviderState.Ok);

    public bool Available => State == ProviderState.Ok || (State == ProviderState.Open && Probe);
}

/// <summary>An agent over one of its own budgets (fleet.yaml <c>agents[].budget</c>).</summary>
public sealed record AgentCondition(string Reason, DateTimeOffset? ResetAt);

/// <summary>
/// An immutable picture of everything live the routing policy reads: provider conditions, agents over
/// budget, which CLIs are not installed, and the routes each agent must avoid (Nightwatch's severe drift).
/// The router publishes a new one after each change.
/// </summary>
public sealed record ProviderBoard
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

    public IReadOnlyDictionary<string, ProviderCondition> Providers { get; }
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

    public ProviderCondition Of(string provider) => Providers.TryGetValue(provider, out var c) ? c : ProviderCondition.Ok;

    public ProviderBoard With(
        IReadOnlyDictionary<string, ProviderCondition>? providers = null,
        IReadOnlyDictionary<string, AgentCondition>? agents = null,
        IReadOnlyDictionary<string, string>? missingClis = null,
        IReadOnlyDictionary<string, IReadOnlyList<RouteAvoidRecorded>>? avoids = null) =>
        new(providers ?? Providers, agents ?? Agents, missingClis ?? MissingClis) { EnforceInstalled = EnforceInstalled, Avoids = avoids ?? Avoids };
}

/// <summary>
/// A <see cref="ProviderBoard"/> resolved against one <see cref="RoutingPolicy"/>: each provider's condition and
/// missing CLI by provider index (no name lookups per decision). Built by <see cref="RoutingPolicy.Compile"/>;
/// the <see cref="RouteBoard"/> builds it once per publication. Immutable.
/// </summary>
public sealed class BoardView
{
    internal BoardView(RoutingPolicy policy, ProviderBoard board, ProviderCondition[] conditions, string?[] missing)
    {
        Policy = policy;
        Board = board;
        Conditions = conditions;
        Missing = missing;
    }

    public RoutingPolicy Policy { get; }

    public ProviderBoard Board { get; }

    internal ProviderCondition[] Conditions { get; }

    internal string?[] Missing { get; }
}
