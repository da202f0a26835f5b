using Akka.Configuration;
using Akka.Hosting;
using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Control;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Topics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DarkFactory.Host.Scenarios;

/// <summary>
/// A private daemon for one scenario: a fresh actor system composed by the daemon's own Akka.Hosting
/// extensions (gateway, fleet, control plane, event bridge and telemetry), on the scenario's virtual time
/// (<see cref="VirtualScheduler"/>, <see cref="SandboxExecutor"/>, the clock every actor takes), with an
/// in-memory journal kept per scenario run (<see cref="ScenarioJournal"/>: a restarted sandbox recovers it), fake runs behind the layers' process seam (<see cref="ScriptedRuns"/>), a seeded
/// source of randomness (backoff jitter), fake provider keys, and its own temporary data directory. The compound
/// review and the projects work on a stand-in repository (<see cref="SandboxRepository"/>: scripted scans, commits,
/// gates and pull requests). It touches no live daemon, no process, no network, no real repository.
/// </summary>
public sealed class ScenarioSandbox : IAsyncDisposable
{
    private readonly string _data;
    private readonly LogSinks _logs;
    private readonly FleetTelemetry _telemetry = new();
    private readonly IHost _host;

    /// <param name="time">Virtual time (runs are <paramref name="runs"/>); null: the wall clock, and runs are the fleet's real commands.</param>
    private ScenarioSandbox(Scenario scenario, VirtualTime? time, ScriptedRuns? runs, SandboxRepository repository, string store)
    {
        Time = time;
        Clock = time?.Clock ?? TimeProvider.System;
        _data = Directory.CreateTempSubdirectory("df-scenario-").FullName;
        repository.Root = _data;
        Repository = repository;
        var daemon = new DaemonContext("dfs-" + Guid.NewGuid().ToString("N")[..10], _data);
        _logs = new LogSinks(daemon.LogDirectory);
        Runs = runs;
        var random = new Random(scenario.Seed);
        var missing = scenario.Missing.ToHashSet(StringComparer.Ordinal);
        var environment = Environment(scenario, _data, real: time is null);
        var node = new LayerServices(
            daemon,
            _logs,
            ActorRefs.Nobody,
            ActorRefs.Nobody,
            environment,
            Clock,
            () =>
            {
                lock (random)
                {
                    return random.NextDouble();
                }
            },
            time is null
                ? name => Executables.Find(name, environment.GetValueOrDefault("PATH"))
                : name => missing.Contains(name) || missing.Contains(Path.GetFileName(name)) ? null : "/usr/bin/" + Path.GetFileName(name),
            time is null ? LayerServices.ReadFile : _ => null)
        {
            Routes = new RouteBoard(),
            RunProps = runs?.Props ?? ProcessActor.Props,

            // the compound review and the projects act on the sandbox's stand-in repository: no real git, gate or forge
            ReviewPorts = repository.ReviewPortsFor,
            ProjectPorts = repository.ProjectPorts(),
        };

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("scenario", (akka, _) => akka
            .AddHocon(ConfigurationFactory.ParseString(time is null ? QuietHocon : VirtualTimeHocon(time)), HoconAddMode.Prepend)
            .WithDarkFactoryPersistence(PersistenceSetup.InMemory)
            .AddHocon(ConfigurationFactory.ParseString(ScenarioSnapshotStore.Hocon(store)), HoconAddMode.Prepend)
            .WithDarkFactorySettings()
            .WithDarkFactoryGateway(node)
            .WithDarkFactoryFleet(node)
            .WithDarkFactoryControlPlane(node)
            .WithDarkFactoryControl(new FleetStatusView(), _telemetry));
        _host = builder.Build();
    }

    /// <summary>The scenario's virtual time; null in a <c>time: real</c> sandbox.</summary>
    public VirtualTime? Time { get; }

    /// <summary>The clock every actor of the sandbox takes (virtual, or the wall clock).</summary>
    public TimeProvider Clock { get; }

    /// <summary>The fake runs; null in a <c>time: real</c> sandbox (its runs are OS processes).</summary>
    public ScriptedRuns? Runs { get; }

    /// <summary>The repositories, gates and forge the review and the projects see: scripted, nothing real.</summary>
    public SandboxRepository Repository { get; }

    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    public IActorRef Gateway => _host.Services.GetRequiredService<IRequiredActor<FactoryActor>>().ActorRef;

    public IFleetTopics Topics => FleetTopics.For(System);

