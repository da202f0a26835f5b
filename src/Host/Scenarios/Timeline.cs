namespace DarkFactory.Host.Scenarios;

/// <summary>Where a timeline entry came from: a step the scenario injected, or an event the actors published.</summary>
public enum EntrySource
{
    Injected,
    Observed,
}

/// <summary>One event of a scenario's timeline at a virtual time; its fields as the event's JSON (snake_case).</summary>
public sealed record TimelineEntry(DateTimeOffset At, TimeSpan Offset, EntrySource Source, string Type, string Manifest, JsonElement Fields)
{
    /// <summary>One line for people: the event's type and its identifying fields.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        foreach (var key in ScenarioEvents.Shown)
        {
            if (Fields.ValueKind == JsonValueKind.Object && Fields.TryGetProperty(key, out var v) && v.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null))
            {
                var text = v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetRawText() : v.ToString();
                parts.Add($"{key}={(text.Length > 80 ? text[..77] + "..." : text)}");
            }
        }

        return $"{Type} {string.Join(' ', parts)}".TrimEnd();
    }

    public static string Format(TimeSpan offset) =>
        $"+{(int)offset.TotalHours:00}:{offset.Minutes:00}:{offset.Seconds:00}{(offset.Milliseconds == 0 ? "" : $".{offset.Milliseconds:000}")}";
}

/// <summary>The event types a scenario can name (by type name or manifest), and how an entry is made of a message.</summary>
public static class ScenarioEvents
{
    /// <summary>Fields shown in a timeline line, in this order.</summary>
    public static readonly string[] Shown = ["agent", "node", "kind", "status", "provider", "state", "outcome", "exit_code", "signal", "reset_at", "reason", "detail", "level", "action", "cost_usd", "project", "project_id", "task_id", "attempt", "passed", "run_id"];

    /// <summary>The scenario's own events (the virtual cluster's decisions): written by the runner, never sent to an actor.</summary>
    private static readonly Dictionary<Type, string> Local = new()
    {
        [typeof(NodeStatusChanged)] = "node-status",
        [typeof(AgentPlaced)] = "agent-placed",
    };

    private static readonly Dictionary<string, Type> ByName = BuildNames(); // after Local, which it reads

    /// <summary>The message type named by its type name (AgentLifecycle) or manifest (agent-lifecycle); null when none.</summary>
    public static Type? Resolve(string name) => ByName.GetValueOrDefault(name);

    public static string ManifestOf(Type type) =>
        Local.GetValueOrDefault(type) ?? DarkFactoryJson.Manifests.FirstOrDefault(m => m.Value == type).Key ?? type.Name;

    public static TimelineEntry Entry(object message, DateTimeOffset at, DateTimeOffset start, EntrySource source) =>
        new(at, at - start, source, message.GetType().Name, ManifestOf(message.GetType()), JsonSerializer.SerializeToElement(message, message.GetType(), DarkFactoryJson.Options));

    /// <summary>
    /// As <see cref="Entry"/>, with the <c>node</c> its agent is placed on (a clustered scenario: an agent's event is
    /// stamped with where it runs); an event of no agent, or of an agent placed nowhere, as it is.
    /// </summary>
    public static TimelineEntry Entry(object message, DateTimeOffset at, DateTimeOffset start, EntrySource source, Func<string, string?> nodeOf)
    {
        if (message is not IWithAgent { Agent: { } agent } || nodeOf(agent) is not { } node)
        {
            return Entry(message, at, start, source);
        }

        var fields = JsonSerializer.SerializeToNode(message, message.GetType(), DarkFactoryJson.Options)!.AsObject();
        fields["node"] = node;
        return new(at, at - start, source, message.GetType().Name, ManifestOf(message.GetType()), JsonSerializer.SerializeToElement(fields, DarkFactoryJson.Options));
    }

    private static Dictionary<string, Type> BuildNames()
    {
        var names = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase);
        foreach (var (manifest, type) in DarkFactoryJson.Manifests)
        {
            names[manifest] = type;
            names[type.Name] = type;
        }

        foreach (var type in typeof(DarkFactoryJson).Assembly.GetTypes().Where(t => typeof(IDarkFactoryMessage).IsAssignableFrom(t) && !t.IsAbstract))
        {
            names.TryAdd(type.Name, type);
        }

        foreach (var (type, manifest) in Local)
        {
            names.TryAdd(manifest, type);
            names.TryAdd(type.Name, type);
        }

        foreach (var injected in Injected.All)
        {
            names.TryAdd(injected, typeof(Injected));
        }

        return names;
    }

    /// <summary>The injected steps as timeline entries (type "inject.KIND").</summary>
    public static class Injected
    {
        public static readonly string[] All = Enum.GetNames<StepKind>().Select(Name).ToArray();

        public static string Name(string kind) => "inject." + JsonNamingPolicy.SnakeCaseLower.ConvertName(kind);

        public static string Name(StepKind kind) => Name(kind.ToString());
    }
}
