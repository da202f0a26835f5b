using Akka.Actor;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Adapters.Tests;

/// <summary>What the real-CLI specs add to the shared <see cref="TempDaemon"/> (tests/Actors/Support/TestEnv.cs).</summary>
public static class RealCliDaemon
{
    /// <summary>The agents' working directory inside the test's data directory.</summary>
    public static string Workdir(this TempDaemon daemon) => Directory.CreateDirectory(Path.Combine(daemon.Directory, "work")).FullName;

    /// <summary>The run directories (per-run TMPDIR / HOME) left under the data directory.</summary>
    public static IReadOnlyList<string> RunDirectories(this TempDaemon daemon) =>
        Directory.Exists(daemon.Context.TempRoot)
            ? Directory.GetDirectories(daemon.Context.TempRoot).SelectMany(Directory.GetDirectories).ToList()
            : [];

    /// <summary>Layer services that find the real CLIs first and redact the mock provider's key.</summary>
    public static LayerServices RealCliServices(this TempDaemon daemon, IActorRef sweeper, IActorRef history, IReadOnlyDictionary<string, string?> environment) =>
        daemon.Services(sweeper, history, environment) with
        {
            FindExecutable = name => RealClis.Path(name) ?? Executables.Find(name),
            GlobalSecrets = environment.TryGetValue("MOCK_KEY", out var key) && key is not null ? [key] : [],
        };
}
