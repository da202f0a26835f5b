using System.Text.Json.Nodes;

namespace DarkFactory.Host.Scenarios;

/// <summary>A scenario run for people (text) and for CI (<c>--json</c>).</summary>
public static class ScenarioReport
{
    /// <summary>Output batches are left out of the text timeline (they are in --json).</summary>
    private static readonly HashSet<string> Quiet = new(StringComparer.Ordinal) { "AgentOutput", "HistoryFlushed" };

    public static string Text(ScenarioOutcome outcome)
    {
        var s = outcome.Scenario;
        var text = new StringBuilder();
        text.AppendLine($"scenario {s.Name} (seed {s.Seed}): {s.Start:yyyy-MM-ddTHH:mm:ssZ} + {TimelineEntry.Format(s.Until)} virtual in {outcome.Wall.TotalSeconds:0.00} s wall, {outcome.Timeline.Count} events, {outcome.TimersFired} timers");
        text.AppendLine("timeline:");
        foreach (var e in outcome.Timeline.Where(e => !Quiet.Contains(e.Type)))
        {
            text.AppendLine($"  {TimelineEntry.Format(e.Offset),-14} {(e.Source == EntrySource.Injected ? "inject " : "       ")} {e.Describe()}");
        }

        text.AppendLine("expectations:");
        foreach (var r in outcome.Results)
        {
            text.AppendLine($"  {(r.Passed ? "PASS" : "FAIL")}  {s.Path}:{r.Expectation.Line}: {r.Description}: {r.Detail}");
        }

        text.AppendLine("invariants:");
        foreach (var i in outcome.Invariants)
        {
            text.AppendLine($"  {(i.Held ? "HELD" : "BROKEN")}  {i.Name}: {i.Detail}");
        }

        var failed = outcome.Results.Count(r => !r.Passed);
        var broken = outcome.Invariants.Count(i => !i.Held);
        text.AppendLine($"{outcome.Results.Count - failed} passed, {failed} failed{(broken > 0 ? $", {broken} invariant(s) broken" : "")} (seed {s.Seed}{(!outcome.Passed ? $"; again: df scenario run {s.Path} --seed {s.Seed}" : "")})");
        return text.ToString();
    }

    public static string Json(ScenarioOutcome outcome)
    {
        var s = outcome.Scenario;
        var index = new Dictionary<TimelineEntry, int>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < outcome.Timeline.Count; i++)
        {
            index[outcome.Timeline[i]] = i;
        }

