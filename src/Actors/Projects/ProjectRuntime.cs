namespace DarkFactory.Actors.Projects;

/// <summary>A project's runtime: counted only while it is active, across pauses, restarts and waits for credits.</summary>
public static class ProjectRuntime
{
    public static TimeSpan Used(ProjectState s, DateTimeOffset now) =>
        s.RuntimeBefore + (s.ActiveSince is { } since && now > since ? now - since : TimeSpan.Zero);

    public static TimeSpan Left(ProjectState s, DateTimeOffset now)
    {
        var left = s.MaxRuntime - Used(s, now);
        return left < TimeSpan.Zero ? TimeSpan.Zero : left;
    }

    public static bool Exceeded(ProjectState s, DateTimeOffset now) => Used(s, now) >= s.MaxRuntime;

    /// <summary>When an active project reaches its max runtime; null when it is not active.</summary>
    public static DateTimeOffset? TimeoutAt(ProjectState s) =>
        s.ActiveSince is { } since ? since + (s.MaxRuntime - s.RuntimeBefore) : null;

    /// <summary>
    /// How long until an active project's max runtime is reached, clamped to [0, <paramref name="max"/>] (a timer
    /// longer than that fires early and the project looks again); null when it is not active (no deadline to arm).
    /// </summary>
    public static TimeSpan? DeadlineIn(ProjectState s, DateTimeOffset now, TimeSpan max)
    {
        if (s.Status != ProjectStatus.Active || TimeoutAt(s) is not { } at)
        {
            return null;
        }

        var delay = at - now;
        return delay > max ? max : delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
    }
}
