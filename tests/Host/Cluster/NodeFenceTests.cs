using System.Diagnostics;
using DarkFactory.Host.Cluster;
using DarkFactory.Host.Tests.EndToEnd;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary>
/// A cluster node's fence (<see cref="NodeFence"/>) on a real watchdog process guarding a real victim process: while
/// the heart beats the victim lives past the fence's time; when the heart stops (as a SIGSTOPped daemon's does) the
/// victim is SIGKILLed about the fence's time later; the daemon's own end (the pipe closed) lets the watchdog leave
/// without a kill.
/// </summary>
public sealed class NodeFenceTests : IDisposable
{
    private static readonly TimeSpan After = TimeSpan.FromSeconds(1);
    private readonly Process _victim = Process.Start("sleep", "300");
    private readonly List<string> _warnings = [];

    [Fact]
    public void The_fence_is_the_resolvers_stable_after_at_least_a_second_and_the_heart_beats_six_times_in_it_at_most_a_second_apart()
    {
        Assert.Equal(TimeSpan.FromSeconds(20), NodeFence.AfterFor(TimeSpan.FromSeconds(20)));
        Assert.Equal(TimeSpan.FromSeconds(3), NodeFence.AfterFor(TimeSpan.FromSeconds(3)));
        Assert.Equal(TimeSpan.FromSeconds(1), NodeFence.AfterFor(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(TimeSpan.FromMilliseconds(500), NodeFence.Beat(TimeSpan.FromSeconds(3)));
        Assert.Equal(TimeSpan.FromSeconds(1), NodeFence.Beat(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task A_beating_heart_keeps_the_guarded_process_alive_and_a_stalled_one_gets_it_killed()
    {
        using var fence = NodeFence.Start(After, _victim.Id, _warnings.Add);
        Assert.NotNull(fence);
        Assert.NotEqual(0, fence.Pid);

        // three fence times of beating: the victim lives
        using (var beating = new CancellationTokenSource(After * 3))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _victim.WaitForExitAsync(beating.Token));
        }

        // the heart stalls (the pipe stays open, as a stopped daemon's): the victim is killed about a fence time later
        var stalled = Stopwatch.StartNew();
        fence.Stall();
        await DaemonProcess.Until(() => Task.FromResult(_victim.HasExited), TimeSpan.FromSeconds(30), "the stalled heart's process killed");
        Assert.Equal(137, _victim.ExitCode);
        Assert.InRange(stalled.Elapsed, After * 0.5, TimeSpan.FromSeconds(15));
        await DaemonProcess.Until(() => Task.FromResult(fence.Pid == 0), TimeSpan.FromSeconds(30), "the watchdog gone after its kill");
        Assert.Empty(_warnings);
    }

    [Fact]
    public async Task The_daemons_own_end_closes_the_pipe_and_the_watchdog_leaves_without_a_kill()
    {
        var fence = NodeFence.Start(After, _victim.Id, _warnings.Add);
        Assert.NotNull(fence);
        var watchdog = Process.GetProcessById(fence.Pid);
        fence.Dispose();

        await DaemonProcess.Until(() => Task.FromResult(watchdog.HasExited), TimeSpan.FromSeconds(30), "the watchdog gone after the pipe closed");
        using (var after = new CancellationTokenSource(After * 3))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _victim.WaitForExitAsync(after.Token));
        }

        Assert.Empty(_warnings);
    }

    public void Dispose()
    {
        if (!_victim.HasExited)
        {
            _victim.Kill();
        }

        _victim.Dispose();
    }
}
