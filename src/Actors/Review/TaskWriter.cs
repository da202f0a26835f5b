namespace DarkFactory.Actors.Review;

/// <summary>Writes the top finding up as the agent's task, with shallow handoff context.</summary>
public static class TaskWriter
{
    public static string Write(Finding finding, ReviewStarted started, IReadOnlyList<string> gateNames, int otherFindings)
    {
        var sb = new StringBuilder();
        sb.Append("Compound review ").Append(started.ReviewId).Append(": work on this finding in this git worktree (branch based on ")
            .Append(started.BaseBranch).Append(").\n\n");
        sb.Append("What was found: ").Append(finding.Title).Append('\n');
        sb.Append("Where: ").Append(finding.Where).Append('\n');
        sb.Append("Why it matters: ").Append(finding.Why).Append('\n');
        sb.Append("Kind and priority: ").Append(finding.Kind.ToString().ToLowerInvariant()).Append(", ").Append(finding.Priority).Append('\n');
        if (otherFindings > 0)
        {
            sb.Append("(").Append(otherFindings).Append(" lower-priority finding(s) wait for later reviews.)\n");
        }

        sb.Append("\nDo: make the smallest change that addresses it, in this directory only. ");
        sb.Append(gateNames.Count > 0 ? $"These gates must pass afterwards: {string.Join(", ", gateNames)}. " : string.Empty);
        sb.Append("Commit or leave your changes in the worktree; do not push (pushing is disabled here). ");
        sb.Append("End with a short summary of what you changed and why.");
        return sb.ToString();
    }
}
