namespace DarkFactory.Host.Cli;

/// <summary>
/// `df review run --wait`: turns successive views of a review (GET /api/reviews/{id}) into one line per thing
/// that happened since the last view — a step that started, ended or failed, the finding chosen, the agent and
/// why — so a long review shows each step as it happens. Pure: the caller polls and prints.
/// </summary>
public sealed class ReviewProgress
{
    private readonly Dictionary<string, string> _steps = new(StringComparer.Ordinal);
    private readonly TimeZoneInfo _zone;
    private bool _finding;
    private bool _agent;
    private string? _status;

    public ReviewProgress(TimeZoneInfo? zone = null) => _zone = zone ?? TimeZoneInfo.Local;

    /// <summary>A progress line: when, which step (or "finding", "agent", "review"), its status word and the detail.</summary>
    public sealed record Line(DateTimeOffset? At, string What, string Status, string Detail)
    {
        public string Format(TimeZoneInfo zone) =>
            $"{(At is { } at ? TimeZoneInfo.ConvertTime(at, zone).ToString("HH:mm:ss", CultureInfo.InvariantCulture) : "--:--:--")}  {What,-8} {Status,-9} {Detail}".TrimEnd();
    }

    /// <summary>What changed since the previous view, in the order it happened.</summary>
    public IReadOnlyList<Line> Update(JsonElement review)
    {
        var lines = new List<Line>();
        if (_status is null)
        {
            lines.Add(new Line(Time(review, "started_at"), "review", "started", $"{Str(review, "id")} ({Str(review, "trigger")})"));
        }

        foreach (var step in review.TryGetProperty("steps", out var steps) ? steps.EnumerateArray() : default)
        {
            var name = Str(step, "name");
            var status = Str(step, "status");
            var previous = _steps.GetValueOrDefault(name);
            if (status == previous || status is "pending" or "skipped" or "")
            {
                continue;
            }

            _steps[name] = status;
            if (status is "completed" or "failed" && previous is null or "pending")
            {
                // started and ended between two looks: show both
                lines.Add(new Line(Time(step, "started_at"), name, "running", string.Empty));
            }

            var at = status == "running" ? Time(step, "started_at") : Time(step, "ended_at") ?? Time(step, "started_at");
            lines.Add(new Line(at, name, status, Str(step, "detail")));
            if (name == "scan" && status == "completed" && !_finding && review.TryGetProperty("finding", out var f) && f.ValueKind == JsonValueKind.Object)
            {
                _finding = true;
                lines.Add(new Line(at, "finding", Str(f, "kind"), $"{Str(f, "title")} ({Str(f, "where")})"));
            }

            if (name == "assign" && status == "completed" && !_agent && Str(review, "agent") is { Length: > 0 } agent)
            {
                _agent = true;
                lines.Add(new Line(at, "agent", agent, Str(review, "agent_chosen_by")));
            }
        }

        var reviewStatus = Str(review, "status");
        if (reviewStatus != "running" && _status != reviewStatus)
        {
            lines.Add(new Line(Time(review, "ended_at"), "review", reviewStatus, Str(review, "error", Str(review, "note", Str(review, "pr_url", Str(review, "report_path"))))));
        }

        _status = reviewStatus;
        return lines;
    }

    public string Format(Line line) => line.Format(_zone);

    private static DateTimeOffset? Time(JsonElement e, string property) =>
        DateTimeOffset.TryParse(Str(e, property), CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;

    private static string Str(JsonElement e, string property, string missing = "") =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()
            : missing;
}
