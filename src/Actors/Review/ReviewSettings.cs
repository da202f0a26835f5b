namespace DarkFactory.Actors.Review;

/// <summary>Options of the <see cref="CompoundReviewActor"/>: where its files go, what it keeps, how it waits and retries. Values only.</summary>
public sealed record ReviewSettings
{
    /// <summary>Reports, hooks and other files of each review: &lt;dir&gt;/&lt;review id&gt;/.</summary>
    public required string ReviewsDirectory { get; init; }

    /// <summary>Where review worktrees are created: &lt;dir&gt;/&lt;review id&gt;.</summary>
    public required string WorktreeRoot { get; init; }

    /// <summary>Run-marker prefix of the daemon (gates carry DF_RUN=&lt;prefix&gt;review/&lt;id&gt; so a restart sweeps strays).</summary>
    public string MarkerPrefix { get; init; } = string.Empty;

    public string PersistenceId { get; init; } = "compound-review";

    /// <summary>Where the gates run sandboxed (<see cref="Processes.GateSandbox.For"/>); null: as the daemon's user.</summary>
    public Processes.GateSandbox? GateSandbox { get; init; }

    /// <summary>The daemon's run cgroups: each gate runs in one, killed when the gate ends.</summary>
    public Processes.RunCgroups? GateCgroups { get; init; }

    /// <summary>A snapshot every this many events; older events are deleted.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>Finished reviews kept in memory (and in snapshots).</summary>
    public int KeepReviews { get; init; } = 200;

    /// <summary>Worktrees of the newest finished reviews that are kept for inspection; older ones are removed.</summary>
    public int KeepWorktrees { get; init; } = 2;

    /// <summary>How long each ask to the factory (history, Nightwatch's records, a route, a start) waits.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Wait between attempts when the fleet refuses to start the agent (already running, not applied yet).</summary>
    public TimeSpan StartRetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    public int StartAttempts { get; init; } = 30;

    /// <summary>
    /// In a cluster (the review a singleton, its agent placed on any node): a run the review awaited when its node was lost
    /// may go on elsewhere, so after recovery the review asks the agent's node what became of it
    /// (<see cref="ReviewStateRules.Resume"/>) before it starts another. False on a single node: a run never outlives
    /// its daemon, so the recovered review starts another at once.
    /// </summary>
    public bool RunsOutliveTheReview { get; init; }

    /// <summary>The cron's wait is cut into slices of at most this; the clock is read again after each (<see cref="Scheduling.CronTimer"/>).</summary>
    public TimeSpan MaxTimerDelay { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>What the <see cref="CompoundReviewActor"/> works with: its clock, the daemon's environment, its read model and the ports its steps use.</summary>
public sealed record ReviewDependencies
{
    private static readonly HttpClient SharedHttp = new() { Timeout = TimeSpan.FromSeconds(30) };

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The daemon's environment: DF_REVIEW_* overrides, and the forge token read when a PR is opened.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>The forge's HTTP client (the real ports only).</summary>
    public HttpClient Http { get; init; } = SharedHttp;

    /// <summary>The read model that answers queries (<see cref="ReviewViewsActor"/>); null: the review actor makes its own child.</summary>
    public IActorRef? Views { get; init; }

    /// <summary>The ports the steps use, given the factory; null: the real ones (<see cref="ReviewPorts"/>: asks through the factory, git, gates, the forge).</summary>
    public Func<IActorRef, IReviewPorts>? Ports { get; init; }
}
