namespace DarkFactory.Actors.Projects;

/// <summary>A project's report (<c>df export</c>, the report file, the PR text): pure renderings of its state.</summary>
public static class ProjectReport
{
    public static string Markdown(ProjectState s, DateTimeOffset now)
    {
        var v = ProjectViews.Status(s, now);
        var sb = new StringBuilder();
        sb.Append("# Project ").Append(v.Name).Append(" (").Append(v.Id).Append(")\n\n");
        sb.Append(v.Description.Trim()).Append("\n\n");
        sb.Append("| | |\n|---|---|\n");
        Row(sb, "status", Status(v.Status) + (v.Error is null ? string.Empty : ": " + v.Error));
        Row(sb, "repository", $"{v.Repo} (base {v.BaseBranch})");
        Row(sb, "work branch", $"`{v.WorkBranch}` in {v.Worktree}");
        Row(sb, "personas", string.Join(", ", v.Personas));
        Row(sb, "runtime", $"{Duration(v.RuntimeUsed)} of {Duration(v.MaxRuntime)}");
        Row(sb, "cost", $"${v.CostUsd.ToString("0.####", CultureInfo.InvariantCulture)}, {v.Tokens} tokens");
        Row(sb, "tasks", $"{v.Tasks.Completed}/{v.Tasks.Total} completed, {v.Tasks.Blocked} blocked, {v.Tasks.InProgress} in progress, {v.Tasks.Pending} pending");
        if (v.PrUrl is { } pr)
        {
            Row(sb, "pull request", pr);
        }

        sb.Append("\n## Tasks\n\n| id | task | persona | status | attempts | confidence |\n|---|---|---|---|---|---|\n");
        foreach (var t in s.Tasks)
        {
            sb.Append("| ").Append(t.Id).Append(" | ").Append(Cell(t.Title)).Append(" | ").Append(t.Persona).Append(" | ").Append(Status(t.Status))
                .Append(" | ").Append(t.Attempts.Count).Append(" | ").Append(t.Confidence?.ToString("0.##", CultureInfo.InvariantCulture) ?? "-").Append(" |\n");
        }

        foreach (var t in s.Tasks)
        {
            sb.Append("\n### ").Append(t.Id).Append(": ").Append(t.Title).Append("\n\n");
            if (!string.IsNullOrWhiteSpace(t.Description))
            {
                sb.Append(t.Description.Trim()).Append("\n\n");
            }

            foreach (var a in t.Attempts)
            {
                sb.Append("- attempt ").Append(a.Number).Append(" (run ").Append(a.RunId).Append(", ").Append(a.Agent)
                    .Append(a.Cli is null ? string.Empty : ", " + a.Cli).Append(a.Provider is null ? string.Empty : " via " + a.Provider).Append("): ")
                    .Append(a.Verdict ?? (a.EndedAt is null ? "running" : "ended")).Append(a.Commit is null ? string.Empty : $"; commit {a.Commit[..Math.Min(12, a.Commit.Length)]}")
                    .Append(a.FilesChanged.Count == 0 ? string.Empty : "; files: " + string.Join(", ", a.FilesChanged.Take(20))).Append('\n');
                foreach (var g in a.Gates)
                {
                    sb.Append("  - ").Append(g.Name).Append(": ").Append(g.Passed ? "passed" : g.TimedOut ? "timed out" : $"failed (exit {g.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"})").Append('\n');
                }
            }

            if (!string.IsNullOrWhiteSpace(t.Notes))
            {
                sb.Append("\nNotes:\n\n").Append(string.Join('\n', t.Notes.Split('\n').Select(l => "> " + l))).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>The pull request's title and body.</summary>
    public static (string Title, string Body) PullRequest(ProjectState s)
    {
        var c = s.Created;
        var title = "Dark Factory: " + ProjectRules.Clip(c.Name, 80);
        var sb = new StringBuilder();
        sb.Append(c.Description.Trim()).Append("\n\n## Tasks\n\n");
        foreach (var t in s.Tasks)
        {
            var gates = t.Attempts.LastOrDefault()?.Gates.Where(g => g.Name != Review.GateRunner.PathsGate).Select(g => g.Name + (g.Passed ? " ✓" : " ✗")) ?? [];
            sb.Append("- [").Append(t.Status == ProjectTaskStatus.Completed ? 'x' : ' ').Append("] ").Append(t.Id).Append(' ').Append(t.Title)
                .Append(" (").Append(t.Persona).Append(", ").Append(t.Attempts.Count).Append(" attempt(s)").Append(gates.Any() ? "; " + string.Join(", ", gates) : string.Empty).Append(")\n");
        }

        sb.Append("\nOpened by Dark Factory's project ").Append(c.ProjectId).Append(" from branch `").Append(c.WorkBranch).Append("`.\n");
        return (title, sb.ToString());
    }

    private static void Row(StringBuilder sb, string key, string value) => sb.Append("| ").Append(key).Append(" | ").Append(Cell(value)).Append(" |\n");

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string Status<T>(T value) where T : struct, Enum =>
        System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    private static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes} min" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} min {t.Seconds} s" : $"{t.TotalSeconds:0.#} s";
}
