using System.Text.RegularExpressions;

namespace DarkFactory.Actors.Routing;

/// <summary>
/// Providers added while the daemon runs (<c>df provider add</c>), kept by the router as <see cref="ProviderAdded"/>
/// events and routed to beside fleet.yaml's (pure). fleet.yaml wins a name: an added provider whose name the file
/// takes later is shadowed, not merged. A key is named by a variable of the daemon's environment, never held.
/// </summary>
public static partial class RuntimeProviders
{
    /// <summary>Lower is preferred; fleet.yaml's default.</summary>
    public const int DefaultPriority = ProviderSpec.DefaultPriority;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();

    public static ProviderSpec Spec(ProviderAdded e) => new()
    {
        Name = e.Name,
        Cli = e.Cli,
        Model = e.Model,
        ApiKeyEnv = e.ApiKeyEnv,
        Priority = e.Priority,
        Limits = new ProviderLimits { Credits = e.Credits },
    };

    /// <summary>The fleet with the added providers after its own (those whose name it has are left out).</summary>
    public static FleetSpec Merge(FleetSpec fleet, IReadOnlyList<ProviderSpec> added)
    {
        if (added.Count == 0)
        {
            return fleet;
        }

        var own = fleet.Providers.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        return fleet with { Providers = [.. fleet.Providers, .. added.Where(a => !own.Contains(a.Name))] };
    }

    /// <summary>
    /// The event an add records, or the refusal (naming the field) that changes nothing: a bad name, CLI, model,
    /// key variable (also one the daemon's environment does not set), credits or priority, or a fleet.yaml name.
    /// </summary>
    /// <param name="fleet">fleet.yaml's providers (without the added ones).</param>
    /// <param name="isSet">Whether the daemon's environment sets a variable (to a non-empty value).</param>
    public static (ProviderAdded? Event, ProviderCommandResult? Refusal) Add(AddProvider cmd, FleetSpec fleet, Func<string, bool> isSet, DateTimeOffset now)
    {
        string? error = cmd switch
        {
            _ when !Name().IsMatch(cmd.Name) => $"name: '{cmd.Name}' is not a valid provider name (lowercase letters, digits and '-', starting with a letter or digit)",
            _ when !CliCatalog.IsKnown(cmd.Cli) || cmd.Cli == CliCatalog.Command =>
                $"cli: '{cmd.Cli}' is not an AI CLI (one of {string.Join(", ", CliCatalog.Known.Keys.Where(k => k != CliCatalog.Command))})",
            _ when string.IsNullOrWhiteSpace(cmd.Model) => "model: a provider added at runtime needs a model (--model)",
            _ when cmd.ApiKeyEnv is null || !EnvName().IsMatch(cmd.ApiKeyEnv) =>
                $"api_key_env: '{cmd.ApiKeyEnv}' is not an environment variable name (it names the variable that holds the key, never the key)",
            _ when !isSet(cmd.ApiKeyEnv) => $"api_key_env: the daemon's environment does not set {cmd.ApiKeyEnv} (set it where the daemon starts, then add the provider)",
            _ when cmd.Credits is <= 0 => $"credits: must be above 0 (USD the provider may spend); got {cmd.Credits}",
            _ when cmd.Priority is < 0 or > 1000 => $"priority: must be between 0 and 1000 (lower is preferred); got {cmd.Priority}",
            _ => null,
        };
        if (error is not null)
        {
            return (null, new ProviderCommandResult(false, ProviderCommandOutcome.Invalid, error));
        }

        if (fleet.Providers.Any(p => p.Name == cmd.Name))
        {
            return (null, new ProviderCommandResult(false, ProviderCommandOutcome.Conflict,
                $"name: provider '{cmd.Name}' is defined in fleet.yaml{(fleet.SourcePath is { } path ? $" ({path})" : string.Empty)}; change it there, or add this one under another name"));
        }

        return (new ProviderAdded(cmd.Name, cmd.Cli, cmd.Model, cmd.ApiKeyEnv, cmd.Credits, cmd.Priority ?? DefaultPriority, cmd.By, now), null);
    }

    /// <summary>The event a removal records, or the refusal: a fleet.yaml provider, or none of that name.</summary>
    public static (ProviderRemoved? Event, ProviderCommandResult? Refusal) Remove(RemoveProvider cmd, FleetSpec fleet, IReadOnlyDictionary<string, ProviderAdded> added, DateTimeOffset now)
    {
        if (added.ContainsKey(cmd.Name))
        {
            return (new ProviderRemoved(cmd.Name, cmd.By, now), null);
        }

        return fleet.Providers.Any(p => p.Name == cmd.Name)
            ? (null, new ProviderCommandResult(false, ProviderCommandOutcome.Conflict, $"name: provider '{cmd.Name}' is defined in fleet.yaml, not added at runtime; remove it there"))
            : (null, new ProviderCommandResult(false, ProviderCommandOutcome.NotFound, $"name: no provider named '{cmd.Name}' was added (see df provider list)"));
    }

    /// <summary>fleet.yaml's providers, then the added ones (those fleet.yaml took the name of marked shadowed).</summary>
    public static IReadOnlyList<ProviderConfig> Configs(FleetSpec fleet, IEnumerable<ProviderAdded> added)
    {
        var own = fleet.Providers.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        return
        [
            .. fleet.Providers.Select(p => new ProviderConfig(p.Name, p.Cli, p.Model, p.ApiKeyEnv, p.Limits.Credits, p.Priority, "fleet")),
            .. added.OrderBy(a => a.Name, StringComparer.Ordinal).Select(a => Config(a, own.Contains(a.Name))),
        ];
    }

    public static ProviderConfig Config(ProviderAdded a, bool shadowed = false) =>
        new(a.Name, a.Cli, a.Model, a.ApiKeyEnv, a.Credits, a.Priority, "runtime", a.By, a.At, shadowed);

    /// <summary>What <c>df provider add</c> answers once the add is recorded.</summary>
    public static ProviderCommandResult Added(ProviderAdded e, bool update) => new(
        true,
        update ? ProviderCommandOutcome.Updated : ProviderCommandOutcome.Added,
        $"provider '{e.Name}' {(update ? "changed" : "added")} ({e.Cli}, model {e.Model}, key from ${e.ApiKeyEnv})",
        Config(e));

    /// <summary>What <c>df provider remove</c> answers once the removal is recorded.</summary>
    public static ProviderCommandResult Removed(ProviderRemoved e) => new(true, ProviderCommandOutcome.Removed, $"provider '{e.Name}' removed");
}
