using Akka.Actor;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>Paths of the repository and its scripted fake agents (tests/agents).</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Agent(string script) => Path.Combine(Root, "tests", "agents", script);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DarkFactory.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("DarkFactory.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temporary data directory for one test; every agent process it started is killed on dispose.</summary>
public sealed class TempDaemon : IDisposable
{
    /// <param name="cgroups">Put runs in cgroups (<see cref="RunCgroups.Detect"/>) when the machine has a writable hierarchy.</param>
    /// <param name="sandbox">Sandbox runs (an agent's <c>sandbox: auto</c> then means on).</param>
    /// <param name="hidden">Paths a sandboxed run must not see (the operator's HOME in production).</param>
    public TempDaemon(bool cgroups = false, SandboxSupport? sandbox = null, IReadOnlyList<string>? hidden = null)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("df-test-").FullName;
        var id = "dft-" + Guid.NewGuid().ToString("N")[..10];
        Context = new DaemonContext(id, Directory) { Cgroups = cgroups ? RunCgroups.Detect(id) : RunCgroups.Unavailable, Sandbox = sandbox, Hidden = hidden ?? [] };
        Logs = new LogSinks(Context.LogDirectory);
    }

    public string Directory { get; }
    public DaemonContext Context { get; }
    public LogSinks Logs { get; }

    public LayerServices Services(IActorRef sweeper, IActorRef history, IReadOnlyDictionary<string, string?>? environment = null) => new(
        Context,
        Logs,
        sweeper,
        history,
        environment ?? LayerServices.CurrentEnvironment(),
        TimeProvider.System,
        () => 0.5,
        name => Executables.Find(name),
        LayerServices.ReadFile);

    /// <summary>The node's services for a whole tree (<see cref="FactoryTree"/> fills in the sweeper, history and router).</summary>
    public LayerServices Node(IReadOnlyDictionary<string, string?>? environment = null) => Services(ActorRefs.Nobody, ActorRefs.Nobody, environment);

    /// <summary>Live (non-zombie) processes started by agents of this test.</summary>
    public IReadOnlyList<int> LiveProcesses() => ProcessTree.FindMarked(Context.DaemonId + "/");

    public void Dispose()
    {
        ProcessTree.KillMarked([Context.DaemonId + "/"]);
        Context.Cgroups.SweepAll();
        if (Context.Cgroups.Root is { } root)
        {
            RunCgroups.Remove(root);
        }

        Logs.Dispose();
        if (System.IO.Directory.Exists(Context.TempRoot))
        {
            try
            {
                System.IO.Directory.Delete(Context.TempRoot, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class Specs
{
    /// <summary>A command agent running one of the fake agents.</summary>
    public static AgentSpec Agent(string name, string script, params string[] args) => new()
    {
        Name = name,
        Layer = LayerName.Safety,
        Cli = CliCatalog.Command,
        Command = [Repo.Agent(script), .. args],
        Grace = TimeSpan.FromSeconds(2),
        Autostart = true,
    };

    /// <summary>A layer with no backoff and generous limits (tests override what they exercise).</summary>
    public static LayerSpec FastLayer(StrategyKind strategy = StrategyKind.OneForOne, int maxRestarts = 100, int quarantineAfter = 100) => new()
    {
        Name = LayerName.Safety,
        Strategy = strategy,
        MaxRestarts = maxRestarts,
        Within = TimeSpan.FromMinutes(1),
        QuarantineAfter = quarantineAfter,
        DefaultRestart = RestartType.Permanent,
        Backoff = new BackoffSpec { Min = TimeSpan.Zero, Max = TimeSpan.Zero, Jitter = 0, ResetAfter = TimeSpan.FromMinutes(1) },
    };
}

/// <summary>
/// The journal stores persistence tests run on: a real SQLite file always, PostgreSQL when DF_TEST_POSTGRES
/// holds a connection string (CI sets it), each with the daemon's own hocon/persistence.conf and darkfactory.conf.
/// </summary>
public static class Stores
{
    public static TheoryData<string> All()
    {
        var data = new TheoryData<string> { "sqlite" };
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DF_TEST_POSTGRES")))
        {
            data.Add("postgres");
        }

        return data;
    }

    /// <param name="extraHocon">Settings placed before the store's (e.g. the test scheduler).</param>
    public static Akka.Configuration.Config Config(string store, string sqliteFile, string extraHocon = "")
    {
        var (provider, cs) = store == "sqlite"
            ? ("SQLite.MS", $"Data Source={sqliteFile}")
            : ("PostgreSQL.15", Environment.GetEnvironmentVariable("DF_TEST_POSTGRES")!);
        var persistence = File.ReadAllText(Path.Combine(Repo.Root, "hocon", "persistence.conf"));
        var baseConf = File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"));
        return Akka.Configuration.ConfigurationFactory.ParseString($$"""
            {{extraHocon}}
            akka.persistence.journal.sql { connection-string = "{{cs}}", provider-name = "{{provider}}" }
            akka.persistence.snapshot-store.sql { connection-string = "{{cs}}", provider-name = "{{provider}}" }
            """)
            .WithFallback(Akka.Configuration.ConfigurationFactory.ParseString(persistence))
            .WithFallback(Akka.Configuration.ConfigurationFactory.ParseString(baseConf));
    }
}
