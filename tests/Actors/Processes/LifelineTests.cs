using System.Diagnostics;
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
/// The daemon's lifeline (<see cref="Lifeline"/>): when the pipe to its guard ends, as the kernel ends it when the
/// daemon dies, every process of the daemon's runs dies within a second: descendants that left the group, a
/// sandbox's whole namespace, what cleared its environment in a run cgroup. And no thread matters.
/// </summary>
public sealed class LifelineTests : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;
    private readonly List<string> _warnings = [];
    private TempDaemon? _daemon;
    private string? _work;

    public LifelineTests(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _output = output;
    }

    [Fact]
    public void The_marker_pattern_is_anchored_at_an_entry_and_escapes_what_grep_would_read_as_special()
    {
        Assert.Equal("^DF_RUN=df-0123abcd/", Lifeline.Pattern("df-0123abcd/"));
        Assert.Equal(@"^DF_RUN=a\.b\*c\[d\]\^\$\\/", Lifeline.Pattern(@"a.b*c[d]^$\/"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task When_the_daemons_end_of_the_pipe_closes_every_process_of_every_run_is_gone_within_a_second(bool sandboxed)
    {
        var sandbox = sandboxed ? SandboxSupport.Detect() : null;
        if (sandboxed && sandbox is not { Available: true })
        {
            _output.WriteLine("no sandbox on this machine: " + sandbox?.Reason);
            return;
        }

        _daemon = new TempDaemon(cgroups: true, sandbox: sandbox);
        var prefix = _daemon.Context.DaemonId + "/";
        using var lifeline = Lifeline.Start(prefix, _daemon.Context.Cgroups, Warn);
        Assert.NotNull(lifeline);
        var work = _work = Directory.CreateTempSubdirectory("df-lifeline-").FullName; // seen by a sandboxed run and by the test
        var escapees = Path.Combine(work, "escapees.pid");
        var agents = new[]
        {
            Specs.Agent("descendants", "descendants.sh") with { Restart = RestartType.Temporary, Workdir = work },
            Specs.Agent("escaper", "escape.sh", escapees) with { Restart = RestartType.Temporary, Workdir = work },
        };
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(Sys.ActorOf(ProcessSweeper.Props()), TestActor)));
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), agents, 1), TestActor);
        await AwaitConditionAsync(() => Task.FromResult(agents.All(a => Ready(a.Name))), Wait);
        await AwaitConditionAsync(() => Task.FromResult(Commands().Count(c => c.Contains("sleep 10000", StringComparison.Ordinal)) >= 4), Wait);

        // what the sweep must reach: the marked processes (the double-forked and the setsid'd sleep among them) and, in
        // a cgroup, what cleared its environment
        var marked = _daemon.LiveProcesses();
        var inCgroups = _daemon.Context.Cgroups.Root is { } root ? Directory.EnumerateDirectories(root).SelectMany(RunCgroups.Pids).ToList() : [];
        var all = marked.Concat(inCgroups).Distinct().ToList();
        Assert.Contains(Commands(marked), c => c.Contains("sleep 100003", StringComparison.Ordinal));
        Assert.Contains(Commands(marked), c => c.Contains("sleep 100004", StringComparison.Ordinal));
        _output.WriteLine($"{all.Count} processes: {marked.Count} marked, {inCgroups.Count} in run cgroups");

        var clock = Stopwatch.StartNew();
        lifeline!.Dispose(); // the pipe's end: what the kernel does to it when the daemon dies
        await AwaitConditionAsync(() => Task.FromResult(all.All(p => !ProcessTree.IsAlive(p)) && _daemon.LiveProcesses().Count == 0), TimeSpan.FromSeconds(1));
        _output.WriteLine($"all gone {clock.ElapsedMilliseconds} ms after the pipe closed");
        if (_daemon.Context.Cgroups.Available && !sandboxed)
        {
            // the env -i escapees (no marker) were reached through their cgroup; a sandbox's die with its namespace
            Assert.All(File.ReadAllLines(escapees).Select(int.Parse), pid => Assert.Contains(pid, inCgroups));
        }

        Assert.Empty(_warnings);
    }

    [Fact]
    public async Task A_run_started_from_a_thread_that_then_ends_lives_on_and_the_guard_too()
    {
        _daemon = new TempDaemon();
        var prefix = _daemon.Context.DaemonId + "/";
        Lifeline? lifeline = null;
        Process? run = null;
        var tid = 0;

        // the guard and a run started from a thread that ends, as a thread-pool thread retires
        var starter = new Thread(() =>
        {
            tid = int.Parse(Path.GetFileName(Directory.ResolveLinkTarget("/proc/thread-self", returnFinalTarget: false)!.FullName));
            lifeline = Lifeline.Start(prefix, RunCgroups.Unavailable, Warn);
            var psi = new ProcessStartInfo("/bin/sh", ["-c", "while read -r line; do echo \"alive $line\"; done"])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            psi.Environment[ProcessTree.RunMarker] = prefix + "long/run-1";
            run = Process.Start(psi);
        });
        starter.Start();
        starter.Join();
        await AwaitConditionAsync(() => Task.FromResult(!Directory.Exists($"/proc/self/task/{tid}")), Wait);

        using (lifeline)
        using (run)
        {
            Assert.NotNull(lifeline);
            Assert.NotNull(run);
            await run!.StandardInput.WriteLineAsync("after the thread ended");
            await run.StandardInput.FlushAsync();
            Assert.Equal("alive after the thread ended", await run.StandardOutput.ReadLineAsync().WaitAsync(Wait));
            Assert.True(ProcessTree.IsAlive(lifeline!.Pid));

            lifeline.Dispose();
            await AwaitConditionAsync(() => Task.FromResult(!ProcessTree.IsAlive(run.Id)), TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task A_guard_killed_from_outside_is_replaced_and_the_daemon_says_so()
    {
        _daemon = new TempDaemon();
        using var lifeline = Lifeline.Start(_daemon.Context.DaemonId + "/", RunCgroups.Unavailable, Warn);
        var first = lifeline!.Pid;
        Assert.True(first > 0);

        Native.Kill(first, Native.SIGKILL);

        await AwaitConditionAsync(() => Task.FromResult(lifeline.Pid is > 0 and var p && p != first), Wait);
        lock (_warnings)
        {
            Assert.Contains(_warnings, w => w.Contains("starting another", StringComparison.Ordinal));
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _daemon?.Dispose();
            if (_work is not null)
            {
                Directory.Delete(_work, recursive: true);
            }
        }
    }

    private void Warn(string warning)
    {
        lock (_warnings)
        {
            _warnings.Add(warning);
        }
    }

    private bool Ready(string agent) => File.Exists(_daemon!.Logs.PathOf(agent)) && File.ReadAllText(_daemon.Logs.PathOf(agent)).Contains("ready", StringComparison.Ordinal);

    private List<string> Commands(IEnumerable<int>? pids = null) => (pids ?? _daemon!.LiveProcesses()).Select(Command).ToList();

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
}
