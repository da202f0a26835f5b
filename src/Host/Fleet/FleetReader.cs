using System.Text.RegularExpressions;
using Cronos;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>
/// Turns a YAML document into fleet records, field by field, with every structural problem (unknown keys,
/// wrong types, bad formats, impossible values) reported at its node. Cross-record rules (duplicates,
/// references, installed CLIs) are the validators' job; they run on what this builds.
/// </summary>
internal sealed partial class FleetReader(string file, string baseDirectory, FleetSourceMap map, List<FleetDiagnostic> diagnostics)
{
    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    public static partial Regex AgentName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    public static partial Regex EnvName();

    /// <summary>
    /// The section's required <c>name</c> of the <see cref="AgentName"/> form (agents, providers, cluster nodes): reported
    /// missing (<paramref name="missing"/>, else the default text) or, when given, invalid (<paramref name="invalid"/> of
    /// it says what such a name may be). A name of the wrong type is reported by <see cref="Fields.String"/> alone.
    /// </summary>
    private static string? RequiredName(Fields f, Func<string, string> invalid, string? missing = null)
    {
        var name = f.String("name");
        if (name is null && !f.Has("name"))
        {
            f.Missing("name", missing);
        }
        else if (name is not null && !AgentName().IsMatch(name))
        {
            f.Error("name", invalid(name));
        }

        return name;
    }

    private static readonly string[] SecretMarkers = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY"];

    public string BaseDirectory => baseDirectory;

    internal void Mark(string path, YamlNode node) => map.Mark(path, node);

    public static bool LooksLikeSecret(string envKey)
    {
        var k = envKey.ToUpperInvariant();
        return SecretMarkers.Any(k.Contains) || k.EndsWith("_KEY", StringComparison.Ordinal);
    }

    public FleetSpec Read(YamlNode root)
    {
        map.Mark("", root);
        var top = AsMap(root, "");
        if (top is null)
        {
            return new FleetSpec();
        }

        var f = Fields(top, "", FleetKeys.TopLevel);
        var version = f.Int("version");
        if (version is not null && version != 1)
        {
            f.Error("version", $"unsupported version {version} (this Dark Factory reads version 1)");
        }

        var spec = new FleetSpec
        {
            Version = 1,
            Layers = ReadLayers(f),
            Providers = f.Items("providers", ReadProvider),
            Routing = f.Items("routing", ReadRoutingRule),
            Agents = f.Items("agents", ReadAgent),
            Nightwatch = f.Has("nightwatch") ? ReadNightwatch(f.Node("nightwatch")!, "nightwatch") : new NightwatchSpec(),
            CompoundReview = f.Has("compound_review")
                ? ReadCompoundReview(f.Node("compound_review")!, "compound_review")
                : new CompoundReviewSpec { Repo = baseDirectory, Enabled = false }, // no section: no nightly review
            Router = f.Has("router") ? ReadRouter(f.Node("router")!, "router") : new RouterSpec(),
            Projects = f.Has("projects") ? ReadProjects(f.Node("projects")!, "projects") : new ProjectsSpec(),
            Cluster = f.Has("cluster") ? ReadCluster(f.Node("cluster")!, "cluster") : null,
            Limits = f.Node("limits") is { } limits ? ReadFleetLimits(limits, "limits") : new FleetLimits(),
        };
        if (!f.Has("agents"))
        {
            if (top.Children.Keys.All(k => k is YamlScalarNode { Value: "version" }))
            {
                // a file with nothing but `version: 1` is a half-written file, not a fleet of nothing
                Error(top, "agents", "the fleet file holds only `version`: no `agents:` section (write `agents: []` for a fleet with no agents)");
            }
            else
            {
                Warning(top, "agents", "the fleet declares no agents");
            }
        }

        return spec;
    }

    // ---------------------------------------------------------------- shared checks

    private bool CheckCli(Fields f, string key, string cli, bool allowCommand)
    {
        if (!CliCatalog.IsKnown(cli) || (!allowCommand && cli == CliCatalog.Command))
        {
            var known = CliCatalog.Known.Keys.Where(k => allowCommand || k != CliCatalog.Command).ToArray();
            f.Error(key, $"unknown cli '{cli}'{Suggest(cli, known)} (known: {string.Join(", ", known)})");
            return false;
        }

        return true;
    }

