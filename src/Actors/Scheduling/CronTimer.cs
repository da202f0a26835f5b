namespace DarkFactory.Actors.Scheduling;

/// <summary>
/// Timers to wall-clock instants (cron firings) for one actor, through its <see cref="ITimerScheduler"/>: one
/// single-shot timer per key. A wait longer than the slice is cut: when a slice ends the clock is read again and
/// the rest is waited for, so a wall-clock jump or a suspended host never fires early and never loses a firing
/// (a late one fires when the host wakes). An instant already past fires at once. The timer delivers a
/// <see cref="Tick"/>; the actor hands it to <see cref="Elapsed"/>, which re-arms a slice and answers false, or
/// answers true when the instant has come. Shared by the scheduler (a key per agent) and the compound review.
/// </summary>
/// <param name="timers">The actor's timers (keyed: re-arming a key cancels its pending timer).</param>
/// <param name="self">The actor (a past instant is told to it at once).</param>
/// <param name="clock">Wall-clock time.</param>
/// <param name="maxSlice">The longest single timer.</param>
public sealed class CronTimer(ITimerScheduler timers, IActorRef self, TimeProvider clock, TimeSpan maxSlice)
{
    /// <summary>What an armed timer delivers: <see cref="Message"/> is due at <see cref="Due"/>.</summary>
    public sealed record Tick(string Key, DateTimeOffset Due, object Message);

    /// <summary>Arms <paramref name="key"/> for <paramref name="due"/> (cancelling what the key had armed).</summary>
    public void Arm(string key, DateTimeOffset due, object message)
    {
        var tick = new Tick(key, due, message);
        var delay = due - clock.GetUtcNow();
        if (delay <= TimeSpan.Zero)
        {
            timers.Cancel(key);
            self.Tell(tick);
            return;
        }

        timers.StartSingleTimer(key, tick, delay > maxSlice ? maxSlice : delay);
    }

    /// <summary>True when the tick's instant has come; otherwise the rest is armed again (a slice ended) and false.</summary>
    public bool Elapsed(Tick tick)
    {
        ArgumentNullException.ThrowIfNull(tick);
        if (clock.GetUtcNow() >= tick.Due)
        {
            return true;
        }

        Arm(tick.Key, tick.Due, tick.Message);
        return false;
    }

    public void Cancel(string key) => timers.Cancel(key);
}
