namespace DarkFactory.Host.Cluster;

/// <summary>
/// What <c>df reload</c> (SIGHUP) says of a changed <c>cluster:</c> timing key (pure): the cluster's timing is Akka's
/// configuration, read once when <c>df up --node</c> starts, so a reload applies the rest of the file and warns, per
/// changed key, that this node keeps the timing it started with until it is restarted.
/// </summary>
public static class ClusterTimingNote
{
    private static readonly (string Key, Func<ClusterTimingSpec, TimeSpan> Of)[] Keys =
    [
        ("heartbeat_interval", t => t.HeartbeatInterval),
        ("heartbeat_pause", t => t.HeartbeatPause),
        ("stable_after", t => t.StableAfter),
        ("down_removal_margin", t => t.DownRemovalMargin),
        ("down_all_when_unstable", t => t.DownAllWhenUnstable),
    ];

    /// <param name="running">The timing this node started with (its fleet file's at <c>df up</c>).</param>
    /// <param name="loaded">The timing of the file just loaded.</param>
    /// <param name="text">The file's text, to point at the key's line (null: line 1).</param>
    public static IReadOnlyList<FleetDiagnostic> Of(ClusterTimingSpec running, ClusterTimingSpec loaded, string file, string? text)
    {
        var lines = text?.Split('\n') ?? [];
        return [.. Keys.Where(k => k.Of(running) != k.Of(loaded)).Select(k =>
        {
            var line = Array.FindIndex(lines, l => l.TrimStart().StartsWith(k.Key + ":", StringComparison.Ordinal) || l.Contains(" " + k.Key + ":", StringComparison.Ordinal)) + 1;
            var column = line > 0 ? lines[line - 1].IndexOf(k.Key, StringComparison.Ordinal) + 1 : 1;
            return new FleetDiagnostic(DiagnosticSeverity.Warning, file, Math.Max(line, 1), column, "cluster." + k.Key,
                $"changed from {Durations.Format(k.Of(running))} to {Durations.Format(k.Of(loaded))}: the cluster's timing is read when a node starts, so this node keeps {Durations.Format(k.Of(running))} until it is restarted (restart the nodes one at a time, df up with the new file)");
        })];
    }
}
