namespace DarkFactory.Actors.Supervision;

/// <summary>What a layer does with a new declaration of its agents (see <see cref="LayerReconciler.Diff"/>).</summary>
/// <param name="Added">Agents the layer does not have yet, in declaration order.</param>
/// <param name="Removed">Agents no longer declared: stopped, then forgotten.</param>
/// <param name="Changed">Agents whose running process would differ (<see cref="LayerReconciler.SameLaunch"/>): stopped and started with the new declaration.</param>
/// <param name="Updated">Agents changed only in what their process does not use (schedule, budget, capabilities, restart type...): the layer takes the new declaration and keeps the process.</param>
/// <param name="Unchanged">Agents declared exactly as before.</param>
public sealed record ReconcilePlan(
    IReadOnlyList<AgentSpec> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<AgentSpec> Changed,
    IReadOnlyList<AgentSpec> Updated,
    IReadOnlyList<string> Unchanged);

/// <summary>
/// The layer's reconciliation as a pure diff of the declared agents against the ones it has. Only the
/// fields a running process was launched with (<see cref="LaunchFields"/>) restart it; an edit of any
/// other field is taken without touching the process.
/// </summary>
public static class LayerReconciler
{
    /// <summary>The fields of an agent's declaration that its process is launched with: argv, environment, working directory, limits, route pinning, permissions, sandbox and network, stop and runtime bounds.</summary>
    public static readonly IReadOnlySet<string> LaunchFields = new HashSet<string>(StringComparer.Ordinal)
    {
        nameof(AgentSpec.Cli),
        nameof(AgentSpec.Command),
        nameof(AgentSpec.Task),
        nameof(AgentSpec.Provider),
        nameof(AgentSpec.Model),
        nameof(AgentSpec.Workdir),
        nameof(AgentSpec.Env),
        nameof(AgentSpec.Limits),
        nameof(AgentSpec.MaxRuntime),
        nameof(AgentSpec.Grace),
        nameof(AgentSpec.ResultGrace),
        nameof(AgentSpec.PermissionMode),
        nameof(AgentSpec.AllowedTools),
        nameof(AgentSpec.Sandbox),
        nameof(AgentSpec.Network),
    };

    /// <param name="current">The declarations the layer holds (for an agent whose change waits for its run to end: the new one), in its order.</param>
    /// <param name="desired">The layer's agents as now declared.</param>
    public static ReconcilePlan Diff(IReadOnlyList<AgentSpec> current, IReadOnlyList<AgentSpec> desired)
    {
        var held = current.ToDictionary(a => a.Name, StringComparer.Ordinal);
        var wanted = desired.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        List<AgentSpec> added = [], changed = [], updated = [];
        List<string> unchanged = [];
        foreach (var spec in desired)
        {
            if (!held.TryGetValue(spec.Name, out var before))
            {
                added.Add(spec);
            }
            else if (!SameLaunch(before, spec))
            {
                changed.Add(spec);
            }
            else if (!SameDeclaration(before, spec))
            {
                updated.Add(spec);
            }
            else
            {
                unchanged.Add(spec.Name);
            }
        }

        return new ReconcilePlan(added, current.Where(a => !wanted.Contains(a.Name)).Select(a => a.Name).ToList(), changed, updated, unchanged);
    }

    /// <summary>Would a process launched from <paramref name="a"/> be launched the same from <paramref name="b"/>? (<see cref="LaunchFields"/>)</summary>
    public static bool SameLaunch(AgentSpec a, AgentSpec b) =>
        a.Cli == b.Cli &&
        a.Command.SequenceEqual(b.Command) &&
        a.Task == b.Task &&
        a.Provider == b.Provider &&
        a.Model == b.Model &&
        a.Workdir == b.Workdir &&
        SameEnv(a.Env, b.Env) &&
        a.Limits == b.Limits &&
        a.MaxRuntime == b.MaxRuntime &&
        a.Grace == b.Grace &&
        a.ResultGrace == b.ResultGrace &&
        a.PermissionMode == b.PermissionMode &&
        a.AllowedTools.SequenceEqual(b.AllowedTools) &&
        a.Sandbox == b.Sandbox &&
        a.Network == b.Network;

    /// <summary>Every field equal but the line the agent was declared on.</summary>
    public static bool SameDeclaration(AgentSpec a, AgentSpec b) =>
        JsonSerializer.Serialize(a with { SourceLine = 0 }, DarkFactoryJson.Options) == JsonSerializer.Serialize(b with { SourceLine = 0 }, DarkFactoryJson.Options);

    private static bool SameEnv(IReadOnlyDictionary<string, EnvValue> a, IReadOnlyDictionary<string, EnvValue> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
