using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>
/// The known, non-null fields of one YAML map, with typed getters that report a wrong type or format at the
/// value's node and return null (so the caller falls back to the default and keeps collecting errors).
/// </summary>
internal sealed class Fields(FleetReader reader, YamlMappingNode map, string path, Dictionary<string, YamlNode> values)
{
    public bool Has(string key) => values.ContainsKey(key);

    public YamlNode? Node(string key) => values.GetValueOrDefault(key);

    public string PathOf(string key) => FleetReader.Join(path, key);

    /// <summary>Reports at the key's value, or at the map itself when the key is null or absent.</summary>
    public void Error(string? key, string message)
    {
        if (key is not null && values.TryGetValue(key, out var node))
        {
            reader.Error(node, PathOf(key), message);
        }
        else
        {
            reader.Error(map, key is null ? path : PathOf(key), message);
        }
    }

    /// <summary>Reports <paramref name="message"/> when the key was given and <paramref name="ok"/> is false.</summary>
    public void Require(string key, bool ok, string message)
    {
        if (!ok && Has(key))
        {
            Error(key, message);
        }
    }

    public void Missing(string key, string? message = null) =>
        reader.Error(map, PathOf(key), message ?? $"missing required field '{key}'");

    public string? String(string key)
    {
        if (Node(key) is not { } node)
        {
            return null;
        }

        if (node is YamlScalarNode s)
        {
            return s.Value;
        }

        Error(key, $"expected a string, got {FleetReader.Describe(node)}");
        return null;
    }

    private T? Scalar<T>(string key, string expected, Func<string, T?> parse)
        where T : struct
    {
        if (Node(key) is not { } node)
        {
            return null;
        }

        if (node is YamlScalarNode { Value: { } v } && parse(v) is { } value)
        {
            return value;
        }

        Error(key, $"expected {expected}, got {FleetReader.Describe(node)}");
        return null;
    }

    public int? Int(string key) => Scalar<int>(key, "an integer",
        v => int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i : null);

    public long? Long(string key) => Scalar<long>(key, "an integer",
        v => long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i : null);

    public double? Double(string key) => Scalar<double>(key, "a number",
        v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null);

    public decimal? Decimal(string key) => Scalar<decimal>(key, "a number",
        v => decimal.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null);

    public bool? Bool(string key) => Scalar<bool>(key, "true or false", v => v switch
    {
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        _ => null,
    });

    public TimeSpan? Duration(string key) => Scalar<TimeSpan>(key, "a duration such as 500ms, 30s, 5m, 2h, 1d, 1h30m or a number of seconds",
        v => Durations.TryParse(v, out var t) ? t : null);

    public long? Size(string key) => Scalar<long>(key, "a size such as 512MiB, 2GiB, 100KiB, 1GB or a number of bytes",
        v => Sizes.TryParse(v, out var b) ? b : null);

    /// <summary>An enum written as its member's snake_case name: the name the JSON gives it (<see cref="EnumNames{T}"/>).</summary>
    public T? Enum<T>(string key)
        where T : struct, System.Enum => Enum(key, EnumNames<T>.All);

    public T? Enum<T>(string key, IReadOnlyDictionary<string, T> allowed)
        where T : struct
    {
        if (Node(key) is not { } node)
        {
            return null;
        }

        if (node is YamlScalarNode { Value: { } v } && allowed.TryGetValue(v, out var value))
        {
            return value;
        }

        var names = allowed.Keys.Where(k => !k.Contains('-', StringComparison.Ordinal)).ToArray();
        var given = node is YamlScalarNode { Value: { } text } ? text : "";
        Error(key, $"invalid {key} {FleetReader.Describe(node)}{FleetReader.Suggest(given, names)} (expected one of: {string.Join(", ", names)})");
        return null;
    }

    public IReadOnlyList<string>? StringList(string key)
    {
        if (Node(key) is not { } node)
        {
            return null;
        }

        if (node is not YamlSequenceNode seq)
        {
            Error(key, $"expected a list of strings, got {FleetReader.Describe(node)}");
            return null;
        }

        var result = new List<string>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is YamlScalarNode { Value: { } s } item && !FleetReader.IsNull(item))
            {
                result.Add(s);
            }
            else
            {
                reader.Error(seq.Children[i], $"{PathOf(key)}[{i}]", $"expected a string, got {FleetReader.Describe(seq.Children[i])}");
            }
        }

        return result;
    }

    /// <summary>An argv: a list of strings, or one string that becomes <c>["sh", "-c", string]</c>.</summary>
    public IReadOnlyList<string>? Argv(string key)
    {
        if (Node(key) is YamlScalarNode { Value: { } script })
        {
            if (string.IsNullOrWhiteSpace(script))
            {
                Error(key, $"{key} must not be empty");
                return null;
            }

            return ["sh", "-c", script];
        }

        var list = StringList(key);
        if (list is { Count: 0 })
        {
            Error(key, $"{key} must not be an empty list");
            return null;
        }

        return list;
    }

    /// <summary>Reads a list of maps; items that cannot be read at all are left out (their errors are reported).</summary>
    public IReadOnlyList<T> Items<T>(string key, Func<YamlNode, string, T?> read)
        where T : class
    {
        if (Node(key) is not { } node)
        {
            return [];
        }

        if (node is not YamlSequenceNode seq)
        {
            Error(key, $"expected a list, got {FleetReader.Describe(node)}");
            return [];
        }

        var result = new List<T>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var itemPath = $"{PathOf(key)}[{i}]";
            reader.Mark(itemPath, seq.Children[i]);
            if (FleetReader.IsNull(seq.Children[i]))
            {
                reader.Error(seq.Children[i], itemPath, "expected a map, got nothing (an empty list item)");
                continue;
            }

            if (read(seq.Children[i], itemPath) is { } item)
            {
                result.Add(item);
            }
        }

        return result;
    }
}

/// <summary>
/// The fleet.yaml names of an enum's members: each member's name in snake_case (<c>AcceptEdits</c>: <c>accept_edits</c>),
/// as <see cref="DarkFactoryJson"/> writes them, in the order the enum declares them.
/// </summary>
internal static class EnumNames<T>
    where T : struct, Enum
{
    public static readonly IReadOnlyDictionary<string, T> All =
        Enum.GetValues<T>().ToDictionary(v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()), StringComparer.Ordinal);
}
