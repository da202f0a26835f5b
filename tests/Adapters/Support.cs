using Akka.Actor;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using Xunit;

namespace DarkFactory.Adapters.Tests;

/// <summary>
/// Where the real AI CLIs are: <c>DF_TEST_CLI_BIN</c> (set by .ci/run), else the cache .ci/install-clis
/// fills (~/.cache/darkfactory/clis/node_modules/.bin).
/// </summary>
public static class RealClis
{
    public static string? BinDirectory { get; } = Find();

    public static string? Path(string cli) =>
        BinDirectory is { } dir && File.Exists(System.IO.Path.Combine(dir, cli)) ? System.IO.Path.Combine(dir, cli) : null;

    private static string? Find()
    {
        var dir = Environment.GetEnvironmentVariable("DF_TEST_CLI_BIN");
        if (string.IsNullOrEmpty(dir))
        {
            var home = Environment.GetEnvironmentVariable("HOME") ?? "/root";
            dir = System.IO.Path.Combine(home, ".cache", "darkfactory", "clis", "node_modules", ".bin");
        }

        return Directory.Exists(dir) ? dir : null;
    }
}

/// <summary>A test that runs a real CLI: skipped, saying how to install it, when the CLI is not there.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RealCliFactAttribute : FactAttribute
{
    public RealCliFactAttribute(params string[] clis)
    {
        var missing = clis.Where(c => RealClis.Path(c) is null).ToList();
        if (missing.Count > 0)
        {
            Skip = $"{string.Join(", ", missing)} not installed (run .ci/install-clis, or set DF_TEST_CLI_BIN to its bin directory)";
        }
    }
}

/// <summary>A theory that runs a real CLI: skipped, saying how to install it, when the CLI is not there.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RealCliTheoryAttribute : TheoryAttribute
{
    public RealCliTheoryAttribute(params string[] clis)
    {
        var missing = clis.Where(c => RealClis.Path(c) is null).ToList();
        if (missing.Count > 0)
        {
            Skip = $"{string.Join(", ", missing)} not installed (run .ci/install-clis, or set DF_TEST_CLI_BIN to its bin directory)";
        }
    }
}

/// <summary>Repository paths.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "DarkFactory.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("DarkFactory.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temporary data directory for one test; every agent process it started is killed on dispose.</summary>
public sealed class TempDaemon : IDisposable
{
    public TempDaemon()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("df-adapters-").FullName;
        Context = new DaemonContext("dfa-" + Guid.NewGuid().ToString("N")[..10], Directory);
        Logs = new LogSinks(Context.LogDirectory);
        Workdir = System.IO.Directory.CreateDirectory(System.IO.Path.Combine(Directory, "work")).FullName;
    }

    public string Directory { get; }
    public string Workdir { get; }
    public DaemonContext Context { get; }
    public LogSinks Logs { get; }

    /// <summary>The run directories (per-run TMPDIR / HOME) left under the data directory.</summary>
    public IReadOnlyList<string> RunDirectories() =>
        System.IO.Directory.Exists(Context.TempRoot)
            ? System.IO.Directory.GetDirectories(Context.TempRoot).SelectMany(System.IO.Directory.GetDirectories).ToList()
            : [];

    public LayerServices Services(IActorRef sweeper, IActorRef history, IReadOnlyDictionary<string, string?> environment) => new(
        Context,
        Logs,
        sweeper,
        history,
        environment,
        TimeProvider.System,
        () => 0.5,
        name => RealClis.Path(name) ?? Executables.Find(name),
        LayerServices.ReadFile)
    {
        GlobalSecrets = environment.TryGetValue("MOCK_KEY", out var key) && key is not null ? [key] : [],
    };

    public void Dispose()
    {
        ProcessTree.KillMarked([Context.DaemonId + "/"]);
        Logs.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
