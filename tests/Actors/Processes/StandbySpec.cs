using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Processes;

/// <summary>
/// Issue 18: standbys with real processes (in cgroups and bubblewrap where the machine has them). A run past its
/// min uptime gets its next run spawned and waiting; a crash releases it (the same process execs the program:
/// no spawn on the restart path), the program runs once per run, and a stopped agent's standby goes with it.
/// </summary>
public sealed class StandbySpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDaemon _daemon = new(cgroups: true, sandbox: SandboxFactAttribute.Support.Value);
    private readonly string _work = Directory.CreateTempSubdirectory("df-standby-").FullName;

    public StandbySpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
    }

    [Fact]
    public async Task A_crash_releases_the_standby_whose_program_runs_once_and_a_stop_takes_the_next_standby_with_it()
    {
        var (execs, layer) = StartSteady("steady");
        var first = Started();
        var standby = await AwaitStandby();
        Assert.Equal([first], Runs(execs)); // spawned, its program not run

        // the crash: the standby's own process becomes the next run (exec'd in place), no new spawn
        var program = _daemon.LiveProcesses().Single(p => Command(p).StartsWith("sleep", StringComparison.Ordinal));
        Native.Kill(program, Native.SIGKILL);
        var second = Started();
        Assert.NotEqual(first, second);
        await AwaitConditionAsync(() => Task.FromResult(Runs(execs).Count == 2), Wait);
        Assert.Equal([first, second], Runs(execs));
        Assert.StartsWith("sleep", Command(standby));

        // its own standby, spawned once it is past min uptime; a stop discards it unrun, and nothing is left
        var next = await AwaitStandby();
        Assert.NotEqual(standby, next);
        Assert.True((await layer.Ask<CommandResult>(new StopAgent("steady"), Wait)).Ok);
        await AwaitConditionAsync(() => Task.FromResult(_daemon.LiveProcesses().Count == 0), Wait);
        Assert.Equal([first, second], Runs(execs));
        if (_daemon.Context.Cgroups.Root is { } root)
        {
            await AwaitConditionAsync(() => Task.FromResult(!Directory.EnumerateDirectories(root).Any()), Wait);
        }
    }

    [Fact]
    public async Task A_standby_killed_from_outside_is_forgotten_and_the_restart_spawns_as_without_one()
    {
        var (execs, layer) = StartSteady("lost");
        var first = Started();
        var standby = await AwaitStandby(); // made once per run: no other comes while this run is up

        // the standby dies unreleased: no run of it is recorded, and the crash that follows spawns afresh
        Native.Kill(standby, Native.SIGKILL);
        await AwaitConditionAsync(() => Task.FromResult(!ProcessTree.IsAlive(standby)), Wait);
        var program = _daemon.LiveProcesses().Single(p => Command(p).StartsWith("sleep", StringComparison.Ordinal));
        Native.Kill(program, Native.SIGKILL);
        var second = Started();
        await AwaitConditionAsync(() => Task.FromResult(Runs(execs).Count == 2), Wait);
        Assert.Equal([first, second], Runs(execs));
        Assert.True((await layer.Ask<CommandResult>(new StopAgent("lost"), Wait)).Ok);
        await AwaitConditionAsync(() => Task.FromResult(_daemon.LiveProcesses().Count == 0), Wait);
    }

    /// <summary>The next run recorded started (the history is this test's actor); its run id.</summary>
    /// <summary>A safety agent whose every run appends its run id to the returned file and sleeps, under a layer with standbys on.</summary>
    private (string Execs, IActorRef Layer) StartSteady(string name)
    {
        var execs = Path.Combine(_work, "execs");
        var spec = new AgentSpec
        {
            Name = name,
            Layer = LayerName.Safety,
            Cli = CliCatalog.Command,
            Command = ["/bin/sh", "-c", "echo \"$DF_RUN_ID\" >> \"$0\"; exec sleep 100000", execs],
            Workdir = _work, // the sandbox shows it read-write
            Grace = TimeSpan.FromSeconds(2),
            MinUptime = TimeSpan.FromMilliseconds(200),
            Autostart = true,
        };
        var sweeper = Sys.ActorOf(ProcessSweeper.Props());
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(sweeper, TestActor) with { Standbys = true }));
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), [spec], 1), TestActor);
        return (execs, layer);
    }

    private string Started() =>
        ((AgentLifecycle)FishForMessage(m => m is AgentLifecycle { Kind: LifecycleKind.Started }, Wait)).RunId!;

    /// <summary>The one standby of the test's agent (a marked process still in its shell, not bubblewrap around it), once it is there.</summary>
    private async Task<int> AwaitStandby()
    {
        var found = 0;
        await AwaitConditionAsync(() => Task.FromResult((found = _daemon.LiveProcesses().SingleOrDefault(p => Command(p).StartsWith("/bin/sh -c read -r go", StringComparison.Ordinal))) > 0), Wait);
        return found;
    }

    private static IReadOnlyList<string> Runs(string execs) => File.Exists(execs) ? File.ReadAllLines(execs) : [];

    private static string Command(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _daemon.Dispose();
            Directory.Delete(_work, recursive: true);
        }
    }
}
