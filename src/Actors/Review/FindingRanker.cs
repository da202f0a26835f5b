namespace DarkFactory.Actors.Review;

/// <summary>
/// What a scan saw: the commits of the window and the TODO/FIXME lines they added, the agents' lifecycle
/// history, and Nightwatch's own records of the window (drift corrections, escalations; null when Nightwatch
/// did not answer).
/// </summary>
public sealed record ScanInput(
    IReadOnlyList<ScannedCommit> Commits,
    IReadOnlyList<AddedTodo> Todos,
    IReadOnlyList<AgentLifecycle> FleetRecords,
    NightwatchRecords? Nightwatch = null);

/// <summary>
/// Turns what a scan saw into findings and ranks them. The priority of each kind (higher first) is
/// documented in docs/architecture.md ("Finding priority"): escalation 100, quarantine 90, drift incident
/// 65-80 (by the highest level Nightwatch corrected: minor 65 ... critical 80), revert 80, failed runs 50-70,
/// TODO/FIXME added 40, large diff 30-50, hotspot 20-30. Ties go to the more recent, then by title.
/// Escalations come from Nightwatch's journal (with their reason and delivery) and, for agents Nightwatch
/// has none of, from the agents' history.
/// </summary>
public static class FindingRanker
{
    public const int LargeDiffLines = 400;
    public const int HotspotCommits = 3;
    public const int MaxTodoFindings = 20;

