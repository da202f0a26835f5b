using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Fleet;

/// <summary>
/// A layer that escalates is started again after the layer's backoff: doubling while it escalates in a
/// row, from the start again once it stayed up reset_after. Fake runs on virtual time.
/// </summary>
public sealed class FleetEscalationSpec : VirtualTimeSpec, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private const string Restarting = "its layer is restarting after an escalation";
    private readonly TempDaemon _daemon = new();
    private readonly TestProbe _runs;
    private readonly FakeRuns _fakes;

    public FleetEscalationSpec(ITestOutputHelper output)
        : base(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero), """
            akka.loglevel = INFO
            """, output)
    {
        _runs = CreateTestProbe("runs");
        _fakes = new FakeRuns(Clock) { Observer = _runs };
    }

    private async Task<AgentStatus> Status(IActorRef fleet) => (await fleet.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single();

    /// <summary>Two crashes a second apart: the first restart fits the layer's intensity (1), the second escalates.</summary>
    private async Task Escalate(IActorRef fleet)
    {
        _fakes.Exit("crasher", 1);
        await _runs.FishForMessageAsync<FakeRunEnded>(_ => true, Wait);
        await AwaitConditionAsync(async () => (await Status(fleet)).State == AgentState.Backoff, Wait);
        Advance(TimeSpan.FromSeconds(1));
        await _runs.FishForMessageAsync<FakeRunStarted>(_ => true, Wait);
        _fakes.Exit("crasher", 1);

        // the fleet has heard of the escalation (and armed its timer) once the layer is gone
        await AwaitConditionAsync(async () => (await Status(fleet)).Reason == Restarting, Wait);
    }

    /// <summary>The layer comes back exactly after <paramref name="delay"/> (virtual time), with its agent.</summary>
    private async Task ComesBackAfter(IActorRef fleet, TimeSpan delay)
    {
        Advance(delay - TimeSpan.FromMilliseconds(1));
        Assert.Equal(Restarting, (await Status(fleet)).Reason);
        Advance(TimeSpan.FromMilliseconds(1));
        await _runs.FishForMessageAsync<FakeRunStarted>(_ => true, Wait);
    }

    [Fact]
    public async Task Escalations_in_a_row_back_off_exponentially_and_a_layer_that_stayed_up_starts_again_at_the_minimum()
    {
        var layer = new LayerSpec
        {
            Name = LayerName.Safety,
            MaxRestarts = 1,
            Within = TimeSpan.FromMinutes(1),
            QuarantineAfter = 100,
            DefaultRestart = RestartType.Permanent,
            Backoff = new BackoffSpec { Min = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(8), Jitter = 0, ResetAfter = TimeSpan.FromSeconds(30) },
        };
        var services = _daemon.Services(ActorRefs.Nobody, ActorRefs.Nobody) with { Clock = Clock, RunProps = _fakes.Props };
        var fleet = Sys.ActorOf(FleetActor.Props(services), "fleet");
        await fleet.Ask<FleetApplied>(new ApplyFleet(new FleetSpec
        {
            Layers = new Dictionary<LayerName, LayerSpec> { [LayerName.Safety] = layer },
            // every crash here is a quick one (a crash after min_uptime counts for no intensity, and the layer's
            // reset_after below would make its runs settled)
            Agents = [new AgentSpec { Name = "crasher", Layer = LayerName.Safety, Command = ["/fake/crasher"], MinUptime = TimeSpan.FromHours(1) }],
        }), Wait);
        await _runs.FishForMessageAsync<FakeRunStarted>(_ => true, Wait);

        await Escalate(fleet);
        await ComesBackAfter(fleet, TimeSpan.FromSeconds(1));
        await Escalate(fleet);
        await ComesBackAfter(fleet, TimeSpan.FromSeconds(2));
        await Escalate(fleet);
        await ComesBackAfter(fleet, TimeSpan.FromSeconds(4));

        // up for reset_after: the next escalation is the first of a new series
        Advance(layer.Backoff.ResetAfter);
        await Escalate(fleet);
        await ComesBackAfter(fleet, TimeSpan.FromSeconds(1));
    }

    public new void Dispose()
    {
        Shutdown(verifySystemShutdown: false);
        _daemon.Dispose();
        base.Dispose();
    }
}