        var json = new JsonObject
        {
            ["scenario"] = s.Name,
            ["path"] = s.Path,
            ["seed"] = s.Seed,
            ["start"] = s.Start,
            ["until"] = s.Start + s.Until,
            ["passed"] = outcome.Passed,
            ["wall_seconds"] = Math.Round(outcome.Wall.TotalSeconds, 3),
            ["timers_fired"] = outcome.TimersFired,
            ["expectations"] = new JsonArray(outcome.Results.Select(r => (JsonNode)new JsonObject
            {
                ["line"] = r.Expectation.Line,
                ["expectation"] = r.Description,
                ["passed"] = r.Passed,
                ["detail"] = r.Detail,
                ["matches"] = new JsonArray(r.Matches.Select(m => (JsonNode)JsonValue.Create(m.At)).ToArray()),
                ["entries"] = new JsonArray(r.Matches.Select(m => index.TryGetValue(m, out var i) ? (JsonNode)JsonValue.Create(i) : null).OfType<JsonNode>().ToArray()),
            }).ToArray()),
            ["invariants"] = new JsonArray(outcome.Invariants.Select(i => (JsonNode)new JsonObject
            {
                ["invariant"] = i.Name,
                ["held"] = i.Held,
                ["detail"] = i.Detail,
            }).ToArray()),
            ["timeline"] = new JsonArray(outcome.Timeline.Select(e => (JsonNode)new JsonObject
            {
                ["at"] = e.At,
                ["offset"] = TimelineEntry.Format(e.Offset),
                ["source"] = e.Source == EntrySource.Injected ? "injected" : "observed",
                ["type"] = e.Manifest,
                ["summary"] = e.Describe(),
                ["event"] = JsonNode.Parse(e.Fields.GetRawText()),
            }).ToArray()),
        };
        return json.ToJsonString(DarkFactoryJson.Indented);
    }

    /// <summary><c>--report FILE</c>: the run as a Markdown document to keep or attach to a change (what ran, each verdict, the timeline, how to run it again).</summary>
    public static string Markdown(ScenarioOutcome outcome)
    {
        var s = outcome.Scenario;
        var failed = outcome.Results.Count(r => !r.Passed);
        var md = new StringBuilder();
        md.AppendLine($"# Scenario `{s.Name}`: {(outcome.Passed ? "passed" : "FAILED")}");
        md.AppendLine();
        if (s.Description.Length > 0)
        {
            md.AppendLine(s.Description.Trim());
            md.AppendLine();
        }

        md.AppendLine("| | |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| file | `{Cell(s.Path)}` |");
        md.AppendLine($"| fleet | `{Cell(s.FleetSource)}` |");
        md.AppendLine($"| seed | {s.Seed} |");
        md.AppendLine($"| virtual time | {s.Start:yyyy-MM-ddTHH:mm:ssZ} to {s.Start + s.Until:yyyy-MM-ddTHH:mm:ssZ} ({TimelineEntry.Format(s.Until)}) |");
        md.AppendLine($"| wall time | {outcome.Wall.TotalSeconds:0.00} s |");
        md.AppendLine($"| events | {outcome.Timeline.Count} ({outcome.TimersFired} timers fired) |");
        md.AppendLine($"| expectations | {outcome.Results.Count - failed} passed, {failed} failed |");
        md.AppendLine($"| invariants | {outcome.Invariants.Count(i => i.Held)} held, {outcome.Invariants.Count(i => !i.Held)} broken |");
        Table(md, "Expectations", null, "| verdict | line | expectation | detail |", outcome.Results,
            r => $"| {(r.Passed ? "pass" : "**FAIL**")} | {r.Expectation.Line} | {Cell(r.Description)} | {Cell(r.Detail)} |");
        Table(md, "Invariants", null, "| verdict | invariant | detail |", outcome.Invariants,
            i => $"| {(i.Held ? "held" : "**BROKEN**")} | {Cell(i.Name)} | {Cell(i.Detail)} |");
        Table(md, "Timeline", "Output batches are left out (`--json` has them).", "| at | offset | | event |", outcome.Timeline.Where(e => !Quiet.Contains(e.Type)),
            e => $"| {e.At:HH:mm:ss} | {TimelineEntry.Format(e.Offset)} | {(e.Source == EntrySource.Injected ? "injected" : "")} | {Cell(e.Describe())} |");

        md.AppendLine();
        md.AppendLine("## Run it again");
        md.AppendLine();
        md.AppendLine("```");
        md.AppendLine($"df scenario run {s.Path} --seed {s.Seed}");
        md.AppendLine("```");
        return md.ToString();
    }

    /// <summary>A section of the report: its heading, a note (if any), then a table with one row an item.</summary>
    /// <param name="header">The table's header row; the rule under it gets as many columns.</param>
    private static void Table<T>(StringBuilder md, string title, string? note, string header, IEnumerable<T> items, Func<T, string> row)
    {
        md.AppendLine();
        md.AppendLine($"## {title}");
        md.AppendLine();
        if (note is not null)
        {
            md.AppendLine(note);
            md.AppendLine();
        }

        md.AppendLine(header);
        md.AppendLine("|" + string.Concat(Enumerable.Repeat("---|", header.Count(c => c == '|') - 1)));
        foreach (var item in items)
        {
            md.AppendLine(row(item));
        }
    }

    /// <summary>Text safe in one Markdown table cell: pipes escaped, line breaks flattened.</summary>
    public static string Cell(string text) => text.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal);

    /// <summary>The scenario files of a library directory, each with its name and description (an unreadable one is listed with its error).</summary>
    public static IReadOnlyList<ScenarioListing> List(string directory) =>
        Directory.EnumerateFiles(directory, "*.yaml").Concat(Directory.EnumerateFiles(directory, "*.yml"))
            .Order(StringComparer.Ordinal)
            .Select(path => ScenarioLoader.Describe(path))
            .ToList();
}

/// <summary>One line of <c>df scenario list</c>: <c>{name, path, description}</c>.</summary>
public sealed record ScenarioListing(string Name, string Path, string Description);
