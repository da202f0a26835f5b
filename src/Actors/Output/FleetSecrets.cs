using System.Text.RegularExpressions;

namespace DarkFactory.Actors.Output;

/// <summary>
/// Every secret value the daemon knows of, for the redactor of output that is not one agent's own (gate
/// output, the daemon's git errors, global redaction of every run): the providers' keys, the forge token,
/// each agent's <c>env</c> secrets (<c>from_env</c>, <c>from_file</c>), and any variable of the daemon's
/// environment whose name says it holds a secret (…_TOKEN, …_KEY, …_SECRET, …PASSWORD).
/// </summary>
public static partial class FleetSecrets
{
    /// <summary>Values shorter than this are not taken from secret-looking names (they would mask ordinary text).</summary>
    public const int MinNamedLength = 8;

    /// <summary>The secrets of the fleet and of the daemon's environment.</summary>
    public static IReadOnlyList<string> Of(FleetSpec fleet, IReadOnlyDictionary<string, string?> environment, Func<string, string?> readFile)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        void Add(string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                found.Add(value);
            }
        }

        foreach (var variable in Variables(fleet))
        {
            Add(environment.GetValueOrDefault(variable));
        }

        foreach (var agent in fleet.Agents)
        {
            foreach (var value in agent.Env.Values)
            {
                if (value.FromFile is { } file)
                {
                    Add(readFile(file)?.TrimEnd('\r', '\n'));
                }
            }
        }

        foreach (var (name, value) in environment)
        {
            if (value is { Length: >= MinNamedLength } && SecretName().IsMatch(name))
            {
                Add(value);
            }
        }

        return found.ToList();
    }

    /// <summary>The environment variables the fleet names as holding secrets (provider keys, forge token, agents' from_env).</summary>
    public static IReadOnlySet<string> Variables(FleetSpec fleet)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in fleet.Providers)
        {
            if (p.ApiKeyEnv is { } key)
            {
                names.Add(key);
            }
        }

        names.Add(fleet.CompoundReview.Forge.TokenEnv);
        foreach (var agent in fleet.Agents)
        {
            foreach (var value in agent.Env.Values)
            {
                if (value.FromEnv is { } variable)
                {
                    names.Add(variable);
                }
            }
        }

        return names;
    }

    [GeneratedRegex(@"(?i)(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|API_?KEY|_KEY)$")]
    private static partial Regex SecretName();
}
