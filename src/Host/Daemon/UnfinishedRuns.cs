namespace DarkFactory.Host.Daemon;

/// <summary>
/// Runs a killed daemon left going: the start-up sweep finds their processes by run marker
/// (<c>DF_RUN=&lt;daemon id&gt;/&lt;agent&gt;/&lt;run id&gt;</c>) before it kills them, and each such run gets a
/// <c>killed</c> entry in its agent's history, sent before the fleet is applied (so before any new run of that
/// agent is recorded). History then never shows a run as going on forever.
/// </summary>
public static class UnfinishedRuns
{
    public const string Detail = "the daemon stopped while this run was going; its processes were swept when the next daemon started";

    /// <summary>One <c>killed</c> entry per run named by the markers (others' markers and malformed ones are skipped).</summary>
    public static IReadOnlyList<AgentLifecycle> Ends(IEnumerable<string> markers, string daemonId, DateTimeOffset now) =>
        markers
            .Select(m => m.Split('/'))
            .Where(p => p.Length == 3 && p[0] == daemonId && p[1].Length > 0 && p[2].Length > 0)
            .Select(p => (Agent: p[1], RunId: p[2]))
            .Distinct()
            .OrderBy(r => r.Agent, StringComparer.Ordinal)
            .Select(r => new AgentLifecycle(r.Agent, LifecycleKind.Killed, now, r.RunId, Detail: Detail, ExitedAt: now))
            .ToList();
}
