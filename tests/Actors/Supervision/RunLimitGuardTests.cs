using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>When a run is stopped early because its provider is rate limited (both its own report and the router's mark).</summary>
public sealed class RunLimitGuardTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    private static ProviderLimited Report(string? provider = "a", string run = "r1") =>
        new(provider, "fixer", run, Now, Now.AddMinutes(2), "HTTP 429 rate_limit", LimitSource.Structured);

    private static ProviderLimitRecorded Mark(string provider, TimeSpan lasting) => new(provider, Now + lasting, "HTTP 429 rate_limit", Now);

    [Fact]
    public void The_router_marking_the_provider_after_the_runs_report_stops_the_run_with_a_rate_limit_reason()
    {
        var watch = new RunLimitGuard("a");
        Assert.Null(watch.Reported(Report(), condition: null, Now));

        var reason = watch.Recorded(Mark("a", TimeSpan.FromMinutes(2)), Now);

        Assert.Equal("rate limit: provider a is limited until 2026-11-23T02:02:00Z (HTTP 429 rate_limit); stopped to fail over", reason);
    }

    [Fact]
    public void A_report_while_the_router_already_holds_the_provider_limited_stops_the_run_at_once()
    {
        var watch = new RunLimitGuard("a");
        var held = new ProviderCondition(ProviderState.Limited, Now.AddMinutes(5), "HTTP 429 rate_limit");

        Assert.StartsWith("rate limit: provider a is limited until 2026-11-23T02:05:00Z", watch.Reported(Report(), held, Now));
    }

    [Fact]
    public void A_limit_the_run_did_not_report_itself_does_not_stop_it()
    {
        // another run hit the limit; this one may be mid-work and not calling the model
        Assert.Null(new RunLimitGuard("a").Recorded(Mark("a", TimeSpan.FromMinutes(2)), Now));
    }

    [Fact]
    public void A_limit_the_router_does_not_confirm_never_stops_the_run()
    {
        // nobody marks it: a restart would be routed straight back to the same provider
        var watch = new RunLimitGuard("a");
        Assert.Null(watch.Reported(Report(), ProviderCondition.Ok, Now));
        Assert.Null(watch.Reported(Report(), new ProviderCondition(ProviderState.Open, Now.AddMinutes(1), "breaker"), Now));
    }

    [Fact]
    public void Limits_of_other_providers_and_lifted_limits_are_ignored()
    {
        var watch = new RunLimitGuard("a");
        Assert.Null(watch.Reported(Report(provider: "b"), new ProviderCondition(ProviderState.Limited, Now.AddMinutes(5)), Now));
        Assert.Null(watch.Recorded(Mark("a", TimeSpan.FromMinutes(1)), Now)); // the report about b does not count for a

        watch.Reported(Report(), condition: null, Now);
        Assert.Null(watch.Recorded(Mark("b", TimeSpan.FromMinutes(1)), Now));
        Assert.Null(watch.Recorded(new ProviderLimitRecorded("a", Now, "answered the router's probe", Now), Now));
    }

    [Fact]
    public void A_short_limit_is_left_to_the_clis_own_retry()
    {
        var watch = new RunLimitGuard("a");
        watch.Reported(Report(), condition: null, Now);

        Assert.Null(watch.Recorded(Mark("a", RunLimitGuard.WorthStopping - TimeSpan.FromSeconds(1)), Now));
        Assert.NotNull(watch.Recorded(Mark("a", RunLimitGuard.WorthStopping), Now));
    }

    [Fact]
    public void A_run_without_a_routed_provider_is_never_stopped()
    {
        var watch = new RunLimitGuard(null);
        Assert.Null(watch.Reported(Report(provider: null), new ProviderCondition(ProviderState.Limited, Now.AddMinutes(5)), Now));
        Assert.Null(watch.Recorded(Mark("a", TimeSpan.FromMinutes(5)), Now));
    }

    [Fact]
    public void A_report_without_a_provider_counts_for_the_runs_own_provider()
    {
        // Nightwatch's pattern match may not know the provider; the run id ties it to this run
        var watch = new RunLimitGuard("a");
        Assert.NotNull(watch.Reported(Report(provider: null), new ProviderCondition(ProviderState.Limited, Now.AddMinutes(5)), Now));
    }

    [Fact]
    public void The_restart_of_a_run_that_reported_a_limit_waits_a_little_for_the_routers_mark()
    {
        var guard = new RunLimitGuard("a");
        guard.Reported(Report(), ProviderCondition.Ok, Now);

        guard.RestartDue(Now, TimeSpan.FromSeconds(1));

        Assert.True(guard.AwaitsConfirmation(ProviderCondition.Ok, Now.AddSeconds(1)));
        Assert.True(guard.AwaitsConfirmation(ProviderCondition.Ok, Now + TimeSpan.FromSeconds(1) + RunLimitGuard.ConfirmWait - TimeSpan.FromMilliseconds(1)));
        Assert.False(guard.AwaitsConfirmation(ProviderCondition.Ok, Now + TimeSpan.FromSeconds(1) + RunLimitGuard.ConfirmWait));

        // marked: the restart goes ahead (and is routed past the provider)
        Assert.False(guard.AwaitsConfirmation(new ProviderCondition(ProviderState.Limited, Now.AddMinutes(5)), Now.AddSeconds(1)));
    }

    [Fact]
    public void A_restart_never_waits_for_a_mark_without_a_report_or_a_router()
    {
        var quiet = new RunLimitGuard("a");
        quiet.RestartDue(Now, TimeSpan.Zero);
        Assert.False(quiet.AwaitsConfirmation(ProviderCondition.Ok, Now));

        var reported = new RunLimitGuard("a");
        reported.Reported(Report(), condition: null, Now);
        reported.RestartDue(Now, TimeSpan.Zero);
        Assert.False(reported.AwaitsConfirmation(condition: null, Now));
    }
}
