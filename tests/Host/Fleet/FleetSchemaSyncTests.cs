using System.Text.Json;
using DarkFactory.Host.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

/// <summary>fleet.schema.json and the loader accept exactly the same keys, map by map.</summary>
public sealed class FleetSchemaSyncTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "fleet.schema.json"))).RootElement;

    [Fact]
    public void Schema_and_loader_know_the_same_keys_everywhere()
    {
        var fromSchema = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        Walk(Schema, "", fromSchema);
        var fromLoader = FleetKeys.ByPath();

        Assert.Equal(fromLoader.Keys.Order(StringComparer.Ordinal), fromSchema.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, keys) in fromLoader)
        {
            Assert.True(keys.Order(StringComparer.Ordinal).SequenceEqual(fromSchema[path]),
                $"{path}: loader [{string.Join(", ", keys.Order(StringComparer.Ordinal))}] vs schema [{string.Join(", ", fromSchema[path])}]");
        }
    }

    [Fact]
    public void Schema_is_draft_2020_12_and_closed()
    {
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", Schema.GetProperty("$schema").GetString());
        Assert.False(Schema.GetProperty("additionalProperties").GetBoolean());
    }

    [Fact]
    public void Every_top_level_and_agent_key_of_the_schema_is_accepted_by_the_loader()
    {
        var agentKeys = Resolve(Schema.GetProperty("$defs").GetProperty("agent")).GetProperty("properties").EnumerateObject().Select(p => p.Name);
        foreach (var key in agentKeys)
        {
            var result = Load($"agents:\n  - {key}: ~\n");
            Assert.DoesNotContain(result.Diagnostics, d => d.Message.StartsWith("unknown key", StringComparison.Ordinal));
        }

        foreach (var key in Schema.GetProperty("properties").EnumerateObject().Select(p => p.Name))
        {
            var result = Load($"{key}: ~\n");
            Assert.DoesNotContain(result.Diagnostics, d => d.Message.StartsWith("unknown key", StringComparison.Ordinal));
        }
    }

    private static JsonElement Resolve(JsonElement node)
    {
        while (node.ValueKind == JsonValueKind.Object && node.TryGetProperty("$ref", out var r))
        {
            var name = r.GetString()!["#/$defs/".Length..];
            node = Schema.GetProperty("$defs").GetProperty(name);
        }

        return node;
    }

    /// <summary>Collects the property names of every object schema by loader path (list items "[]", map values ".*").</summary>
    private static void Walk(JsonElement node, string path, Dictionary<string, SortedSet<string>> into)
    {
        node = Resolve(node);
        if (node.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
        {
            if (node.TryGetProperty(combinator, out var branches))
            {
                foreach (var branch in branches.EnumerateArray())
                {
                    Walk(branch, path, into);
                }
            }
        }

        if (node.TryGetProperty("properties", out var props))
        {
            if (!into.TryGetValue(path, out var set))
            {
                into[path] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            foreach (var p in props.EnumerateObject())
            {
                set.Add(p.Name);
                Walk(p.Value, path.Length == 0 ? p.Name : $"{path}.{p.Name}", into);
            }
        }

        if (node.TryGetProperty("items", out var items))
        {
            Walk(items, path + "[]", into);
        }

        if (node.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.Object)
        {
            Walk(additional, path + ".*", into);
        }
    }
}
