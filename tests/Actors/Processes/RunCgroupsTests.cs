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

/// <summary>Runs only where this machine has a cgroup hierarchy the tests may write (the reason otherwise).</summary>
public sealed class CgroupFactAttribute : FactAttribute
{
    internal static readonly Lazy<string?> Missing = new(() =>
    {
        var id = "dft-probe-" + Environment.ProcessId;
        var found = RunCgroups.Detect(id);
        if (found.Root is { } root)
        {
            RunCgroups.Remove(root);
        }

        return found.Available ? null : "no writable cgroup hierarchy on this machine: " + found.Reason;
    });

    public CgroupFactAttribute() => Skip = Missing.Value;
}

/// <summary>A theory that runs only where this machine has a cgroup hierarchy the tests may write.</summary>
public sealed class CgroupTheoryAttribute : TheoryAttribute
{
    public CgroupTheoryAttribute() => Skip = CgroupFactAttribute.Missing.Value;
}

/// <summary>Issue 14, finding 6: one cgroup per run, which a process cannot leave by clearing its environment.</summary>
public sealed class RunCgroupsTests
{
    private static readonly string[] MountInfo =
    [
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
        "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
        "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer",
        "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
    ];

    [Fact]
    public void The_v2_hierarchy_comes_first_under_the_daemons_own_cgroup_then_the_v1_freezer()
    {
        var candidates = RunCgroups.Candidates(MountInfo, ["6:freezer:/jobs", "4:memory:/x", "0::/system.slice/df.service"]).ToList();

        Assert.Equal(
            [(CgroupKind.V2, "/sys/fs/cgroup/unified", "/system.slice/df.service"), (CgroupKind.V1Freezer, "/sys/fs/cgroup/freezer", "/jobs")],
            candidates);
    }

    [Fact]
    public void No_cgroup_mount_means_no_candidate_and_a_daemon_that_says_why()
    {
        Assert.Empty(RunCgroups.Candidates(["30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw"], ["0::/"]));

        var dir = Directory.CreateTempSubdirectory("df-cg-").FullName;
        try
        {
            File.WriteAllLines(Path.Combine(dir, "mountinfo"), ["30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw"]);
            File.WriteAllLines(Path.Combine(dir, "cgroup"), ["0::/"]);
            var none = RunCgroups.Detect("dft-none", Path.Combine(dir, "mountinfo"), Path.Combine(dir, "cgroup"));
            Assert.False(none.Available);
            Assert.Null(none.For("a", "r1"));
            Assert.Contains("no cgroup v2 or v1 freezer hierarchy", none.Reason);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_run_joins_its_cgroup_before_setsid_and_runs_unchanged_without_one()
    {
        var (plain, plainArguments) = RunConfinement.Wrap("setsid", ["prog", "a"], null);
        Assert.Equal("setsid", plain);
        Assert.Equal(["prog", "a"], plainArguments);

        var (file, arguments) = RunConfinement.Wrap("setsid", ["prog", "a"], "/cg/run-1");
        Assert.Equal("/bin/sh", file);
        Assert.Equal(["df-run", "/cg/run-1", "setsid", "prog", "a"], arguments.Skip(2));
        Assert.Contains("cgroup.procs", arguments[1]);
        Assert.EndsWith("exec \"$@\"", arguments[1]);
    }

    [Fact]
    public void Without_cgroups_the_plan_is_what_it_was()
    {
        using var daemon = new TempDaemon();
        var plan = LaunchPlanner.Plan(Specs.Agent("w", "sleeper.sh"), [Repo.Agent("sleeper.sh")], null, "r1", daemon.Context, new Dictionary<string, string?>(), _ => null, new List<string>());

        Assert.Null(plan.Cgroup);
        Assert.EndsWith("setsid", plan.FileName);
    }
}

/// <summary>The attack: a run's processes clear their environment and leave the session; stopping the run kills them all the same.</summary>
public sealed class CgroupEscapeSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDaemon _daemon = new(cgroups: true);

    public CgroupEscapeSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
    }

    [CgroupFact]
    public async Task Escapees_that_cleared_their_environment_die_with_the_run()
    {
        var pidfile = Path.Combine(_daemon.Directory, "escapees.pid");
        var sweeper = Sys.ActorOf(ProcessSweeper.Props());
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(sweeper, TestActor)));
        var spec = Specs.Agent("escaper", "escape.sh", pidfile);
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), [spec], 1), TestActor);
        FishForMessage<LayerReconciled>(_ => true, Wait);
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(_daemon.Logs.PathOf("escaper")) && File.ReadAllText(_daemon.Logs.PathOf("escaper")).Contains("ready")), Wait);

        var escapees = File.ReadAllLines(pidfile).Select(int.Parse).ToList();
        Assert.Equal(2, escapees.Count);
        Assert.All(escapees, pid => Assert.True(ProcessTree.IsAlive(pid)));
        Assert.Empty(ProcessTree.FindMarked(_daemon.Context.DaemonId + "/").Intersect(escapees)); // the marker sweep cannot see them
        var cgroup = _daemon.Context.Cgroups.Root!;
        var run = Directory.EnumerateDirectories(cgroup).Single();
        Assert.Superset(escapees.ToHashSet(), RunCgroups.Pids(run).ToHashSet());

        Assert.True((await layer.Ask<CommandResult>(new StopAgent("escaper"), Wait)).Ok);

        await AwaitConditionAsync(() => Task.FromResult(escapees.All(pid => !ProcessTree.IsAlive(pid))), Wait);
        await AwaitConditionAsync(() => Task.FromResult(!Directory.Exists(run)), Wait); // removed once empty
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _daemon.Dispose();
        }
    }
}
