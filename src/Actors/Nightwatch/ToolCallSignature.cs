using System.Buffers;
using System.IO.Hashing;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// The loop key of a structured tool-call line (pure). Every CLI stamps each call with fresh ids and
/// times (claude <c>toolu_…</c> and message uuids, codex <c>item_3</c>, gemini <c>tool_id</c>, opencode
/// <c>callID</c>/<c>prt_…</c>) and reports tokens and output beside it, so the same call made again
/// never repeats as text. The signature hashes the JSON without those members — what is left is the
/// tool and its input — in one forward pass of <see cref="Utf8JsonReader"/> (no DOM). A line that is
/// not JSON falls back to <see cref="AgentSignals.LineHash"/>.
/// </summary>
public static class ToolCallSignature
{
    /// <summary>Members that never say what the call does: exact names, compared case-insensitively.</summary>
    private static readonly HashSet<string> Ignored = new(StringComparer.OrdinalIgnoreCase)
    {
        "id", "uuid", "timestamp", "time", "ts", "created", "created_at", "updated_at",
        "usage", "stats", "output", "aggregated_output", "metadata", "duration_ms",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> IgnoredSpans = Ignored.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <param name="text">The tool-call line as the CLI printed it.</param>
    /// <param name="length">How many characters the signature covers (0 for an empty call).</param>
    public static ulong Hash(string text, out int length)
    {
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.Length == 0 || trimmed[0] != '{')
        {
            return AgentSignals.LineHash(text, out length);
        }

        var hash = new XxHash3();
        length = 0;
        var bytes = Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && IsIgnored(ref reader))
                {
                    reader.Read();
                    reader.Skip(); // the member's value, whole (an object or array too)
                    continue;
                }

                Append(hash, ref reader, ref length);
            }
        }
        catch (JsonException)
        {
            return AgentSignals.LineHash(text, out length);
        }

        return hash.GetCurrentHashAsUInt64();
    }

    private static bool IsIgnored(ref Utf8JsonReader reader)
    {
        Span<char> name = stackalloc char[64];
        var span = reader.HasValueSequence || reader.ValueSpan.Length > name.Length
            ? reader.GetString().AsSpan()
            : name[..reader.CopyString(name)];
        return IgnoredSpans.Contains(span) || IsIdName(span);
    }

    /// <summary>tool_use_id, session_id, call_id, callID, messageID, sessionId ...: a name ending in _id, Id or ID.</summary>
    private static bool IsIdName(ReadOnlySpan<char> name) =>
        name.Length > 2 && (name.EndsWith("_id", StringComparison.OrdinalIgnoreCase)
            || (name[^2] == 'I' && name[^1] is 'd' or 'D' && char.IsLower(name[^3])));

    private static void Append(XxHash3 hash, ref Utf8JsonReader reader, ref int length)
    {
        // the token type separates "a":1 from "a":"1" and keeps the structure in the hash
        Span<byte> type = [(byte)reader.TokenType];
        hash.Append(type);
        if (reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String or JsonTokenType.Number
            or JsonTokenType.True or JsonTokenType.False)
        {
            ReadOnlySpan<byte> value = reader.HasValueSequence ? BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan;
            hash.Append(value);
            length += value.Length;
        }
    }
}
