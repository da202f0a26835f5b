using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Output;

/// <summary>
/// Issue 15, finding 4: a full disk. The logs directory is a real tmpfs of a few hundred KiB (<see cref="SmallFileSystem"/>),
/// filled until the kernel answers ENOSPC: the output pumps keep draining (a flooding agent runs to its end, every line
/// reaches the subscribers), the log says it is failing (an event, the daemon's <see cref="LogWriteFaults"/>) and
/// counts what it dropped, and writing resumes once space returns, with a note of the gap in the log.
/// </summary>
public sealed class FullDiskTests : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDaemon _daemon = new();
    private readonly SmallFileSystem? _disk;
    private readonly IActorRef _sweeper;

    public FullDiskTests(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _sweeper = Sys.ActorOf(ProcessSweeper.Props(), "sweeper");
        if (SmallFileSystem.Missing.Value is null)
        {
            _disk = SmallFileSystem.Mount(_daemon.Context.LogDirectory, 512 * 1024);
        }
    }

    [FullDiskFact]
    public void A_log_on_a_full_disk_drops_and_counts_instead_of_throwing_and_resumes_with_a_note_when_space_returns()
    {
        var faults = new LogWriteFaults();
        using var sink = new LogSink(Path.Combine(_disk!.Path, "agent.log"), faults: faults);
        sink.WriteLine("before");
        _disk.Fill();

        var line = new byte[8192];
        Array.Fill(line, (byte)'x');
        line[^1] = (byte)'\n';
        for (var i = 0; i < 10; i++)
        {
            sink.Write(line); // never throws
        }

        sink.Flush();
        Assert.True(sink.Health.Failing);
        Assert.Contains("space", sink.Health.Error, StringComparison.OrdinalIgnoreCase);
        Assert.True(sink.Health.DroppedBytes >= 9 * 8192, $"{sink.Health.DroppedBytes} bytes dropped");
        Assert.Equal(1, sink.Health.Changes);
        Assert.Equal("agent.log", Assert.Single(faults.Failing).Log);
        Assert.Equal(sink.Health.DroppedBytes, faults.DroppedBytes);
        Assert.False(sink.Retry()); // still full: still failing

        _disk.Free();
        sink.WriteLine("after");

        Assert.False(sink.Health.Failing);
        Assert.Equal(2, sink.Health.Changes);
        Assert.Empty(faults.Failing);
        var text = File.ReadAllText(sink.Path);
        Assert.StartsWith("before\n", text);
        Assert.Matches(@"--- \S+ \d+ bytes of output were not written to this log so far \(.*space.*\)\n", text);
        Assert.EndsWith("after\n", text);
    }

    [FullDiskFact]
    public void A_failing_log_nothing_writes_to_resumes_when_it_is_tried_again()
    {
        var faults = new LogWriteFaults();
        using var sink = new LogSink(Path.Combine(_disk!.Path, "idle.log"), faults: faults);
        _disk.Fill();
        sink.WriteLine("lost");
        Assert.Equal(1, faults.FailingCount);

        _disk.Free();
        faults.Retry(); // what the readiness check does every time it looks

        Assert.Equal(0, faults.FailingCount);
        Assert.False(sink.Health.Failing);
        Assert.Contains("bytes of output were not written", File.ReadAllText(sink.Path));
    }

    [FullDiskFact]
    public async Task A_flooding_agent_on_a_full_disk_runs_to_its_end_every_line_streamed_and_its_log_resumes_when_space_returns()
    {
        const int lines = 50_000; // 4 MB of output: eight times the whole file system
        var flood = CreateTestProbe();
        var ticker = CreateTestProbe();
        Sys.EventStream.Subscribe(Sys.ActorOf(Props.Create(() => new ByAgent(flood.Ref, ticker.Ref))), typeof(AgentLogWrite));
        var counted = CreateTestProbe();
        Sys.EventStream.Subscribe(Sys.ActorOf(Props.Create(() => new LineCounter(counted.Ref, "flood", lines))), typeof(AgentOutput));
        _disk!.Fill();

        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(_sweeper, TestActor)));
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), [
            Specs.Agent("flood", "flood.sh", lines.ToString()) with { Restart = RestartType.Transient },
            Specs.Agent("ticker", "lines.sh", "100000", "0.05"),
        ], 1), TestActor);

        // the pumps kept draining: the flood ended by itself with every line delivered in order, and completed
        Assert.Equal(lines, await counted.ExpectMsgAsync<long>(TimeSpan.FromSeconds(90)));
        await AwaitConditionAsync(async () => (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single(a => a.Agent == "flood").State == AgentState.Completed, Wait);
        var failed = await flood.ExpectMsgAsync<AgentLogWrite>(Wait);
        Assert.True(failed.Failing);
        Assert.Contains("space", failed.Error, StringComparison.OrdinalIgnoreCase);
        Assert.True((await ticker.ExpectMsgAsync<AgentLogWrite>(Wait)).Failing);
        Assert.True(_daemon.Logs.For("flood").Health.DroppedBytes > 3_000_000, $"{_daemon.Logs.For("flood").Health.DroppedBytes} bytes dropped");
        Assert.Equal(["flood.log", "ticker.log"], _daemon.Logs.Faults.Failing.Select(f => f.Log));

        // space returns: the running ticker's log resumes at its next line (an event), the ended flood's when tried again
        _disk.Free();
        var resumed = await ticker.ExpectMsgAsync<AgentLogWrite>(Wait);
        Assert.False(resumed.Failing);
        Assert.Null(resumed.Error);
        _daemon.Logs.Faults.Retry();
        Assert.Equal(0, _daemon.Logs.Faults.FailingCount);
        var before = File.ReadAllLines(_daemon.Logs.PathOf("ticker")).Length;
        await AwaitConditionAsync(() => Task.FromResult(File.ReadAllLines(_daemon.Logs.PathOf("ticker")).Length > before + 3), Wait);
        Assert.Contains(File.ReadLines(_daemon.Logs.PathOf("ticker")), l => l.Contains("bytes of output were not written", StringComparison.Ordinal));
    }

    public new void Dispose()
    {
        Shutdown(verifySystemShutdown: false);
        _daemon.Logs.Dispose();
        _disk?.Dispose();
        _daemon.Dispose();
        base.Dispose();
    }

    /// <summary>Log-write events of the flood to one probe, of the ticker to the other.</summary>
    private sealed class ByAgent : ReceiveActor
    {
        public ByAgent(IActorRef flood, IActorRef ticker) =>
            Receive<AgentLogWrite>(e => (e.Agent == "flood" ? flood : ticker).Tell(e));
    }
}
