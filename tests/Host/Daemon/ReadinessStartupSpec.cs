using Akka.Hosting;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors;
using DarkFactory.Actors.Control;
using DarkFactory.Host.Daemon;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

/// <summary>
/// The readiness probe in the window where the gateway is registered but the fleet is not yet (the tree is composed
/// in steps): a loaded CI machine saw the probe throw there, and the exception, escaping a BackgroundService,
/// stopped the daemon (exit 134). Not ready, with the reason — never a crash.
/// </summary>
public sealed class ReadinessStartupSpec : TestKit, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-ready-start-").FullName;

    [Fact]
    public async Task A_probe_while_the_tree_is_being_composed_is_not_ready_and_does_not_throw()
    {
        var registry = ActorRegistry.For(Sys);
        registry.Register<FactoryActor>(Sys.ActorOf(FactoryActor.Props(registry, null, _ => null), "factory")); // no FleetActor yet
        using var telemetry = new FleetTelemetry();
        var readiness = new Readiness(
            new RequiredActor<FactoryActor>(registry),
            new DataDirectory(_dir),
            new PersistenceSetup("SQLite.MS", $"Data Source={Path.Combine(_dir, "journal.db")};Pooling=False"),
            telemetry,
            NullLogger<Readiness>.Instance);

        var actors = await readiness.ActorTreeAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.False(actors.Ok);
        Assert.Equal("the actor tree is still starting", actors.Detail);

        var report = await readiness.CheckAsync(CancellationToken.None);
        Assert.False(report.Ready);
        Assert.Equal("actors: the actor tree is still starting", report.Reason);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
