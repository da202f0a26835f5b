using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DarkFactory.Messages;

/// <summary>
/// The one JSON format of Dark Factory: the wire and storage format of messages and the HTTP API's
/// format. snake_case names, enums as snake_case strings (reordering an enum never breaks stored data),
/// nulls omitted.
/// </summary>
public static class DarkFactoryJson
{
    public static readonly JsonSerializerOptions Options = Create(indented: false);
    public static readonly JsonSerializerOptions Indented = Create(indented: true);

    private static JsonSerializerOptions Create(bool indented)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            WriteIndented = indented,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Every message type with its stable manifest.</summary>
    public static IReadOnlyDictionary<string, Type> Manifests { get; } = typeof(DarkFactoryJson).Assembly.GetTypes()
        .Select(t => (Type: t, Attr: t.GetCustomAttribute<ManifestAttribute>()))
        .Where(x => x.Attr is not null)
        .ToDictionary(x => x.Attr!.Name, x => x.Type, StringComparer.Ordinal);
}
