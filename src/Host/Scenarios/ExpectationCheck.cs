namespace DarkFactory.Host.Scenarios;

/// <summary>An expectation's verdict: what it asked, whether it held, and the first counter-example when it did not.</summary>
public sealed record ExpectationResult(Expectation Expectation, string Description, bool Passed, string Detail, IReadOnlyList<TimelineEntry> Matches);

/// <summary>Checks expectations on a finished timeline (pure).</summary>
public static class ExpectationCheck
{
    public static ExpectationResult Check(Expectation e, IReadOnlyList<TimelineEntry> timeline, TimeSpan until)
    {
        var to = e.Within is { } w ? w : until;
        var window = $"between {TimelineEntry.Format(e.After)} and {TimelineEntry.Format(to)}";
        var description = Describe(e, to);
        var ofType = timeline.Where(t => IsType(t, e.Event)).ToList();
        var matches = ofType.Where(t => t.Offset >= e.After && t.Offset <= to && Matches(t, e.Where)).ToList();
        if (e.Never)
        {
            return matches.Count == 0
                ? new ExpectationResult(e, description, true, $"none {window}", matches)
                : new ExpectationResult(e, description, false, $"counter-example: at {TimelineEntry.Format(matches[0].Offset)}: {matches[0].Describe()}", matches);
        }

        var (min, max) = (e.Count ?? e.AtLeast ?? 1, e.Count ?? e.AtMost ?? int.MaxValue);
        if (matches.Count >= min && matches.Count <= max)
        {
            return new ExpectationResult(e, description, true, $"{matches.Count} {window}, first at {TimelineEntry.Format(matches[0].Offset)}", matches);
        }

        if (matches.Count > max)
        {
            var extra = matches[max];
            return new ExpectationResult(e, description, false,
                $"{matches.Count} {window} (at most {max}); counter-example: the {Ordinal(max + 1)} at {TimelineEntry.Format(extra.Offset)}: {extra.Describe()}", matches);
        }

        var detail = matches.Count == 0 ? $"none {window}" : $"only {matches.Count} {window} (at {string.Join(", ", matches.Select(m => TimelineEntry.Format(m.Offset)))})";
        var near = ofType.Where(t => Matches(t, e.Where)).Except(matches).FirstOrDefault();
        if (near is not null)
        {
            detail += $"; one came outside the window at {TimelineEntry.Format(near.Offset)}";
        }
        else if (ofType.Count > 0)
        {
            detail += $"; {ofType.Count} {e.Event} events did not match, the last: {ofType[^1].Describe()} at {TimelineEntry.Format(ofType[^1].Offset)}";
        }

        return new ExpectationResult(e, description, false, detail, matches);
    }

    public static string Describe(Expectation e, TimeSpan to)
    {
        var where = e.Where.Count == 0 ? "" : " where " + string.Join(' ', e.Where.Select(kv => $"{kv.Key}={kv.Value}"));
        var count = e.Never ? "never" : e.Count is { } c ? $"exactly {c}x" : e.AtLeast is { } l ? $"at least {l}x" : e.AtMost is { } m ? $"at most {m}x" : "happens";
        var window = e.After > TimeSpan.Zero || e.Within is not null ? $" between {TimelineEntry.Format(e.After)} and {TimelineEntry.Format(to)}" : "";
        return $"{e.Event}{where} {count}{window}";
    }

    private static bool IsType(TimelineEntry t, string name) =>
        string.Equals(t.Type, name, StringComparison.OrdinalIgnoreCase) || string.Equals(t.Manifest, name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Every field of <paramref name="where"/> equals the event's (snake_case name; values compared as text, case-insensitive; a dotted name reaches into an object).</summary>
    public static bool Matches(TimelineEntry t, IReadOnlyDictionary<string, string> where)
    {
        foreach (var (key, expected) in where)
        {
            var value = t.Fields;
            foreach (var part in key.Split('.'))
            {
                if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(part, out value))
                {
                    return false;
                }
            }

            var actual = value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase) && !SameInstant(actual, expected))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SameInstant(string? actual, string expected) =>
        DateTimeOffset.TryParse(actual, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var a)
        && DateTimeOffset.TryParse(expected, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var b)
        && a == b;

    private static string Ordinal(int n) => n switch { 1 => "1st", 2 => "2nd", 3 => "3rd", _ => $"{n}th" };
}
