namespace DarkFactory.Actors.Adapters;

/// <summary>Small, allocation-light helpers the output parsers share.</summary>
internal static class Json
{
    /// <summary>What <paramref name="read"/> finds in a line that is a JSON object; null for anything else.</summary>
    public static T? Read<T>(string line, Func<JsonElement, T?> read)
        where T : struct
    {
        using var doc = Object(line);
        return doc is null ? null : read(doc.RootElement);
    }

    /// <summary>Parses a line that looks like a JSON object; null for anything else (plain text, broken JSON).</summary>
    public static JsonDocument? Object(string line)
    {
        var span = line.AsSpan().TrimStart();
        if (span.IsEmpty || span[0] != '{')
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string? Str(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static JsonElement Prop(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : default;

    public static long Long(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;

    public static long? LongOrNull(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    public static decimal? Decimal(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) ? d : null;

    public static bool? Bool(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>
    /// A reset time from the forms providers use: seconds ("30", "30s", "1.5s"), durations ("1m30s",
    /// "250ms"), an HTTP date or an ISO 8601 time. Null when none of them.
    /// </summary>
    public static DateTimeOffset? ResetFrom(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim();
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            // epoch seconds (a resetsAt field) or a relative delay
            return seconds > 1_000_000_000 ? DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000)) : now.AddSeconds(seconds);
        }

        if (Duration(value) is { } d)
        {
            return now + d;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
    }

    /// <summary>"1m30s", "20s", "1.5s", "250ms", "2h": a duration; null otherwise.</summary>
    public static TimeSpan? Duration(string value)
    {
        var total = TimeSpan.Zero;
        var span = value.AsSpan();
        var any = false;
        while (!span.IsEmpty)
        {
            var i = 0;
            while (i < span.Length && (char.IsAsciiDigit(span[i]) || span[i] == '.'))
            {
                i++;
            }

            if (i == 0 || !double.TryParse(span[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            {
                return null;
            }

            span = span[i..];
            if (span.StartsWith("ms"))
            {
                total += TimeSpan.FromMilliseconds(n);
                span = span[2..];
            }
            else if (!span.IsEmpty && span[0] is 's' or 'm' or 'h')
            {
                total += span[0] switch { 's' => TimeSpan.FromSeconds(n), 'm' => TimeSpan.FromMinutes(n), _ => TimeSpan.FromHours(n) };
                span = span[1..];
            }
            else
            {
                return null;
            }

            any = true;
        }

        return any ? total : null;
    }

    /// <summary>"try again in 20s" / "retry after 1m30s" / "retryDelay":"30s" inside a message: the delay; null when absent.</summary>
    public static TimeSpan? DelayInText(string text)
    {
        foreach (var marker in (ReadOnlySpan<string>)["try again in ", "retry after ", "retry in ", "retryDelay\":\"", "retryDelay: "])
        {
            var at = text.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                continue;
            }

            var start = at + marker.Length;
            var end = start;
            while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] is '.' or 'm' or 's' or 'h'))
            {
                end++;
            }

            if (end > start && Duration(text[start..end].TrimEnd('.')) is { } d)
            {
                return d;
            }
        }

        return null;
    }
}
