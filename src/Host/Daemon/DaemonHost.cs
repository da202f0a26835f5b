using System.Net;
using System.Runtime.InteropServices;
using Akka.Hosting;
using DarkFactory.Actors.Cluster;
using DarkFactory.Actors.Control;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Topics;
using DarkFactory.Host.Api;
using DarkFactory.Host.Cluster;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace DarkFactory.Host.Daemon;

/// <param name="LogFormat">text (one line per entry) or json (one JSON object per line).</param>
/// <param name="LogDays">Days of daemon log files kept in DIR/logs when journald does not take the log (0: no file).</param>
/// <param name="AllowEmptyStore">Start even though the directory held a store and it is now missing or empty (a new history).</param>
/// <param name="Cluster">Set with <c>--node</c>: this daemon joins an Akka.NET cluster (PostgreSQL required); null: a single node.</param>
public sealed record DaemonOptions(string FleetPath, DataDirectory Data, string Listen, string? Postgres, bool AllowRemote, string LogFormat = "text", int LogDays = DaemonLogFile.DefaultRetentionDays, bool AllowEmptyStore = false, ClusterNodeOptions? Cluster = null);

/// <summary>
/// The composition root of the daemon: validates the fleet, takes the data directory, sweeps agent
/// processes a killed daemon left behind, starts Akka (through Akka.Hosting) and the HTTP API, applies
/// the fleet, and on SIGTERM / Ctrl-C drains every agent within its grace period before exiting.
/// </summary>
public static class DaemonHost
{
    public static async Task<int> RunAsync(DaemonOptions options)
    {
        var load = FleetLoader.LoadFile(options.FleetPath);
        foreach (var d in load.Diagnostics)
        {
            Console.Error.WriteLine(d.ToString());
        }

        if (!load.Ok)
        {
            Console.Error.WriteLine($"df: {options.FleetPath} has errors; the daemon did not start");
            return 1;
        }

        if (!TryParseListen(options.Listen, out var endpoint))
        {
            Console.Error.WriteLine($"df: --listen '{options.Listen}' is not an address:port (for example 127.0.0.1:7780)");
            return 2;
        }

        if (!IPAddress.IsLoopback(endpoint.Address) && !options.AllowRemote)
        {
            Console.Error.WriteLine($"df: --listen {options.Listen} would expose the API beyond this machine; put it behind a TLS reverse proxy and pass --allow-remote");
            return 2;
        }

        var data = options.Data;
        FileStream? dirLock;
        PersistenceSetup persistence;
        bool pausesMayExist;
        ClusterTls? clusterTls = null;
        try
        {
            data.Create();
            dirLock = data.TryLock();
            if (dirLock is null)
            {
                Console.Error.WriteLine($"df: another daemon is running on {data.Path} ({data.ReadEndpoint()?.Url ?? "address unknown"})");
                return 1;
            }

            // a directory written by a newer release is refused, not misread; a broken or emptied store is refused
            // (one line: the file and what to do); else it is stamped with this release
            persistence = PersistenceSetup.Choose(options.Postgres, data);
            if (options.Cluster?.Refusal(persistence) is { } clusterRefusal)
            {
                Console.Error.WriteLine("df: " + clusterRefusal);
                dirLock.Dispose();
                return 2;
            }

            if (options.Cluster is not null)
            {
                (clusterTls, var tlsRefusal) = ClusterTrust.Prepare(options.Cluster, data, persistence.ConnectionString, ClusterNodeOptions.SystemName(load.Fleet!), Environment.GetEnvironmentVariable(ClusterTls.Variable));
                if (clusterTls is null)
                {
                    Console.Error.WriteLine("df: " + tlsRefusal);
                    dirLock.Dispose();
                    return 2;
                }

                options = options with { Cluster = options.Cluster with { Protocol = "akka.ssl.tcp" } };
            }

            var refusal = Ops.DataStamp.Refusal(data.Path) ?? (persistence.IsSqlite ? StoreGuard.Refusal(data, options.AllowEmptyStore) : null);
            if (refusal is not null)
            {
                Console.Error.WriteLine("df: " + refusal);
                dirLock.Dispose();
                return 1;
            }

            Ops.DataStamp.Write(data.Path);
            persistence.Prepare();

            // a store with nothing of Nightwatch's has no pause to wait for: the agents start without the journal's recovery
            pausesMayExist = options.Cluster is not null || BootPauses.MayExist(persistence, new Actors.Nightwatch.NightwatchSettings().PersistenceId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or InvalidDataException)
        {
            Console.Error.WriteLine($"df: the data directory {data.Path} cannot be used: {e.Message.ReplaceLineEndings(" ")} (check that it is writable by this user and has free space; df doctor --data-dir {data.Path} checks it)");
            return 1;
        }

        using var heldLock = dirLock;

        // Agent processes of a daemon that was killed (SIGKILL, power loss) on this data directory: by run
        // marker, and in the run cgroups (which also hold what cleared its environment)
        var cgroups = RunCgroups.Detect(data.DaemonId);
        var sandbox = SandboxSupport.Detect(Environment.GetEnvironmentVariable("PATH"));
        var leftRuns = ProcessTree.MarkersOf(data.DaemonId + "/");
        var orphans = ProcessTree.KillMarked([data.DaemonId + "/"]);
        var cgroupOrphans = cgroups.SweepAll();

        // the runs' private directories: outside the data directory, owner-only, emptied of a killed daemon's runs
        try
        {
            RunDirectories.Prepare(RunDirectories.Root(data.DaemonId, LayerServices.CurrentEnvironment()));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"df: {e.Message}");
            return 1;
        }

        // queued runs' tasks wait on disk, not in memory; a killed daemon's queue is gone with it
        TaskSpill spill;
        int sweptTasks;
        try
        {
            spill = TaskSpill.Prepare(data.Path, out sweptTasks);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"df: the data directory {data.Path} cannot keep queued tasks: {e.Message}");
            return 1;
        }

