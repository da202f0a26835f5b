using DarkFactory.Actors.Routing.Admission;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing.Admission;

/// <summary>The admission policy on an injected clock (the tests move <see cref="_now"/>).</summary>
public sealed class RunAdmissionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private readonly RunAdmission _gate = new();
    private DateTimeOffset _now = T0;

    private static AdmissionLimits Limits(int? maxRuns = null, params (string Name, ProviderLimits Limits)[] providers) =>
        new(maxRuns, providers.ToDictionary(p => p.Name, p => p.Limits, StringComparer.Ordinal));

    private AdmissionDecision Admit(string agent, string? provider = null, bool exempt = false) => _gate.Admit(agent, provider, exempt, _now, out _);

    private static AdmissionDecision.Queued Queued(AdmissionDecision a) => Assert.IsType<AdmissionDecision.Queued>(a);

    [Fact]
    public void Without_limits_every_run_starts_and_is_counted()
    {
        Assert.Same(AdmissionDecision.Go, Admit("a", "p"));
        Assert.Same(AdmissionDecision.Go, Admit("b", "p"));
        Assert.Same(AdmissionDecision.Go, Admit("c"));

        var report = _gate.Report(_now);
        Assert.Equal((3, 0, 0), (report.InFlight, report.Exempt, report.Queued));
        var p = report.Providers.Single(r => r.Provider == "p");
        Assert.Equal((2, 2L), (p.InFlight, p.RequestsLastMinute));
        Assert.Equal(1, report.Providers.Single(r => r.Provider == RunAdmission.NoProvider).InFlight); // the plain command
    }

    [Fact]
    public void Max_concurrent_runs_queues_the_rest_in_order_and_a_release_reserves_the_first_place()
    {
        _gate.Configure(Limits(maxRuns: 2), _now);
        Assert.Same(AdmissionDecision.Go, Admit("a"));
        Assert.Same(AdmissionDecision.Go, Admit("b"));

        var c = Queued(Admit("c"));
        var d = Queued(Admit("d"));
        Assert.Equal((AdmissionLimit.MaxConcurrentRuns, 1), (c.Limit, c.Position));
        Assert.Contains("max_concurrent_runs 2 reached (2 running)", c.Reason);
        Assert.Equal(2, d.Position);

        Assert.Equal(["c"], _gate.Release("a", _now)); // c's place is reserved: d still waits
        Assert.True(_gate.Holds("c"));
        Assert.IsType<AdmissionDecision.Queued>(Admit("e")); // a newcomer does not take it
        Assert.Same(AdmissionDecision.Go, Admit("c")); // c's owner starts it with the reservation
        Assert.Equal(["d"], _gate.Release("b", _now));
        Assert.Equal(["e"], _gate.Release("c", _now));
        Assert.Equal(0, _gate.QueueLength);
    }

    [Fact]
    public void A_cancelled_reservation_goes_to_the_next_in_line()
    {
        _gate.Configure(Limits(maxRuns: 1), _now);
        Admit("a");
        Queued(Admit("b"));
        Queued(Admit("c"));

        Assert.Equal(["b"], _gate.Release("a", _now));
        Assert.Equal(["c"], _gate.Cancel("b", _now)); // b was stopped meanwhile
        Assert.False(_gate.Holds("b"));
        Assert.Empty(_gate.Cancel("nobody", _now));
    }

    [Fact]
    public void Safety_runs_are_exempt_from_the_fleet_cap_and_not_counted_against_it()
    {
        _gate.Configure(Limits(maxRuns: 1), _now);
        Assert.Same(AdmissionDecision.Go, Admit("guard-1", exempt: true));
        Assert.Same(AdmissionDecision.Go, Admit("a"));
        Assert.Same(AdmissionDecision.Go, Admit("guard-2", exempt: true)); // the cap is reached; a guard still starts
        Queued(Admit("b"));

        var report = _gate.Report(_now);
        Assert.Equal((1, 2, 1), (report.InFlight, report.Exempt, report.Queued));
    }

    [Fact]
    public void A_providers_max_concurrent_holds_its_runs_while_other_providers_go_ahead()
    {
        _gate.Configure(Limits(null, ("p", new ProviderLimits { MaxConcurrent = 2 })), _now);
        Admit("a", "p");
        Admit("b", "p");

        var c = Queued(Admit("c", "p"));
        Assert.Equal((AdmissionLimit.MaxConcurrent, "p"), (c.Limit, c.Provider));
        Assert.Contains("provider p: max_concurrent 2 reached", c.Reason);
        Assert.Same(AdmissionDecision.Go, Admit("x", "q")); // another provider is not held behind c

        Assert.Equal(["c"], _gate.Release("b", _now));
        var p = _gate.Report(_now).Providers.Single(r => r.Provider == "p");
        Assert.Equal((2, 2, 0), (p.InFlight, p.MaxConcurrent!.Value, p.Queued));
        Assert.Equal(1, p.Throttled["max_concurrent"]);
    }

    [Fact]
    public void Requests_per_minute_holds_a_run_until_the_minute_slides()
    {
        _gate.Configure(Limits(null, ("p", new ProviderLimits { RequestsPerMinute = 2 })), _now);
        Admit("a", "p");
        _now += TimeSpan.FromSeconds(10);
        Admit("b", "p");
        _gate.Release("a", _now);
        _gate.Release("b", _now); // ended: still two requests in the minute

        var c = Queued(Admit("c", "p"));
        Assert.Equal((AdmissionLimit.RequestsPerMinute, T0.AddMinutes(1)), (c.Limit, c.Until));
        Assert.Equal(T0.AddMinutes(1), _gate.NextWake());

        _now = T0.AddSeconds(59);
        Assert.Empty(_gate.Scan(_now));
        _now = T0.AddMinutes(1);
        Assert.Equal(["c"], _gate.Scan(_now));
        Assert.Null(_gate.NextWake());
        Assert.Equal(1, _gate.Report(_now).Providers.Single(r => r.Provider == "p").Throttled["requests_per_minute"]);
    }

    [Fact]
    public void Tokens_per_minute_counts_reported_usage_against_the_runs_provider()
    {
        _gate.Configure(Limits(null, ("p", new ProviderLimits { TokensPerMinute = 1000 })), _now);
        Admit("a", "p");
        _gate.Used("a", null, 600, _now); // the provider of a's run
        Assert.Same(AdmissionDecision.Go, Admit("b", "p")); // 600 < 1000
        _gate.Used("b", "p", 500, _now.AddSeconds(5));

        _now += TimeSpan.FromSeconds(10);
        var c = Queued(Admit("c", "p"));
        Assert.Equal((AdmissionLimit.TokensPerMinute, T0.AddSeconds(60)), (c.Limit, c.Until)); // a's 600 leave: 500 < 1000
        Assert.Equal(1100, _gate.Report(_now).Providers.Single(r => r.Provider == "p").TokensLastMinute);

        _now = T0.AddSeconds(59);
        Assert.Empty(_gate.Scan(_now));
        _now = T0.AddSeconds(60);
        Assert.Equal(["c"], _gate.Scan(_now));
    }

    [Fact]
    public void A_waiting_run_is_not_overtaken_on_its_limit_but_a_raised_limit_lets_it_go()
    {
        _gate.Configure(Limits(null, ("p", new ProviderLimits { RequestsPerMinute = 1 })), _now);
        Admit("a", "p");
        Queued(Admit("b", "p"));
        _now += TimeSpan.FromMinutes(2);
        _gate.Release("a", _now);

        // b's window has room now, but the scan at release reserved it first: c waits behind
        Assert.True(_gate.Holds("b"));
        var c = Queued(Admit("c", "p"));
        Assert.Contains("requests_per_minute 1 reached", c.Reason);

        Assert.Equal(["c"], _gate.Configure(Limits(null, ("p", new ProviderLimits { RequestsPerMinute = 10 })), _now));
    }

    [Fact]
    public void A_queued_run_behind_the_fleet_cap_keeps_its_place_in_line()
    {
        _gate.Configure(Limits(maxRuns: 1), _now);
        Admit("a");
        Queued(Admit("b"));
        var again = Queued(Admit("b")); // the owner asks again (a restart): same place
        Assert.Equal(1, again.Position);
        var c = Queued(Admit("c"));
        Assert.Equal(2, c.Position);
        Assert.Contains("max_concurrent_runs 1 reached", c.Reason);
        Assert.Equal(2, _gate.Report(_now).Queue.Count);
        Assert.Equal(["b", "c"], _gate.Report(_now).Queue.Select(q => q.Agent));
    }

    [Fact]
    public void A_reserved_run_routed_to_another_provider_counts_a_request_there()
    {
        _gate.Configure(Limits(maxRuns: 1), _now);
        Admit("a", "p");
        Queued(Admit("b", "p"));
        _gate.Release("a", _now);
        Assert.Same(AdmissionDecision.Go, Admit("b", "q"));

        var report = _gate.Report(_now);
        Assert.Equal(1, report.Providers.Single(p => p.Provider == "q").InFlight);
        Assert.Equal(1, report.Providers.Single(p => p.Provider == "q").RequestsLastMinute);
    }
}
