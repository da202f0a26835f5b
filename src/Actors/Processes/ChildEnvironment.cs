namespace DarkFactory.Actors.Processes;

/// <summary>
/// The environment of a helper command (git, a gate) as a complete replacement of the daemon's own: CliWrap
/// layers variables over the parent's environment, so every variable of the daemon that the child must not
/// see is listed with a null value (removed). Nothing of the daemon's environment leaks by default.
/// </summary>
public static class ChildEnvironment
{
    /// <summary>The variables of <paramref name="parent"/> an agent may inherit (<see cref="LaunchPlanner.Allowlist"/> and LC_*).</summary>
    public static Dictionary<string, string> Allowlisted(IReadOnlyDictionary<string, string?> parent)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in parent)
        {
            if (value is not null && (LaunchPlanner.Allowlist.Contains(key) || key.StartsWith("LC_", StringComparison.Ordinal)))
            {
                env[key] = value;
            }
        }

        return env;
    }

    /// <summary>
    /// <paramref name="wanted"/> as the child's whole environment: every other variable of this process is removed.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> Exactly(IReadOnlyDictionary<string, string> wanted)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string key && !wanted.ContainsKey(key))
            {
                env[key] = null;
            }
        }

        foreach (var (key, value) in wanted)
        {
            env[key] = value;
        }

        return env;
    }
}
