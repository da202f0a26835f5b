using System.Text.Json.Serialization;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Messages.Providers;

/// <summary>A route: which CLI runs the task, against which provider and model, and why.</summary>
/// <param name="Provider">fleet.yaml <c>providers[].name</c>; null when the fleet declares no provider for it.</param>
/// <param name="Kind">What decided it, in one word: rule, own (the agent's provider), fallback, failover, probe or declared.</param>
[Manifest("route")]
public sealed record Route(
    string Cli,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Provider,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Model,
    string Reason,
    string? Kind = null) : IDarkFactoryMessage;

/// <summary>One provider the router considered for a task; <see cref="RejectedBecause"/> is null for the chosen one.</summary>
[Manifest("route-candidate")]
public sealed record RouteCandidate(
    string Cli,
    string Provider,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Model,
    double Score,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? RejectedBecause) : IDarkFactoryMessage;

/// <summary>
/// A routing decision: the chosen route (null when every candidate is exhausted) and every candidate,
/// best first, each losing one with why it lost. <see cref="Agent"/> is the agent it was decided for,
/// or (for a bare task) the best-fit agent by capabilities.
/// </summary>
[Manifest("route-decision")]
public sealed record RouteDecision(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] Route? Chosen,
    IReadOnlyList<RouteCandidate> Candidates,
    string? Agent = null,
    string? Waiting = null) : IDarkFactoryMessage;

/// <summary>Why a provider was left for another one.</summary>
public enum SwitchReason
{
    CreditsExhausted,
    BudgetExceeded,
    RateLimit,
    Error,
    Timeout,
    Manual,

    /// <summary>The task (or the strategy) fits another provider better; the previous one was fine.</summary>
    Routing,

    /// <summary>Nightwatch saw a severe drift on the previous provider: the agent avoids it for a while.</summary>
    Drift,
}

/// <summary>The health of a provider as `df providers` shows it.</summary>
public enum ProviderState
{
    Ok,
    Limited,
    Open,
    OverBudget,
}

// ---- commands and queries (answered by the router at /user/factory/router) ----

/// <summary>Route a task (for an agent, or for the best-fit agent by capabilities) against the live provider board.</summary>
[Manifest("route-task")]
public sealed record RouteTask(string Task, string? Agent = null) : IDarkFactoryMessage;

/// <summary>Layer -> router: the agent could not get a route; start it (StartAgent through the factory) when one returns.</summary>
[Manifest("await-route")]
public sealed record AwaitRoute(string Agent, string? Task, string Reason) : IDarkFactoryMessage, IWithAgent;

/// <summary>
/// Router -> layer (through the factory): a provider returned; start the agent that waits for a route. Unlike
/// <see cref="StartAgent"/> it does nothing unless the agent is still waiting (an operator may have
/// stopped it meanwhile).
/// </summary>
[Manifest("resume-agent")]
public sealed record ResumeAgent(string Agent, string? Task) : IAgentCommand;

[Manifest("get-providers")]
public sealed record GetProviders : Signal<GetProviders>, IDarkFactoryMessage, ISingletonRead;

/// <summary>A provider as `df providers` shows it: state, until when, and what it cost so far.</summary>
/// <param name="Spend">USD spent on it in total (ledger).</param>
/// <param name="Polling">The router is in polling mode (agents wait for a route; limited providers are probed every <c>router.polling_interval</c>).</param>
/// <param name="InFlight">Runs on it now, on the node that answered (its admission gate).</param>
/// <param name="MaxConcurrent">Its <c>limits.max_concurrent</c>; null: none.</param>
/// <param name="Queued">Runs waiting for it in the node's admission queue.</param>
/// <param name="RequestsLastMinute">Run starts on it in the last minute (against <c>limits.requests_per_minute</c>).</param>
/// <param name="TokensLastMinute">Tokens its runs reported in the last minute (against <c>limits.tokens_per_minute</c>).</param>
[Manifest("provider-status")]
public sealed record ProviderStatus(
    string Name,
    string Cli,
    ProviderState State,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? ResetAt,
    decimal Spend,
    string? Reason = null,
    decimal SpendToday = 0,
    int ConsecutiveFailures = 0,
    bool Polling = false,
    int InFlight = 0,
    int? MaxConcurrent = null,
    int Queued = 0,
    long RequestsLastMinute = 0,
    long TokensLastMinute = 0) : IDarkFactoryMessage;

[Manifest("providers-snapshot")]
public sealed record ProvidersSnapshot(
    IReadOnlyList<ProviderStatus> Providers,
    IReadOnlyList<string> Waiting,
    IReadOnlyList<ProviderSwitched>? Switches = null,
    IReadOnlyList<RouteAvoidRecorded>? Avoids = null) : IDarkFactoryMessage;

/// <summary>Cost report grouped by agent, provider, day or run.</summary>
[Manifest("get-costs")]
public sealed record GetCosts(string By = "provider") : IDarkFactoryMessage, ISingletonRead;

[Manifest("cost-row")]
public sealed record CostRow(string Key, int Runs, long InputTokens, long OutputTokens, long CachedInputTokens, decimal CostUsd) : IDarkFactoryMessage;