        var token = data.LoadOrCreateToken();
        var fleet = load.Fleet!;

        var app = Build(options, endpoint, persistence, token, fleet, cgroups, sandbox, spill, pausesMayExist, clusterTls);
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("DarkFactory.Daemon");
        if (orphans.Count > 0 || cgroupOrphans > 0)
        {
            log.LogWarning("Killed {Count} agent process(es) left by a previous daemon: {Pids} (+{Cgroup} in its run cgroups)", orphans.Count, string.Join(",", orphans), cgroupOrphans);
        }

        if (sweptTasks > 0)
        {
            log.LogWarning("Deleted {Count} queued task(s) a previous daemon left in {Directory}: their runs were not started (start them again)", sweptTasks, spill.Directory);
        }

        // a daemon killed without its shutdown (SIGKILL, out of memory) takes its runs and gates with it
        using var lifeline = Lifeline.Start(data.DaemonId + "/", cgroups, warning => log.LogWarning("Lifeline: {Warning}", warning));
        if (lifeline is not null)
        {
            log.LogInformation("Runs have a lifeline: guard process {Pid} kills them if this daemon dies without its shutdown", lifeline.Pid);
        }

        if (!sandbox.Available)
        {
            log.LogWarning("Runs are not sandboxed: {Reason}; agents with sandbox: required or network: closed are unavailable (docs/security.md)", sandbox.Reason);
        }

        if (cgroups.Available)
        {
            log.LogInformation("Runs are tracked in cgroups: {Cgroups}", cgroups.Reason);
        }
        else
        {
            log.LogWarning("No cgroup for runs ({Reason}): a process that clears its environment and leaves its session escapes the sweep", cgroups.Reason);
        }

        await app.StartAsync();

