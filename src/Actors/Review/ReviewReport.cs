namespace DarkFactory.Actors.Review;

/// <summary>
/// The review's words (pure): the pull request's title and body, the dry-run report, the commit message of the
/// agent's work, and why the router's agent was chosen. Everything is rendered from the recorded events, so a
/// recovered review writes the same text.
/// </summary>
public static class ReviewReport
{
    /// <summary>The PR's title and body: the finding, the agent's summary, the files changed and the gates.</summary>
    public static (string Title, string Body) PullRequest(ReviewRecord r)
    {
        var f = TopFinding(r);
        var title = "Compound review: " + Clip(f.Title, 90);
        var sb = new StringBuilder();
        sb.Append("## Finding\n\n").Append(f.Title).Append("\n\n- Where: ").Append(f.Where).Append("\n- Why it matters: ").Append(f.Why)
            .Append("\n- Kind, priority: ").Append(f.Kind.ToString().ToLowerInvariant()).Append(", ").Append(f.Priority).Append("\n\n");
        sb.Append("## Agent summary\n\n").Append(Summary(r.Finished)).Append("\n\n");
        sb.Append("Files changed: ").Append(string.Join(", ", r.Finished?.FilesChanged ?? [])).Append("\n\n");
        sb.Append("## Gates\n\n| gate | result | exit | time |\n|---|---|---|---|\n");
        foreach (var g in r.Gates?.Results ?? [])
        {
            sb.Append("| ").Append(g.Name).Append(" | ").Append(g.Passed ? "passed" : g.TimedOut ? "timed out" : "failed").Append(" | ")
                .Append(g.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-").Append(" | ").Append(g.DurationMs).Append(" ms |\n");
        }

        sb.Append("\nOpened by Dark Factory's compound review ").Append(r.Started.ReviewId).Append(" (run ").Append(r.Finished?.RunId).Append(").\n");
        return (title, sb.ToString());
    }

    /// <summary>The run's tail in a fence; else that it printed nothing, or why its output could not be read (another node's run).</summary>
    public static string Summary(ReviewAgentFinished? finished) => finished switch
    {
        { Summary: var s } when !string.IsNullOrWhiteSpace(s) => "```\n" + s + "\n```",
        { SummaryUnavailable: { } why } => "(the agent's output could not be read: " + why + ")",
        _ => "(the agent printed nothing)",
    };

    /// <summary>The dry run's report.md (create_prs off): what would have been pushed and opened, then the PR's body.</summary>
    public static string DryRun(ReviewRecord r, string remote)
    {
        var (title, body) = PullRequest(r);
        var task = r.Task ?? throw new InvalidOperationException($"review {r.Started.ReviewId} has no task: nothing to report");
        return new StringBuilder()
            .Append("# Dry run: ").Append(title).Append("\n\n")
            .Append("create_prs is off: nothing was pushed. With it on, the review would push branch `").Append(task.Branch)
            .Append("` to remote `").Append(remote).Append("` and open this pull request into `").Append(r.Started.BaseBranch).Append("`.\n\n")
            .Append("Commit: ").Append(r.Finished?.Commit).Append("  \nWorktree: ").Append(task.Worktree).Append("\n\n")
            .Append(body)
            .ToString();
    }

    /// <summary>The message of the daemon's commit of what the agent left in the worktree.</summary>
    public static string CommitMessage(ReviewRecord r) => $"Compound review {r.Started.ReviewId}: {Clip(TopFinding(r).Title, 60)}";

    /// <summary>Why the router's choice: the agent's capabilities the task names, and the route it gave.</summary>
    /// <param name="agent">The chosen agent's declaration (null when the fleet no longer has it).</param>
    public static string RoutedBecause(AgentSpec? agent, RouteDecision decision)
    {
        var caps = agent is null ? string.Empty : string.Join(", ", agent.Capabilities);
        var route = decision.Chosen is { } c ? $"; route: {c.Cli}{(c.Provider is null ? string.Empty : " via " + c.Provider)}{(c.Model is null ? string.Empty : " (" + c.Model + ")")}: {c.Reason}" : string.Empty;
        return $"router: best fit by capabilities [{caps}] for the review's task{route}";
    }

    private static Finding TopFinding(ReviewRecord r) =>
        r.Findings is { Findings.Count: > 0 } found ? found.Findings[0] : throw new InvalidOperationException($"review {r.Started.ReviewId} has no finding: nothing to report");

    private static string Clip(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