    /// <summary>The scheduler (its journal keeper): a clustered scenario tells it the whole fleet, as the cluster's scheduler has it.</summary>
    public IActorRef? Scheduler => _host.Services.GetRequiredService<ActorRegistry>().TryGet<SchedulerActor>(out var scheduler) ? scheduler : null;

    /// <summary>The runner's timeline tap in this sandbox (replies to injected commands go to it).</summary>
    public IActorRef Tap { get; set; } = ActorRefs.Nobody;

    /// <param name="runs">The scenario's fake runs; a sandbox started again after a <c>daemon_restart</c> takes the same ones (each agent's next run is the next behaviour).</param>
    /// <param name="repository">The review's and the projects' stand-in repository; a restarted sandbox takes the same one.</param>
    public static async Task<ScenarioSandbox> StartAsync(Scenario scenario, VirtualTime time, ScriptedRuns? runs = null, SandboxRepository? repository = null)
    {
        var sandbox = new ScenarioSandbox(scenario, time, runs ?? new ScriptedRuns(scenario, time.Clock), repository ?? NewRepository(scenario), time.Id);
        await sandbox._host.StartAsync();
        return sandbox;
    }

    /// <summary>
    /// A <c>time: real</c> sandbox: the wall clock, the fleet's real commands as OS processes (no bubblewrap sandbox or
    /// run cgroups: a scenario checks policies, not the agent boundary), its journal in memory under <paramref name="store"/>.
    /// </summary>
    public static async Task<ScenarioSandbox> StartRealAsync(Scenario scenario, string store, SandboxRepository? repository = null)
    {
        var sandbox = new ScenarioSandbox(scenario, null, null, repository ?? NewRepository(scenario), store);
        await sandbox._host.StartAsync();
        return sandbox;
    }

    /// <summary>The scenario's stand-in repository (its <c>review:</c> and <c>projects:</c> scripts).</summary>
    public static SandboxRepository NewRepository(Scenario scenario) => new(Path.GetTempPath(), scenario.Review, scenario.Projects);

    private const string QuietHocon = """
        akka.loglevel = OFF
        akka.stdout-loglevel = OFF
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """;

    /// <summary>Every scheduler, timer and dispatcher of the sandbox on <paramref name="time"/>; Akka's own chatter off.</summary>
    private static string VirtualTimeHocon(VirtualTime time)
    {
        var executor = $"executor = \"{typeof(SandboxExecutor).FullName}, {typeof(SandboxExecutor).Assembly.GetName().Name}\"\nvirtual-time = \"{time.Id}\"";
        return $$"""
            akka.scheduler.implementation = "{{typeof(VirtualScheduler).FullName}}, {{typeof(VirtualScheduler).Assembly.GetName().Name}}"
            akka.scheduler.virtual-time = "{{time.Id}}"
            akka.actor.default-dispatcher { {{executor}} }
            akka.actor.internal-dispatcher { {{executor}} }
            akka.loglevel = OFF
            akka.stdout-loglevel = OFF
            akka.log-dead-letters = off
            akka.log-dead-letters-during-shutdown = off
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            """;
    }

    /// <summary>
    /// A fake key for every provider (an AI CLI run needs its key set; nothing is ever sent), and a HOME in the sandbox;
    /// a real-time sandbox's runs also get the caller's PATH (their commands are found there).
    /// </summary>
    private static IReadOnlyDictionary<string, string?> Environment(Scenario scenario, string data, bool real)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["PATH"] = real ? global::System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin" : "/usr/bin:/bin",
            ["HOME"] = data,
        };
        var fleets = scenario.Steps.Select(s => s.Reload?.Fleet).OfType<FleetSpec>().Prepend(scenario.Fleet).ToList();
        foreach (var provider in fleets.SelectMany(f => f.Providers))
        {
            if (provider.ApiKeyEnv is { Length: > 0 } key)
            {
                env[key] = "scenario-fake-key";
            }
        }

        // a forge token, so a review or a project with create_prs opens its (sandbox) pull request as the daemon would
        foreach (var forge in fleets.SelectMany(f => new[] { f.CompoundReview.Forge, f.Projects.Forge }))
        {
            if (forge.TokenEnv is { Length: > 0 } token)
            {
                env[token] = "scenario-fake-token";
            }
        }

        return env;
    }

    public async ValueTask DisposeAsync()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await System.Terminate().WaitAsync(cts.Token);
                await _host.StopAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                // a sandbox that does not stop in time is abandoned: nothing of it lives outside this process
            }
        }

        _host.Dispose();
        _logs.Dispose();
        _telemetry.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
