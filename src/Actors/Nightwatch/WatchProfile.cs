namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// What Nightwatch's judgements of one agent fit to (issue 15, finding 8), from its declaration. Pure.
/// <list type="bullet">
/// <item><see cref="LoopsInText"/>: repeated text lines count as a loop. An AI CLI's repeated message or tool call is
/// a loop; a plain <c>command</c> agent's repeated line is its heartbeat (or <c>yes</c>), not drift.</item>
/// <item><see cref="StallWatched"/>: silence while running counts as a stall. A plain command may be silent by
/// design (a watcher sleeping between checks); an AI CLI's silence counts, except while a tool call is open.</item>
/// <item><see cref="CrashWeight"/>: what one crash weighs relative to the calibration. Configured supervision wins:
/// crashes weigh <see cref="CalibratedQuarantineAfter"/> / the layer's <c>quarantine_after</c>, so a layer that
/// tolerates 1000 crashes in a row is not paused by Nightwatch after 3.</item>
/// <item><see cref="MinUptime"/>: a crash of a run that was up at least this long (the agent's <c>min_uptime</c>) is
/// restarted at once by its layer and is no crash loop: it does not count (only quick crashes climb the ladder).</item>
/// </list>
/// </summary>
public sealed record WatchProfile(bool LoopsInText, bool StallWatched, double CrashWeight)
{
    public TimeSpan MinUptime { get; init; } = AgentSpec.DefaultMinUptime;

    /// <summary>The <c>quarantine_after</c> the crash calibration (<see cref="DriftCalibration.PerCrash"/>) is made for.</summary>
    public const int CalibratedQuarantineAfter = 5;

    /// <summary>An AI CLI in a layer with the default supervision.</summary>
    public static readonly WatchProfile Default = new(LoopsInText: true, StallWatched: true, CrashWeight: 1);

    public static WatchProfile For(AgentSpec agent, LayerSpec layer)
    {
        var plain = agent.Cli == CliCatalog.Command;
        return new WatchProfile(
            LoopsInText: !plain,
            StallWatched: !plain,
            CrashWeight: Math.Min(1, (double)CalibratedQuarantineAfter / Math.Max(1, layer.QuarantineAfter)))
        {
            MinUptime = agent.MinUptime,
        };
    }
}
