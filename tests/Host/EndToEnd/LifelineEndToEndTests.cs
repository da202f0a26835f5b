using System.Diagnostics;
using DarkFactory.Actors.Processes;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The attack on the runs' lifeline with the real daemon: SIGKILL it (no shutdown, as the out-of-memory killer
/// does) while an agent has descendants that left its group (a double fork, a setsid'd child), sandboxed or not;
/// every process of the run is gone within a second, found by its marker in /proc and in its cgroup.
/// </summary>
public sealed class LifelineEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string Fleet(string sandbox, string workdir) => $"""
        version: 1
        agents:
          - name: descendants
            layer: safety
            command: ["{DaemonProcess.Agent("descendants.sh")}"]
            workdir: {workdir}
            sandbox: {sandbox}
          - name: keeper
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            sandbox: {sandbox}
        """;

    [Theory]
    [InlineData("auto")] // sandboxed where bubblewrap can: the sandbox's pid namespace dies with its init
    [InlineData("off")]
    public async Task A_SIGKILLed_daemon_takes_every_process_of_its_runs_with_it_within_a_second(string sandbox)
    {
        var work = Directory.CreateTempSubdirectory("df-lifeline-e2e-").FullName;
        try
        {
            await using var daemon = new DaemonProcess(Fleet(sandbox, work));
            await daemon.StartAsync();
            await daemon.UntilAsync(() => Task.FromResult(Commands(daemon).Count(c => c.Contains("sleep 100003", StringComparison.Ordinal) || c.Contains("sleep 100004", StringComparison.Ordinal)) == 2), Wait, "both descendants");
            await daemon.UntilAsync(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
            var run = daemon.AgentProcesses();
            var cgroups = Path.Combine("/sys/fs/cgroup/unified", daemon.DaemonId);
            Assert.True(daemon.LifelinePid() > 0, "no lifeline guard");
            output.WriteLine($"{run.Count} marked processes: {string.Join(" | ", Commands(daemon))}");

            var clock = Stopwatch.StartNew();
            daemon.KillHard();
            await DaemonProcess.Until(() => Task.FromResult(daemon.AgentProcesses().Count == 0 && run.All(p => !ProcessTree.IsAlive(p))), TimeSpan.FromSeconds(1), "every process of the runs gone");
            output.WriteLine($"every process of the runs gone {clock.ElapsedMilliseconds} ms after the SIGKILL");
            if (Directory.Exists(cgroups))
            {
                await DaemonProcess.Until(() => Task.FromResult(Directory.EnumerateDirectories(cgroups).All(c => RunCgroups.Pids(c).Count == 0)), TimeSpan.FromSeconds(1), "run cgroups empty");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Runs_live_on_while_the_daemons_thread_pool_retires_its_threads()
    {
        // idle thread-pool workers retire after 200 ms here (20 s by default); twenty agents start at once from the pool's threads
        var agents = string.Concat(Enumerable.Range(1, 20).Select(i => $"""
              - name: s{i}
                layer: safety
                command: ["{DaemonProcess.Agent("sleeper.sh")}"]

            """));
        await using var daemon = new DaemonProcess($"version: 1\nagents:\n{agents}");
        daemon.Environment["DOTNET_ThreadPool_ThreadTimeoutMs"] = "200";
        await daemon.StartAsync();
        // by the API, not by marked processes: a sandboxed run is several (bubblewrap, its init, the program)
        await daemon.UntilAsync(async () => (await Pids(daemon)).Count == 20, Wait, "twenty runs");
        var pids = await Pids(daemon);
        Assert.Equal(20, pids.Count);

        // the pool's workers now (some of them started the runs); wait until some of them retired
        var workers = Workers(daemon.Pid);
        Assert.NotEmpty(workers);
        await daemon.UntilAsync(() => Task.FromResult(!workers.IsSubsetOf(Workers(daemon.Pid))), Wait, "a thread-pool worker to retire");
        output.WriteLine($"workers after the start: {workers.Count}; {workers.Except(Workers(daemon.Pid)).Count()} of them retired since");

        Assert.Equal(pids, await Pids(daemon));
        Assert.All(pids.Values, pid => Assert.True(ProcessTree.IsAlive(pid)));
        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    private static async Task<Dictionary<string, int>> Pids(DaemonProcess daemon) =>
        (await daemon.ApiJson("/api/agents")).EnumerateArray()
            .Where(a => a.GetProperty("state").GetString() == "running")
            .ToDictionary(a => a.GetProperty("name").GetString()!, a => a.GetProperty("pid").GetInt32());

    /// <summary>The thread ids of the process's thread-pool workers (named ".NET TP Worker").</summary>
    private static HashSet<int> Workers(int pid) =>
        Directory.EnumerateDirectories($"/proc/{pid}/task")
            .Where(t => Comm(t) == ".NET TP Worker")
            .Select(t => int.Parse(Path.GetFileName(t)))
            .ToHashSet();

    private static string Comm(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private static List<string> Commands(DaemonProcess daemon) =>
        daemon.AgentProcesses().Select(p =>
        {
            try
            {
                return File.ReadAllText($"/proc/{p}/cmdline").Replace('\0', ' ');
            }
            catch (IOException)
            {
                return string.Empty;
            }
        }).ToList();
}
