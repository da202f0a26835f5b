using System.Text.Json.Serialization;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Messages.Providers;

// ---- runtime providers: `df provider add|list|remove`, kept by the router beside fleet.yaml's ----

/// <summary>
/// Add a provider while the daemon runs (or change one added so: its credits raised, another model). The key is
/// named by <see cref="ApiKeyEnv"/>, a variable of the daemon's environment, never given or stored itself.
/// </summary>
[Manifest("add-provider")]
public sealed record AddProvider(
    string Name,
    string Cli,
    string? Model,
    string? ApiKeyEnv,
    decimal? Credits = null,
    int? Priority = null,
    string By = "operator") : IDarkFactoryMessage;

/// <summary>Remove a provider added at runtime (fleet.yaml's are changed in the file).</summary>
[Manifest("remove-provider")]
public sealed record RemoveProvider(string Name, string By = "operator") : IDarkFactoryMessage;

/// <summary>Every provider the router routes to: fleet.yaml's and those added at runtime.</summary>
[Manifest("get-provider-configs")]
public sealed record GetProviderConfigs : Signal<GetProviderConfigs>, IDarkFactoryMessage, ISingletonRead;

/// <summary>One provider as <c>df provider list</c> shows it; <see cref="Source"/> is <c>fleet</c> or <c>runtime</c>.</summary>
/// <param name="Shadowed">A runtime provider whose name fleet.yaml took since: fleet.yaml's is used.</param>
[Manifest("provider-config")]
public sealed record ProviderConfig(
    string Name,
    string Cli,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? ApiKeyEnv,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] decimal? Credits,
    int Priority,
    string Source,
    string? AddedBy = null,
    DateTimeOffset? AddedAt = null,
    bool Shadowed = false) : IDarkFactoryMessage;

[Manifest("provider-configs")]
public sealed record ProviderConfigs(IReadOnlyList<ProviderConfig> Providers) : IDarkFactoryMessage;

public enum ProviderCommandOutcome
{
    Added,
    Updated,
    Removed,

    /// <summary>Bad input (the message names the field); nothing changed.</summary>
    Invalid,

    /// <summary>The name is fleet.yaml's; nothing changed.</summary>
    Conflict,
    NotFound,
}

/// <summary>The router's answer to <see cref="AddProvider"/> and <see cref="RemoveProvider"/>.</summary>
[Manifest("provider-command-result")]
public sealed record ProviderCommandResult(
    bool Ok,
    ProviderCommandOutcome Outcome,
    string Message,
    ProviderConfig? Provider = null) : IDarkFactoryMessage;

// ---- events of the router (persisted, id "router"; storage contracts) ----

/// <summary>A provider added (or changed) at runtime. Holds the name of the key's variable, never a key.</summary>
[Manifest("provider-added")]
public sealed record ProviderAdded(
    string Name,
    string Cli,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? ApiKeyEnv,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] decimal? Credits,
    int Priority,
    string By,
    DateTimeOffset At) : IRouterEvent;

/// <summary>A provider added at runtime was removed.</summary>
[Manifest("provider-removed")]
public sealed record ProviderRemoved(string Name, string By, DateTimeOffset At) : IRouterEvent;
