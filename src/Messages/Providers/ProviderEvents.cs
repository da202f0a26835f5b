using DarkFactory.Messages.Agents;

namespace DarkFactory.Messages.Providers;

/// <summary>
/// Token use (and cost, where the CLI reports it) of one model call or one run of an agent, as the
/// CLI's adapter parsed it from the machine-readable output. Published on the event stream; the router's
/// cost ledger and Nightwatch's burn-rate signal read it. A storage contract once the ledger persists it:
/// add fields with defaults, never rename or remove; the manifest stays.
/// </summary>
/// <param name="Provider">The provider the run was routed to (fleet.yaml <c>providers[].name</c>); null when unknown.</param>
/// <param name="CostUsd">Cost the CLI reported; null when it reported none (the ledger then prices the tokens).</param>
/// <param name="TaskId">The run's task (see <see cref="StartAgent.TaskId"/>); null for a run without one.</param>
/// <param name="ProjectId">The project of that task; null outside a project.</param>
[Manifest("agent-usage")]
public sealed record AgentUsage(
    string Agent,
    string RunId,
    string? Provider,
    string? Model,
    long InputTokens,
    long OutputTokens,
    DateTimeOffset At,
    long CachedInputTokens = 0,
    decimal? CostUsd = null,
    string? TaskId = null,
    string? ProjectId = null) : IDarkFactoryMessage, IWithAgent;

/// <summary>Where a provider-limited verdict came from.</summary>
public enum LimitSource
{
    /// <summary>A text line matched one of <c>nightwatch.rate_limit_patterns</c>.</summary>
    Pattern,

    /// <summary>A structured event of the CLI (claude <c>rate_limit_event</c> / <c>api_retry</c> 429, codex 429 error, ...).</summary>
    Structured,

    /// <summary>A probe or request of the router itself.</summary>
    Router,
}

/// <summary>
/// A provider said an agent is rate limited or out of quota. Published on the event stream by Nightwatch
/// (text patterns) and by the CLI adapters (structured events); the router marks the provider limited
/// until <see cref="ResetAt"/> (or its own back-off when no reset time was given).
/// </summary>
/// <param name="Provider">The provider of the agent's current run; null when the run was not routed to a known provider.</param>
/// <param name="Line">The output line that said so (redacted), for the record.</param>
[Manifest("provider-limited")]
public sealed record ProviderLimited(
    string? Provider,
    string Agent,
    string? RunId,
    DateTimeOffset At,
    DateTimeOffset? ResetAt,
    string Reason,
    LimitSource Source,
    string? Line = null) : IDarkFactoryMessage, IWithAgent;