        // a cluster node that stops without dying (SIGSTOP, a frozen VM) is killed before the other nodes move its
        // agents, and its lifeline then ends its runs: never two copies of an agent (NodeFence)
        using var fence = options.Cluster is null ? null : NodeFence.Start(
            NodeFence.AfterFor(app.Services.GetRequiredService<ActorSystem>().Settings.Config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after", TimeSpan.FromSeconds(20))),
            Environment.ProcessId,
            warning => log.LogWarning("Fence: {Warning}", warning));
        if (fence is not null)
        {
            log.LogInformation("Cluster fence: watchdog {Pid} kills this daemon if it gives no sign of life for {After} (the resolver's stable-after)", fence.Pid, fence.After);
        }

        if (clusterTls is not null)
        {
            log.LogInformation("Cluster port: mutual TLS, peers' keys from {Source}", clusterTls.Source == "secret" ? ClusterTls.Variable : "the cluster's PostgreSQL (df_cluster_keys)");
        }

        app.Services.GetRequiredService<FleetTelemetry>().ExportZeros(); // the exporter listens now
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        data.WriteEndpoint(new DaemonEndpoint(url, token, Environment.ProcessId));
        app.Services.GetRequiredService<RunApi>().Url = url; // runs started from now on get the API and a token of their own
        log.LogInformation("Dark Factory daemon {Pid} listening on {Url}; data in {Data}; store {Store}", Environment.ProcessId, url, data.Path, persistence.Describe());

        // the runs a killed daemon left going get their end in history before the fleet is applied (any new run)
        var gateway = await app.Services.GetRequiredService<IRequiredActor<FactoryActor>>().GetAsync();
        foreach (var end in UnfinishedRuns.Ends(leftRuns, data.DaemonId, DateTimeOffset.UtcNow))
        {
            gateway.Tell(end);
        }

        var reloader = app.Services.GetRequiredService<FleetReloader>();
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            log.LogInformation("SIGHUP: reloading {Path}", reloader.FleetPath);
            _ = reloader.ReloadAsync().ContinueWith(
                t => log.LogError(t.Exception!.GetBaseException(), "SIGHUP reload of {Path} failed: the running fleet is as it was", reloader.FleetPath),
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted,
                TaskScheduler.Default);
        });

        if (options.Cluster is { } clusterNode)
        {
            log.LogInformation(
                "Cluster node {Node} on {Host}:{Port} (roles {Roles}; seeds {Seeds}); it runs the agents the placement coordinator places on it",
                clusterNode.Node, clusterNode.Host, clusterNode.Port, string.Join(",", clusterNode.Roles(fleet)), string.Join(",", clusterNode.SeedAddresses(fleet)));
            var membership = app.Services.GetRequiredService<ClusterMembership>();
            membership.Reassigned = async () =>
            {
                try
                {
                    await reloader.ReapplyAsync();
                }
                catch (Exception e)
                {
                    log.LogError(e, "Applying this node's placement failed: its agents are as they were until the placement is resent");
                    throw; // the placement node applies it again when the coordinator resends it, and confirms no release meanwhile
                }
            };
        }

        var applied = await reloader.ReloadAsync(fleet);
        log.LogInformation(
            "Fleet of {Count} agents applied: {Started} started",
            fleet.Agents.Count,
            applied.Changes is { } c ? string.Join(", ", c.Started) : "none");

        app.Services.GetRequiredService<SystemdNotify>().Ready($"fleet of {fleet.Agents.Count} agents applied; API on {url}");
        _ = StartupTrim.Start(app.Lifetime.ApplicationStopping); // the start-up burst's garbage back to the OS once quiet
        await app.WaitForShutdownAsync();
        data.RemoveEndpoint(Environment.ProcessId);
        await app.DisposeAsync();
        return 0;
    }

    /// <summary>What a sandboxed run must not see besides the data directory and the run root: the operator's HOME and the review worktrees.</summary>
    internal static IReadOnlyList<string> Hidden(IReadOnlyDictionary<string, string?> environment, DataDirectory data) =>
        new[]
        {
            environment.GetValueOrDefault("HOME"),
            environment.GetValueOrDefault("DF_WORKTREES") is { Length: > 0 } worktrees ? Path.GetFullPath(worktrees) : Path.Combine(data.Path, "worktrees"),
        }.OfType<string>().Where(p => p.Length > 1).ToList();

    internal static bool TryParseListen(string listen, out IPEndPoint endpoint)
    {
        if (listen.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            listen = "127.0.0.1:" + listen["localhost:".Length..];
        }

        return IPEndPoint.TryParse(listen, out endpoint!) && listen.Contains(':');
    }

    private static WebApplication Build(DaemonOptions options, IPEndPoint endpoint, PersistenceSetup persistence, string token, FleetSpec fleet, RunCgroups cgroups, SandboxSupport sandbox, TaskSpill spill, bool pausesMayExist, ClusterTls? clusterTls)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrel(k => k.Listen(endpoint));
        builder.Logging.ClearProviders();
        var journald = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"));
        if (!journald && options.LogDays > 0)
        {
            builder.Logging.AddProvider(new DaemonLogFile(options.Data.Logs, options.LogDays, TimeProvider.System));
        }

        if (journald && JournaldLog.ForThisProcess() is { } journal)
        {
            builder.Logging.AddProvider(journal); // structured: DF_AGENT, DF_RUN_ID and each logged value as fields
        }
        else if (journald && options.LogFormat != "json")
        {
            builder.Logging.AddSystemdConsole(o => o.UseUtcTimestamp = true); // journald reads the <priority> prefixes
        }
        else if (options.LogFormat == "json")
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffK";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(3));
        builder.Services.Configure<Microsoft.Extensions.Hosting.ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);

        var data = options.Data;
        var telemetry = new FleetTelemetry();
        var logs = new LogSinks(data.Logs, faults: telemetry.LogWrites);
        var environment = LayerServices.CurrentEnvironment();
        var runApi = RunApi.FromOperatorToken(token);
        var node = new LayerServices(
            new DaemonContext(data.DaemonId, data.Path) { PersistenceScope = options.Cluster is { } c ? "@" + c.Node : "", TempRoot = RunDirectories.Root(data.DaemonId, environment), Api = runApi, Cgroups = cgroups, Sandbox = sandbox, Hidden = Hidden(environment, data) },
            logs,
            ActorRefs.Nobody, // the fleet's composition fills in its sweeper, history and router
            ActorRefs.Nobody,
            environment,
            TimeProvider.System,
            Random.Shared.NextDouble,
            name => Executables.Find(name, environment.GetValueOrDefault("PATH")),
            LayerServices.ReadFile)
        {
            // every secret the daemon knows is masked in every run's output (provider keys, forge token, agents' secrets)
            GlobalSecrets = FleetSecrets.Of(fleet, environment, LayerServices.ReadFile),
            Routes = new RouteBoard(),
            Gate = telemetry.Gate,
            Spill = spill,

            // a plain command's next run waits spawned while its run is up (restart = one pipe write); DF_STANDBY_RUNS=0: none
            Standbys = environment.GetValueOrDefault("DF_STANDBY_RUNS") != "0",
            PausesMayExist = pausesMayExist,
        };
        telemetry.Spill = spill;
        var grace = fleet.Agents.Select(a => a.Grace).DefaultIfEmpty(TimeSpan.FromSeconds(10)).Max();

        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier, Microsoft.Extensions.Hosting.Systemd.SystemdNotifier>();
        builder.Services.AddSingleton(persistence);
        IServiceProvider? services = null; // the built app's, read by the membership only once the daemon runs
        var membership = new ClusterMembership(options.Cluster, () => services!.GetRequiredService<ActorSystem>());
        builder.Services.AddSingleton(membership);
        builder.Services.AddSingleton(sp => new Readiness(
            sp.GetRequiredService<IRequiredActor<FactoryActor>>(),
            sp.GetRequiredService<DataDirectory>(),
            sp.GetRequiredService<PersistenceSetup>(),
            sp.GetRequiredService<FleetTelemetry>(),
            sp.GetRequiredService<ILogger<Readiness>>())
        {
            ClusterCheck = membership.Check,
        });
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Readiness>());
        builder.Services.AddSingleton<SystemdNotify>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SystemdNotify>());
        builder.Services.AddSingleton(logs);
        builder.Services.AddSingleton(data);
        builder.Services.AddSingleton(new ApiToken(token));
        builder.Services.AddSingleton(runApi);
        builder.Services.AddSingleton(new RunTasks());
        var statusView = new FleetStatusView();
        builder.Services.AddSingleton(statusView);
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true); // bad parameters -> problem details naming them
        builder.Services.AddSingleton(telemetry);
        builder.Services.AddSingleton(telemetry.Gate);
        builder.AddDarkFactoryObservability(telemetry);
        builder.Services.AddSingleton(sp => DarkFactoryOptions.Create(sp.GetRequiredService<ActorSystem>().Settings.Config));
        builder.Services.AddSingleton<FactoryClient>();
        builder.Services.AddSingleton(sp => new FleetReloader(options.FleetPath, sp.GetRequiredService<FactoryClient>(), sp.GetRequiredService<IRequiredActor<EventBridgeActor>>(), statusView, sp.GetRequiredService<ILogger<FleetReloader>>(), membership.Place,
            options.Cluster is null ? null : whole => sp.GetRequiredService<ActorRegistry>().Get<PlacementNode>().Tell(new PlacementNode.Declare(whole)),
            refusal => FleetTopics.For(sp.GetRequiredService<ActorSystem>()).Publish(refusal),
            options.Cluster is null ? null : (fleet.Cluster ?? new ClusterSpec()).Timing));
        builder.Services.AddAkka(options.Cluster is null ? "dark-factory" : ClusterNodeOptions.SystemName(fleet), (akka, _) => akka
            .WithDarkFactoryPersistence(persistence)
            .WithDarkFactoryCluster(options.Cluster, fleet, clusterTls)
            .WithDarkFactorySettings(Environment.GetEnvironmentVariable("DF_HOCON"))
            .WithDarkFactoryGateway(node)
            .WithDarkFactoryPlacement(options.Cluster, fleet, membership, agent => AgentNames.Readable(membership.Fleet, agent) ? logs.PathOf(agent) : null)
            .WithDarkFactoryFleet(node)
            .WithDarkFactoryControlPlane(node, options.Cluster, fleet)
            .WithFleetDrain(data.DaemonId, grace, cgroups)
            .WithDarkFactoryControl(statusView, telemetry, options.Cluster?.Node));

        var app = builder.Build();
        services = app.Services;
        app.MapDarkFactoryApi();
        app.MapDarkFactoryObservability();
        return app;
    }
}
