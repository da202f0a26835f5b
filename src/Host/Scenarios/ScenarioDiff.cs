using System.Text.Json.Nodes;

namespace DarkFactory.Host.Scenarios;

/// <summary>One expectation's verdict under the scenario's own fleet and under the changed one.</summary>
public sealed record VerdictChange(int Line, string Expectation, bool Before, bool After, string AfterDetail)
{
    /// <summary>It held before and fails now: the changed policy breaks it.</summary>
    public bool Regressed => Before && !After;
}

/// <summary>How often one kind of event happened for one agent (or provider), before and after.</summary>
public sealed record CountChange(string Subject, string Event, int Before, int After);

/// <summary>The first place where the two timelines part: the entries at that position (null when one timeline ended).</summary>
public sealed record Divergence(int Index, TimelineEntry? Before, TimelineEntry? After);

/// <summary>
/// <c>df scenario diff</c>: the same scripted facts (runs, steps, seed) replayed under the scenario's own fleet and
/// under a changed one, compared as a user reads them: which expectations change verdict, which kinds of events
/// happen more or less often per agent, and where the timelines first part. Pure: it compares two finished runs.
/// </summary>
public sealed record ScenarioDiff(
    ScenarioOutcome Before,
    ScenarioOutcome After,
    IReadOnlyList<VerdictChange> Verdicts,
    IReadOnlyList<CountChange> Counts,
    Divergence? FirstDivergence)
{
    /// <summary>Fields that say what happened; run ids, times and free text vary from run to run and are left out.</summary>
    private static readonly string[] Identity = ["agent", "kind", "provider", "state", "outcome", "exit_code", "signal", "level", "action", "layer", "node", "status", "parked", "waiting_for"];

    /// <summary>Timeline entries that are bookkeeping, not behaviour.</summary>
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal) { "AgentOutput", "HistoryFlushed", "AgentStatus" };

    public bool Same => Verdicts.All(v => v.Before == v.After) && Counts.Count == 0 && FirstDivergence is null;

    public bool Regressed => Verdicts.Any(v => v.Regressed);

    public static ScenarioDiff Compare(ScenarioOutcome before, ScenarioOutcome after)
    {
        var verdicts = before.Results.Zip(after.Results, (b, a) => new VerdictChange(b.Expectation.Line, b.Description, b.Passed, a.Passed, a.Detail))
            .Concat(before.Invariants.Zip(after.Invariants, (b, a) => new VerdictChange(0, "invariant: " + b.Name, b.Held, a.Held, a.Detail)))
            .ToList();
        var b = Behaviour(before.Timeline);
        var a = Behaviour(after.Timeline);
        return new ScenarioDiff(before, after, verdicts, CountsOf(b, a), Diverge(b, a));
    }

    /// <summary>What an entry says happened, without what varies between runs of the same facts.</summary>
    public static string Signature(TimelineEntry entry)
    {
        var parts = new List<string> { entry.Type };
        foreach (var key in Identity)
        {
            if (entry.Fields.ValueKind == JsonValueKind.Object && entry.Fields.TryGetProperty(key, out var v) && v.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null))
            {
                parts.Add($"{key}={v}");
            }
        }

        return string.Join(' ', parts);
    }

    private static List<TimelineEntry> Behaviour(IReadOnlyList<TimelineEntry> timeline) =>
        timeline.Where(e => !Ignored.Contains(e.Type)).ToList();

    private static List<CountChange> CountsOf(List<TimelineEntry> before, List<TimelineEntry> after)
    {
        static Dictionary<(string Subject, string Event), int> Tally(List<TimelineEntry> entries)
        {
            var tally = new Dictionary<(string, string), int>();
            foreach (var e in entries)
            {
                var subject = Field(e, "agent") ?? Field(e, "provider") ?? "fleet";
                var what = string.Join(' ', Signature(e).Split(' ').Where(p => !p.StartsWith("agent=", StringComparison.Ordinal)));
                var key = (subject, what);
                tally[key] = tally.GetValueOrDefault(key) + 1;
            }

            return tally;
        }

        var b = Tally(before);
        var a = Tally(after);
        return b.Keys.Union(a.Keys)
            .Select(k => new CountChange(k.Subject, k.Event, b.GetValueOrDefault(k), a.GetValueOrDefault(k)))
            .Where(c => c.Before != c.After)
            .OrderBy(c => c.Subject, StringComparer.Ordinal).ThenBy(c => c.Event, StringComparer.Ordinal)
            .ToList();
    }

    private static Divergence? Diverge(List<TimelineEntry> before, List<TimelineEntry> after)
    {
        for (var i = 0; i < Math.Max(before.Count, after.Count); i++)
        {
            var b = i < before.Count ? before[i] : null;
            var a = i < after.Count ? after[i] : null;
            if (b is null || a is null || b.Offset != a.Offset || Signature(b) != Signature(a))
            {
                return new Divergence(i, b, a);
            }
        }

        return null;
    }

    private static string? Field(TimelineEntry e, string key) =>
        e.Fields.ValueKind == JsonValueKind.Object && e.Fields.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public string Text()
    {
        var s = Before.Scenario;
        var text = new StringBuilder();
        text.AppendLine($"scenario {s.Name} (seed {s.Seed}): the same facts under {Before.Scenario.FleetSource} (before) and {After.Scenario.FleetSource} (after)");
        text.AppendLine("expectations:");
        foreach (var v in Verdicts)
        {
            var change = v.Before == v.After ? "same" : v.Regressed ? "REGRESSED" : "fixed";
            text.AppendLine($"  {Verdict(v.Before),-4} -> {Verdict(v.After),-4} {change,-9} {(v.Line > 0 ? $"{s.Path}:{v.Line}: " : "")}{v.Expectation}{(v.After ? "" : ": " + v.AfterDetail)}");
        }

        text.AppendLine(Counts.Count == 0 ? "event counts: the same" : "event counts (before -> after):");
        foreach (var c in Counts)
        {
            text.AppendLine($"  {c.Subject,-16} {c.Event,-60} {c.Before} -> {c.After}");
        }

        if (FirstDivergence is { } d)
        {
            text.AppendLine($"first difference, event {d.Index + 1}:");
            text.AppendLine($"  before: {Line(d.Before)}");
            text.AppendLine($"  after:  {Line(d.After)}");
        }
        else
        {
            text.AppendLine("timelines: the same");
        }

        var regressed = Verdicts.Count(v => v.Regressed);
        text.AppendLine(Same ? "no difference" : $"{regressed} expectation(s) regressed, {Verdicts.Count(v => !v.Before && v.After)} fixed, {Counts.Count} event count(s) changed");
        return text.ToString();
    }

    public string Json()
    {
        var json = new JsonObject
        {
            ["scenario"] = Before.Scenario.Name,
            ["path"] = Before.Scenario.Path,
            ["seed"] = Before.Scenario.Seed,
            ["before_fleet"] = Before.Scenario.FleetSource,
            ["after_fleet"] = After.Scenario.FleetSource,
            ["same"] = Same,
            ["regressed"] = Regressed,
            ["expectations"] = new JsonArray(Verdicts.Select(v => (JsonNode)new JsonObject
            {
                ["line"] = v.Line,
                ["expectation"] = v.Expectation,
                ["before"] = v.Before,
                ["after"] = v.After,
                ["after_detail"] = v.AfterDetail,
            }).ToArray()),
            ["counts"] = new JsonArray(Counts.Select(c => (JsonNode)new JsonObject
            {
                ["subject"] = c.Subject,
                ["event"] = c.Event,
                ["before"] = c.Before,
                ["after"] = c.After,
            }).ToArray()),
            ["first_difference"] = FirstDivergence is { } d
                ? new JsonObject { ["index"] = d.Index, ["before"] = Entry(d.Before), ["after"] = Entry(d.After) }
                : null,
        };
        return json.ToJsonString(DarkFactoryJson.Indented);
    }

    private static string Verdict(bool passed) => passed ? "PASS" : "FAIL";

    private static string Line(TimelineEntry? e) => e is null ? "(the timeline ended)" : $"{TimelineEntry.Format(e.Offset)} {e.Describe()}";

    private static JsonNode? Entry(TimelineEntry? e) =>
        e is null ? null : new JsonObject { ["offset"] = TimelineEntry.Format(e.Offset), ["type"] = e.Manifest, ["event"] = JsonNode.Parse(e.Fields.GetRawText()) };
}