    private static void CheckCron(Fields f, string key, string? expression)
    {
        if (expression is null)
        {
            return;
        }

        var fields = expression.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (!expression.TrimStart().StartsWith('@') && fields is not (5 or 6))
        {
            f.Error(key, $"invalid cron expression '{expression}': expected 5 fields (minute hour day month weekday) or 6 with seconds first, got {fields}");
            return;
        }

        try
        {
            _ = CronExpression.Parse(expression, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            f.Error(key, $"invalid cron expression '{expression}': {ex.Message}");
        }
    }

    private static void CheckTimezone(Fields f, string key, string? timezone)
    {
        if (timezone is null)
        {
            return;
        }

        try
        {
            _ = TimeZoneInfo.FindSystemTimeZoneById(timezone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            f.Error(key, $"unknown time zone '{timezone}' (use an IANA name such as UTC or Europe/Berlin)");
        }
    }

    private static void CheckUrl(Fields f, string key, string? url)
    {
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)))
        {
            f.Error(key, $"'{url}' is not an absolute http(s) URL");
        }
    }

    // ---------------------------------------------------------------- node helpers

    private static string Num(double d) => d.ToString(CultureInfo.InvariantCulture);

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any } s
        && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static string Describe(YamlNode node) => node switch
    {
        YamlSequenceNode => "a list",
        YamlMappingNode => "a map",
        YamlScalarNode s when IsNull(s) => "nothing (null)",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "something else",
    };

    private YamlMappingNode? AsMap(YamlNode node, string path)
    {
        if (node is YamlMappingNode m)
        {
            return m;
        }

        if (!IsNull(node))
        {
            Error(node, path, $"expected a map, got {Describe(node)}");
        }

        return null;
    }

    /// <summary>
    /// The entries of a map of names (environment variables, weights), each marked in the source map: its key's node,
    /// the name, the value and its path. A key that is not a plain string is reported and passed over; a node that is
    /// not a map is reported and has none.
    /// </summary>
    /// <param name="what">What the names are, for the error ("weight": "weight names must be strings").</param>
    private IEnumerable<(YamlScalarNode KeyNode, string Key, YamlNode Value, string Path)> Entries(YamlNode node, string path, string what)
    {
        if (AsMap(node, path) is not { } m)
        {
            yield break;
        }

        foreach (var (k, v) in m.Children)
        {
            if (k is not YamlScalarNode { Value: { } key } ks)
            {
                Error(k, path, $"{what} names must be strings");
                continue;
            }

            var p = $"{path}.{key}";
            map.Mark(p, v);
            yield return (ks, key, v, p);
        }
    }

    /// <summary>The fields of the map at <paramref name="path"/>; null when it is null or not a map (reported).</summary>
    private Fields? Section(YamlNode node, string path, string[] known) => AsMap(node, path) is { } m ? Fields(m, path, known) : null;

    /// <summary>
    /// A section whose every field has a default: <paramref name="read"/> gets its fields and the defaults
    /// (<paramref name="defaults"/>, the record's own) and returns what the file makes of them; a section that is
    /// null or not a map (reported) reads as the defaults.
    /// </summary>
    private T ReadSection<T>(YamlNode node, string path, string[] known, T defaults, Func<Fields, T, T> read) =>
        Section(node, path, known) is { } f ? read(f, defaults) : defaults;

    private Fields Fields(YamlMappingNode m, string path, string[] known)
    {
        var values = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in m.Children)
        {
            if (k is not YamlScalarNode { Value: { } key } ks)
            {
                Error(k, path, "keys must be plain strings");
                continue;
            }

            var p = Join(path, key);
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                Error(ks, p, $"unknown key '{key}'{Suggest(key, known)}");
                continue;
            }

            map.Mark(p, v);
            if (!IsNull(v))
            {
                values[key] = v;
            }
        }

        return new Fields(this, m, path, values);
    }

    internal static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    internal static string Suggest(string given, IEnumerable<string> known)
    {
        var best = known.Select(k => (Key: k, Distance: Levenshtein(given, k)))
            .Where(x => x.Distance <= 2)
            .OrderBy(x => x.Distance)
            .FirstOrDefault();
        return best.Key is null ? "" : $" (did you mean '{best.Key}'?)";
    }

    internal static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }

            (prev, cur) = (cur, prev);
        }

        return prev[b.Length];
    }

    internal double? ParseDouble(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: { } v }
            && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return d;
        }

        Error(node, path, $"expected a number, got {Describe(node)}");
        return null;
    }

    internal void Error(YamlNode node, string path, string message) => Add(DiagnosticSeverity.Error, node, path, message);

    internal void Warning(YamlNode node, string path, string message) => Add(DiagnosticSeverity.Warning, node, path, message);

    private void Add(DiagnosticSeverity severity, YamlNode node, string path, string message) =>
        diagnostics.Add(new FleetDiagnostic(severity, file, (int)node.Start.Line, (int)node.Start.Column, path, message));
}
