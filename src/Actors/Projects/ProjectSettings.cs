namespace DarkFactory.Actors.Projects;

/// <summary>Settings of the project actors; tests inject their own directories and clock.</summary>
public sealed record ProjectSettings
{
    /// <summary>Each project's files (report, hooks): &lt;dir&gt;/&lt;project id&gt;/.</summary>
    public required string ProjectsDirectory { get; init; }

    /// <summary>Where the gates run sandboxed (<see cref="Processes.GateSandbox.For"/>); null: as the daemon's user.</summary>
    public Processes.GateSandbox? GateSandbox { get; init; }

    /// <summary>The daemon's run cgroups: each gate runs in one, killed when the gate ends.</summary>
    public Processes.RunCgroups? GateCgroups { get; init; }

    /// <summary>Where project worktrees are made when <c>projects.worktree_root</c> is not set: &lt;dir&gt;/&lt;project id&gt;.</summary>
    public required string WorktreeRoot { get; init; }

    /// <summary>Run-marker prefix of the daemon (gates carry DF_RUN=&lt;prefix&gt;project/&lt;id&gt; so a restart sweeps strays).</summary>
    public string MarkerPrefix { get; init; } = string.Empty;

    /// <summary>The daemon's environment (the forge token is read from it when a PR is opened).</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The projects registry's persistence id (a cluster node's own until the control plane is a singleton).</summary>
    public string PersistenceId { get; init; } = "projects";

    /// <summary>A snapshot of a project every this many events; older events are deleted.</summary>
    public int SnapshotEvery { get; init; } = 100;

    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Wait before asking again when the fleet could not take a run (layer restarting, no answer).</summary>
    public TimeSpan StartRetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    public int StartAttempts { get; init; } = 30;

    public HttpClient Http { get; init; } = SharedHttp;

    /// <summary>The read model (<see cref="ProjectViewsActor"/>).</summary>
    public IActorRef Views { get; init; } = ActorRefs.Nobody;

    /// <summary>The repository, gates and forge the projects work on; a scenario sandbox gives ones that act on nothing real.</summary>
    public IProjectPorts Ports { get; init; } = ProjectPorts.Real;

    /// <summary>Random numbers for new project ids.</summary>
    public Func<int> Random { get; init; } = System.Random.Shared.Next;

    private static readonly HttpClient SharedHttp = new() { Timeout = TimeSpan.FromSeconds(30) };
}
