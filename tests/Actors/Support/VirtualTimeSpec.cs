using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>
/// A TestKit on virtual time, the one base of the specs that move time: the TestKit's <see cref="TestScheduler"/>
/// drives the actors' timers and <see cref="Clock"/> (a <see cref="ManualClock"/>) is their wall clock;
/// <see cref="Advance"/> moves both together, so no test waits for wall-clock time to pass.
/// </summary>
public abstract class VirtualTimeSpec : TestKit
{
    private const string Scheduler = """akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """;

    /// <param name="config">The spec's own HOCON (log level, persistence); the virtual scheduler is added to it.</param>
    protected VirtualTimeSpec(DateTimeOffset start, string config, ITestOutputHelper output)
        : this(start, ConfigurationFactory.ParseString(config), output)
    {
    }

    protected VirtualTimeSpec(DateTimeOffset start, Config config, ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString(Scheduler).WithFallback(config), output: output) => Clock = new ManualClock(start);

    /// <summary>The actors' wall clock (give it to their settings).</summary>
    protected ManualClock Clock { get; }

    protected TestScheduler VirtualScheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>Moves the clock and the scheduler together (timers due by then fire).</summary>
    protected void Advance(TimeSpan by)
    {
        Clock.Advance(by);
        VirtualScheduler.Advance(by);
    }
}