/// <summary>Spend of a provider or an agent against its caps (today and this month, UTC).</summary>
/// <param name="Kind">provider or agent.</param>
/// <param name="Budget">The daily cap; null when none.</param>
[Manifest("budget-line")]
public sealed record BudgetLine(
    string Name,
    string Kind,
    decimal SpentToday,
    decimal? Budget,
    decimal SpentMonth,
    decimal? MonthlyBudget,
    decimal? Credits = null) : IDarkFactoryMessage;

/// <param name="Budgets">Every provider and every agent with a budget: spend against caps.</param>
[Manifest("cost-report")]
public sealed record CostReport(string By, IReadOnlyList<CostRow> Rows, decimal TotalUsd, IReadOnlyList<BudgetLine>? Budgets = null) : IDarkFactoryMessage;

// ---- events of the router (persisted, id "router"; storage contracts: add fields with defaults, never rename) ----

/// <summary>
/// An event the router persists (journal <c>router</c>), replayed into its state on recovery. Storage contracts: add
/// fields with defaults, never rename; the manifests stay.
/// </summary>
public interface IRouterEvent : IDarkFactoryMessage
{
    DateTimeOffset At { get; }
}

/// <summary>A run of an AI agent got its route (flat: cli, provider, model, reason). Persisted and published on the event stream.</summary>
/// <param name="ReasonKind">See <see cref="Route.Kind"/> (a low-cardinality label for metrics).</param>
/// <param name="TaskId">The run's task (see <see cref="StartAgent.TaskId"/>); null for a run without one.</param>
/// <param name="ProjectId">The project of that task; null outside a project.</param>
[Manifest("route-chosen")]
public sealed record RouteChosen(
    string Agent,
    string RunId,
    string Cli,
    string? Provider,
    string? Model,
    string Reason,
    DateTimeOffset At,
    string? ReasonKind = null,
    string? TaskId = null,
    string? ProjectId = null) : IRouterEvent, IWithAgent
{
    public static RouteChosen Of(string agent, string runId, Route route, DateTimeOffset at, string? taskId = null, string? projectId = null) =>
        new(agent, runId, route.Cli, route.Provider, route.Model, route.Reason, at, route.Kind, taskId, projectId);

    [JsonIgnore]
    public Route Route => new(Cli, Provider, Model, Reason, ReasonKind);
}

/// <summary>One ledger entry: tokens and cost of (part of) a run; <see cref="Priced"/> when the router priced the tokens itself.</summary>
[Manifest("cost-recorded")]
public sealed record CostRecorded(
    string Agent,
    string RunId,
    string? Provider,
    string? Model,
    long InputTokens,
    long OutputTokens,
    long CachedInputTokens,
    decimal CostUsd,
    bool Priced,
    DateTimeOffset At) : IRouterEvent, IWithAgent;

/// <summary>A provider is rate limited until <see cref="Until"/>.</summary>
[Manifest("provider-limit-recorded")]
public sealed record ProviderLimitRecorded(string Provider, DateTimeOffset Until, string Reason, DateTimeOffset At) : IRouterEvent;

/// <summary>The circuit breaker of a provider changed state (closed, open, half_open).</summary>
[Manifest("breaker-transitioned")]
public sealed record BreakerTransitioned(string Provider, BreakerState State, DateTimeOffset At, string Reason, int Failures) : IRouterEvent;

public enum BreakerState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>An agent's runs moved from one provider to another, and why.</summary>
[Manifest("provider-switched")]
public sealed record ProviderSwitched(
    string Agent,
    string? RunId,
    string? From,
    string To,
    SwitchReason Reason,
    string Detail,
    DateTimeOffset At) : IRouterEvent, IWithAgent;

/// <summary>
/// Runs of <see cref="Agent"/> keep off <see cref="Provider"/> (and, when set, only its <see cref="Model"/>)
/// until <see cref="Until"/>: Nightwatch's <c>RouteAvoid</c> after a severe drift, as the router recorded it
/// (its until extended by <c>router.avoid_for</c>). Expires by time; no event ends it.
/// </summary>
[Manifest("route-avoid-recorded")]
public sealed record RouteAvoidRecorded(
    string Agent,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Provider,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Model,
    DateTimeOffset Until,
    string Reason,
    DateTimeOffset At) : IRouterEvent, IWithAgent;

/// <summary>
/// Ledger totals of one agent on one provider in one UTC hour (older than the ledger's hourly horizon: one
/// day), or of one run when <see cref="RunId"/> is set. Snapshot content.
/// </summary>
[Manifest("cost-bucket")]
public sealed record CostBucket(
    string Agent,
    string? Provider,
    DateTimeOffset Start,
    int Runs,
    long InputTokens,
    long OutputTokens,
    long CachedInputTokens,
    decimal CostUsd,
    string? RunId = null) : IDarkFactoryMessage;

/// <summary>The router's state in one piece (a snapshot every N events; older events are then deleted).</summary>
[Manifest("router-snapshot")]
public sealed record RouterSnapshot(
    IReadOnlyList<CostBucket> Buckets,
    IReadOnlyList<CostBucket> Runs,
    IReadOnlyList<ProviderLimitRecorded> Limits,
    IReadOnlyList<BreakerTransitioned> Breakers,
    IReadOnlyList<RouteChosen> Routes,
    IReadOnlyList<ProviderSwitched> Switches,
    IReadOnlyList<RouteAvoidRecorded>? Avoids = null,
    IReadOnlyList<ProviderAdded>? Added = null) : IDarkFactoryMessage;
