using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Scheduling;

public sealed class CronScheduleTests
{
    private static DateTimeOffset Utc(int year, int month, int day, int hour, int minute, int second = 0) =>
        new(year, month, day, hour, minute, second, TimeSpan.Zero);

    [Fact]
    public void A_five_field_expression_fires_at_the_next_matching_minute()
    {
        var cron = CronSchedule.Parse("*/10 * * * *");

        Assert.Equal(Utc(2026, 11, 22, 12, 10), cron.Next(Utc(2026, 11, 22, 12, 3)));
        // strictly after: a firing time itself is not its own next
        Assert.Equal(Utc(2026, 11, 22, 12, 20), cron.Next(Utc(2026, 11, 22, 12, 10)));
    }

    [Fact]
    public void A_six_field_expression_has_seconds_first()
    {
        var cron = CronSchedule.Parse("*/15 * * * * *");

        Assert.Equal(
            [Utc(2026, 11, 22, 12, 0, 15), Utc(2026, 11, 22, 12, 0, 30), Utc(2026, 11, 22, 12, 0, 45)],
            cron.NextN(Utc(2026, 11, 22, 12, 0, 7), 3));
    }

    [Fact]
    public void NextN_returns_utc_times_of_the_agents_time_zone()
    {
        // 09:00 in Berlin is 08:00 UTC in winter (CET, +01:00)
        var cron = CronSchedule.Parse("0 9 * * *", "Europe/Berlin");

        var next = cron.NextN(Utc(2026, 11, 22, 12, 0), 2);

        Assert.Equal([Utc(2026, 11, 23, 8, 0), Utc(2026, 11, 24, 8, 0)], next);
        Assert.All(next, t => Assert.Equal(TimeSpan.Zero, t.Offset));
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.FromHours(1)), cron.ToLocal(next[0]));
    }

    [Fact]
    public void A_firing_in_the_spring_forward_gap_comes_when_the_gap_ends_in_New_York()
    {
        // 2026-03-08: at 02:00 EST clocks jump to 03:00 EDT; 02:30 does not exist that day
        var cron = CronSchedule.Parse("30 2 * * *", "America/New_York");

        var next = cron.NextN(Utc(2026, 3, 7, 12, 0), 3);

        Assert.Equal(
            [
                Utc(2026, 3, 8, 7, 0),   // 03:00 EDT, the end of the gap
                Utc(2026, 3, 9, 6, 30),  // 02:30 EDT
                Utc(2026, 3, 10, 6, 30),
            ],
            next);
    }

    [Fact]
    public void A_firing_in_the_spring_forward_gap_comes_when_the_gap_ends_in_Berlin()
    {
        // 2026-03-29: at 02:00 CET clocks jump to 03:00 CEST
        var cron = CronSchedule.Parse("0 2 * * *", "Europe/Berlin");

        Assert.Equal([Utc(2026, 3, 29, 1, 0), Utc(2026, 3, 30, 0, 0)], cron.NextN(Utc(2026, 3, 28, 12, 0), 2));
    }

    [Fact]
    public void A_fixed_time_in_the_repeated_fall_back_hour_fires_once()
    {
        // 2026-11-01: at 02:00 EDT clocks go back to 01:00 EST; 01:30 happens twice (05:30Z and 06:30Z)
        var cron = CronSchedule.Parse("30 1 * * *", "America/New_York");

        Assert.Equal([Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 2, 6, 30)], cron.NextN(Utc(2026, 10, 31, 12, 0), 2));
    }

    [Fact]
    public void An_interval_expression_fires_in_both_repeated_hours_on_fall_back_day()
    {
        var cron = CronSchedule.Parse("*/30 * * * *", "America/New_York");

        var firings = cron.Between(Utc(2026, 11, 1, 4, 59), Utc(2026, 11, 1, 7, 0)).ToList();

        // 01:00 EDT, 01:30 EDT, 01:00 EST, 01:30 EST, 02:00 EST: every 30 minutes of real time
        Assert.Equal(
            [Utc(2026, 11, 1, 5, 0), Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 1, 6, 0), Utc(2026, 11, 1, 6, 30), Utc(2026, 11, 1, 7, 0)],
            firings);
    }

    [Theory]
    [InlineData("")]
    [InlineData("* * *")]
    [InlineData("* * * * * * *")]
    [InlineData("61 * * * *")]
    [InlineData("0 25 * * *")]
    [InlineData("0 0 32 * *")]
    [InlineData("every day")]
    [InlineData("*/0 * * * *")]
    public void Bad_expressions_are_refused_with_the_expression_in_the_message(string expression)
    {
        var e = Assert.Throws<CronScheduleException>(() => CronSchedule.Parse(expression));

        Assert.Contains($"'{expression}'", e.Message);
        Assert.False(CronSchedule.TryParse(expression, null, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void An_unknown_time_zone_is_refused()
    {
        var e = Assert.Throws<CronScheduleException>(() => CronSchedule.Parse("0 * * * *", "Mars/Olympus_Mons"));

        Assert.Contains("Mars/Olympus_Mons", e.Message);
    }

    [Fact]
    public void The_default_time_zone_is_UTC()
    {
        Assert.Equal(TimeZoneInfo.Utc, CronSchedule.Parse("0 * * * *").Zone);
        Assert.Equal(TimeZoneInfo.Utc, CronSchedule.Parse("0 * * * *", "UTC").Zone);
    }

    [Fact]
    public void Jitter_is_stable_per_agent_and_below_the_bound()
    {
        var names = Enumerable.Range(0, 13).Select(i => $"agent-{i}").ToList();
        var fractions = names.Select(Jitter.StableFraction).ToList();

        Assert.All(fractions, f => Assert.InRange(f, 0, 0.999999999));
        Assert.Equal(fractions, names.Select(Jitter.StableFraction));
        Assert.True(fractions.Distinct().Count() > 10, "13 agents get different offsets");
        Assert.Equal(TimeSpan.Zero, Jitter.Offset(TimeSpan.Zero, 0.7));
        Assert.Equal(TimeSpan.FromSeconds(60), Jitter.Offset(TimeSpan.FromMinutes(2), 0.5));
        Assert.True(Jitter.Offset(TimeSpan.FromMinutes(2), 1.0) < TimeSpan.FromMinutes(2));
    }
}
