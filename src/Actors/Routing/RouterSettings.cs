namespace DarkFactory.Actors.Routing;

/// <summary>Settings of the <see cref="ProviderRouterActor"/>; tests inject a clock, a probe and their own persistence id.</summary>
public sealed record RouterSettings
{
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public string PersistenceId { get; init; } = "router";

    /// <summary>A snapshot every this many events; older events are then deleted.</summary>
    public int SnapshotEvery { get; init; } = 200;

    /// <summary>A CLI binary's path on PATH, or null when it is not installed.</summary>
    public Func<string, string?> FindExecutable { get; init; } = _ => "installed";

    /// <summary>
    /// The cheap probe of a limited provider while polling: true when it answers again (anything but 429 or
    /// 5xx), false when still limited, null when it cannot tell (no base_url). Default: <see cref="ProviderProbe"/>.
    /// </summary>
    public Func<ProviderSpec, CancellationToken, Task<bool?>> Probe { get; init; } = ProviderProbe.GetAsync;

    /// <summary>The daemon's environment: a provider added at runtime must name a variable it sets (its key).</summary>
    public Func<string, string?> ReadEnvironment { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Where a waiting agent is resumed (the factory, which routes <see cref="ResumeAgent"/> to its layer).</summary>
    public IActorRef? Factory { get; init; }

    /// <summary>
    /// The router of a cluster (a cluster singleton): it hears the runs' usage, limits and route-avoids from every node's
    /// <see cref="RouterFeed"/> (not from its node's topics: they would come twice), and publishes its board and its
    /// events on the DistributedPubSub topic <see cref="RouterFeed.Topic"/> for every node's feed to put on that node's
    /// topics (a <see cref="RouteChosen"/> not at all: the run's node published it). False: a single node's router.
    /// </summary>
    public bool Cluster { get; init; }

    /// <summary>This node's name (a cluster's router says where it started: <see cref="RouterStarted"/>).</summary>
    public string? Node { get; init; }
}