    public static IReadOnlyList<Finding> Rank(ScanInput input)
    {
        var findings = new List<Finding>();
        foreach (var c in input.Commits)
        {
            if (c.Subject.StartsWith("Revert \"", StringComparison.Ordinal))
            {
                findings.Add(new Finding(
                    FindingKind.Revert, 80, $"Revert {c.Short}: {Clip(c.Subject)}", c.Short,
                    "a change was reverted: the problem it solved may be back, or the revert may have left loose ends",
                    GitScan.Slug("revert " + c.Subject), c.At));
            }

            if (c.LinesChanged >= LargeDiffLines)
            {
                var top = c.Files.OrderByDescending(f => f.Added + f.Deleted).Take(3).Select(f => f.Path);
                findings.Add(new Finding(
                    FindingKind.LargeDiff, 30 + Math.Min(20, c.LinesChanged / 200), $"Large change {c.Short} ({c.LinesChanged} lines): {Clip(c.Subject)}",
                    $"{c.Short} ({string.Join(", ", top)})",
                    "large changes are reviewed least carefully: look for missing tests, dead code and unhandled errors",
                    GitScan.Slug("review " + c.Subject), c.At));
            }
        }

        var commitTimes = input.Commits.ToDictionary(c => c.Sha, c => c.At, StringComparer.Ordinal);
        foreach (var t in input.Todos.Take(MaxTodoFindings))
        {
            findings.Add(new Finding(
                FindingKind.TodoAdded, 40, $"TODO added in {t.Path}:{t.Line}: {Clip(t.Text, 80)}", $"{t.Path}:{t.Line}",
                "work was left unfinished in the last day: finish it or turn it into a tracked issue",
                GitScan.Slug("todo " + Path.GetFileNameWithoutExtension(t.Path)), commitTimes.GetValueOrDefault(t.Sha)));
        }

        foreach (var g in input.Commits.SelectMany(c => c.Files.Select(f => (f.Path, c.At))).GroupBy(x => x.Path, StringComparer.Ordinal))
        {
            var count = g.Count();
            if (count >= HotspotCommits)
            {
                findings.Add(new Finding(
                    FindingKind.Hotspot, 20 + Math.Min(10, count), $"{g.Key} changed in {count} commits", g.Key,
                    "a file that changes this often in a day is a design hotspot: simplify it or cover it with tests",
                    GitScan.Slug("hotspot " + Path.GetFileNameWithoutExtension(g.Key)), g.Max(x => x.At)));
            }
        }

        var escalatedByNightwatch = new HashSet<string>(StringComparer.Ordinal);
        if (input.Nightwatch is { } nightwatch)
        {
            AddNightwatch(nightwatch, findings, escalatedByNightwatch);
        }

        foreach (var g in input.FleetRecords.GroupBy(r => r.Agent, StringComparer.Ordinal))
        {
            var escalated = g.LastOrDefault(r => r.Kind == LifecycleKind.Escalated);
            if (escalated is not null && !escalatedByNightwatch.Contains(g.Key))
            {
                findings.Add(new Finding(
                    FindingKind.Escalation, 100, $"Agent {g.Key} was escalated: {Clip(escalated.Detail ?? "no detail")}", "agent " + g.Key,
                    "an escalation means the fleet could not handle it alone",
                    GitScan.Slug("escalation " + g.Key), escalated.At));
            }

            var quarantined = g.LastOrDefault(r => r.Kind == LifecycleKind.Quarantined);
            if (quarantined is not null)
            {
                findings.Add(new Finding(
                    FindingKind.Quarantine, 90, $"Agent {g.Key} was quarantined: {Clip(quarantined.Detail ?? "crash loop")}", "agent " + g.Key,
                    "a quarantined agent does no work until someone fixes what makes it crash",
                    GitScan.Slug("quarantine " + g.Key), quarantined.At));
            }

            var crashes = g.Where(r => r.Kind == LifecycleKind.Crashed).ToList();
            if (crashes.Count > 0)
            {
                var last = crashes[^1];
                findings.Add(new Finding(
                    FindingKind.FailedRuns, 50 + Math.Min(20, 5 * crashes.Count), $"Agent {g.Key} crashed {crashes.Count} time(s); last: {Clip(last.Detail ?? $"exit {last.ExitCode}")}", "agent " + g.Key,
                    "failing runs waste the fleet's time and money and hide real work",
                    GitScan.Slug("failed runs " + g.Key), last.At));
            }
        }

        return findings
            .OrderByDescending(f => f.Priority)
            .ThenByDescending(f => f.At ?? DateTimeOffset.MinValue)
            .ThenBy(f => f.Title, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Drift incident priority: 60 + 5 per level (minor 65, moderate 70, severe 75, critical 80).</summary>
    public static int DriftPriority(DriftLevel level) => 60 + (5 * Math.Clamp((int)level, 1, 4));

    /// <summary>One finding per escalated agent (its latest escalation) and one per agent Nightwatch corrected (its highest level).</summary>
    private static void AddNightwatch(NightwatchRecords records, List<Finding> findings, HashSet<string> escalated)
    {
        foreach (var g in records.Escalations.GroupBy(e => e.Escalation.Agent, StringComparer.Ordinal))
        {
            var last = g.MaxBy(e => e.Escalation.At)!;
            var e = last.Escalation;
            escalated.Add(g.Key);
            var count = g.Count() > 1 ? $" ({g.Count()} escalations)" : string.Empty;
            var delivery = last.Delivery switch
            {
                null => "; the webhook was not reached yet",
                { Ok: false } d => $"; the webhook delivery failed ({Clip(d.Detail, 60)}), so nobody may have been told",
                _ => string.Empty,
            };
            findings.Add(new Finding(
                FindingKind.Escalation, 100,
                $"Agent {g.Key} was escalated by Nightwatch{count}: {e.Level.ToString().ToLowerInvariant()} drift, score {e.Score.ToString("0.00", CultureInfo.InvariantCulture)}: {Clip(e.Reason)}",
                $"agent {g.Key} (escalation {e.Id})",
                "Nightwatch stopped the agent and handed it to a human: the fleet could not correct it alone" + delivery,
                GitScan.Slug("escalation " + g.Key), e.At));
        }

        foreach (var g in records.Corrections.GroupBy(c => c.Agent, StringComparer.Ordinal))
        {
            var worst = g.OrderByDescending(c => c.Level).ThenByDescending(c => c.At).First();
            var last = g.MaxBy(c => c.At)!;
            var actions = string.Join(", ", g.Select(c => c.Action.ToString().ToLowerInvariant()).Distinct());
            findings.Add(new Finding(
                FindingKind.DriftIncident, DriftPriority(worst.Level),
                $"Agent {g.Key} drifted ({worst.Level.ToString().ToLowerInvariant()}, {g.Count()} correction(s): {actions}): {Clip(worst.Reason)}",
                "agent " + g.Key + (last.RunId is { } run ? $" (run {run})" : string.Empty),
                "Nightwatch had to correct this agent: its task, prompt, tools or provider likely need fixing. Last hint: " + Clip(last.Hint, 200),
                GitScan.Slug("drift " + g.Key), last.At));
        }
    }

    private static string Clip(string s, int max = 120) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
