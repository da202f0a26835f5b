using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Output;

/// <summary>
/// Agent output's fan-out is bounded (issue 15): a run's batch holds one of its 16 credits until every consumer took
/// it out of its mailbox, so a consumer that falls behind pauses the run's pumps (the pipe then holds the agent back)
/// instead of piling batches up in its mailbox. The pure rules first, then a real flood against a consumer that does
/// not read.
/// </summary>
public sealed class OutputFlowTests : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TempDaemon _daemon = new();
    private readonly ITestOutputHelper _output;

    public OutputFlowTests(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _output = output;
    }

    private static AgentOutput Batch(string run, long seq, int lines = 1) =>
        new("a", run, seq, DateTimeOffset.UnixEpoch, Enumerable.Range(0, lines).Select(i => new OutputLine(OutputStream.Stdout, "line " + i, OutputKind.Text)).ToList());

    [Fact]
    public void Without_consumers_a_batch_is_released_at_once()
    {
        var flow = new OutputFlow();
        var released = 0;
        flow.Track(Batch("r", 0), 100, () => released++);
        Assert.Equal(1, released);
        Assert.Equal(0, flow.InFlightBytes);
        Assert.Equal(0, flow.InFlightBatches);
    }

    [Fact]
    public void A_batch_is_released_once_every_consumer_took_it_and_taking_it_twice_counts_once()
    {
        var flow = new OutputFlow();
        using var events = flow.Join("events");
        using var nightwatch = flow.Join("nightwatch");
        var released = 0;
        var batch = Batch("r", 0);
        flow.Track(batch, 100, () => released++);
        Assert.Equal(100, flow.InFlightBytes);
        Assert.Equal(new[] { ("events", 100L), ("nightwatch", 100L) }, flow.Waiting());

        events.Taken(batch);
        events.Taken(batch);
        Assert.Equal(0, released);
        Assert.Equal(new[] { ("events", 0L), ("nightwatch", 100L) }, flow.Waiting());

        nightwatch.Taken(batch);
        Assert.Equal(1, released);
        Assert.Equal(0, flow.InFlightBytes);
        Assert.Equal(100, flow.PeakBytes);
        nightwatch.Taken(batch); // late or copied: nothing to release twice
        Assert.Equal(1, released);
    }

    [Fact]
    public void A_batch_is_keyed_by_its_run_and_first_sequence_number_so_a_copy_counts_as_the_same_batch()
    {
        var flow = new OutputFlow();
        using var consumer = flow.Join("c");
        var released = 0;
        flow.Track(Batch("r", 7), 10, () => released++);
        flow.Track(Batch("other", 7), 10, () => released++);
        consumer.Taken(Batch("r", 7)); // a copy (serialized across a boundary) is the same batch
        Assert.Equal(1, released);
        Assert.Equal(1, flow.InFlightBatches);
    }

    [Fact]
    public void A_consumer_that_joined_after_a_batch_is_not_waited_for_on_that_batch()
    {
        var flow = new OutputFlow();
        using var early = flow.Join("early");
        var released = 0;
        var before = Batch("r", 0);
        flow.Track(before, 10, () => released++);
        using var late = flow.Join("late");
        late.Taken(before); // it got the batch, but was not counted for it: no effect
        Assert.Equal(0, released);
        early.Taken(before);
        Assert.Equal(1, released);

        var after = Batch("r", 1);
        flow.Track(after, 10, () => released++);
        early.Taken(after);
        Assert.Equal(1, released); // the late one is waited for now
        late.Taken(after);
        Assert.Equal(2, released);
    }

    [Fact]
    public void A_consumer_that_leaves_or_restarts_holds_nothing_back()
    {
        var flow = new OutputFlow();
        using var fast = flow.Join("fast");
        var stuck = flow.Join("stuck");
        var released = 0;
        for (var i = 0; i < 16; i++)
        {
            var b = Batch("r", i);
            flow.Track(b, 10, () => released++);
            fast.Taken(b);
        }

        Assert.Equal(0, released);
        stuck.Dispose(); // PostStop (a restart runs it too)
        Assert.Equal(16, released);
        Assert.Equal(0, flow.InFlightBytes);
        Assert.Equal(new[] { ("fast", 0L) }, flow.Waiting());

        // its slot is free for the restarted actor, which waits for new batches only
        using var again = flow.Join("stuck");
        stuck.Taken(Batch("r", 0)); // the old handle does nothing any more
        flow.Track(Batch("r", 16), 10, () => released++);
        fast.Taken(Batch("r", 16));
        Assert.Equal(16, released);
        again.Taken(Batch("r", 16));
        Assert.Equal(17, released);
    }

    [Fact]
    public void More_consumers_than_the_mask_holds_is_an_error_naming_the_limit()
    {
        var flow = new OutputFlow();
        var all = Enumerable.Range(0, OutputFlow.MaxConsumers).Select(i => flow.Join("c" + i)).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => flow.Join("one more"));
        Assert.Contains("64", e.Message, StringComparison.Ordinal);
        all[3].Dispose();
        using var fits = flow.Join("fits");
        all.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task A_run_s_credits_pause_its_pump_until_one_comes_back_and_open_once_its_process_exited()
    {
        var flow = new OutputFlow();
        var credits = new RunCredits(2, flow);
        await credits.TakeAsync(CancellationToken.None);
        await credits.TakeAsync(CancellationToken.None);
        var third = credits.TakeAsync(CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted);
        Assert.Equal(1, flow.Pauses); // counted when the wait begins, its time when it ends

        credits.Return();
        await third.WaitAsync(Wait);
        Assert.True(flow.Paused > TimeSpan.Zero);

        var fourth = credits.TakeAsync(CancellationToken.None).AsTask();
        Assert.False(fourth.IsCompleted);
        credits.Open(); // the process exited: the pumps drain the pipes without waiting
        await fourth.WaitAsync(Wait);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(credits.TakeAsync(CancellationToken.None).IsCompletedSuccessfully);
        }

        credits.Return(); // a late credit from a consumer never throws
    }

    [Fact]
    public async Task A_flood_against_a_consumer_that_does_not_read_pauses_the_agent_within_the_bound_and_loses_nothing()
    {
        const int lines = 400_000; // 32 MB of output, ~90 MB as batches in memory: far over the bound
        var flow = OutputFlow.For(Sys);
        var slow = CreateTestProbe();
        FleetTopics.For(Sys).Subscribe(slow.Ref, typeof(AgentOutput));
        using var consumer = flow.Join("slow");
        var sweeper = Sys.ActorOf(ProcessSweeper.Props(), "sweeper");
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(sweeper, TestActor)));
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), [Specs.Agent("flood", "flood.sh", lines.ToString()) with { Restart = RestartType.Transient }], 1), TestActor);

        // 16 batches of at most 4,096 lines (79 characters here) are all a run may have in flight
        var line = new string('x', 79);
        var bound = 16 * OutputFlow.SizeOf(Enumerable.Repeat(new OutputLine(OutputStream.Stdout, line, OutputKind.Text), 4096).ToList());

        // the consumer reads nothing: the pump pauses with the run's batches all in its mailbox
        await AwaitConditionAsync(() => Task.FromResult(flow.Pauses > 0 && flow.InFlightBatches == 16), Wait);
        var log = _daemon.Logs.PathOf("flood");
        var held = new FileInfo(log).Length;
        Assert.True(held < lines * 80L / 2, $"the log holds {held} bytes: the agent was not held back");

        // the actors stay responsive while the agent waits on its pipe (nothing blocks a mailbox)
        var snapshot = await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait);
        Assert.Equal(AgentState.Running, snapshot.Agents.Single(a => a.Agent == "flood").State);
        Assert.True(flow.InFlightBytes <= bound, $"{flow.InFlightBytes} bytes in flight, bound {bound}");

        // it reads now: every line arrives, in order, and the mailbox never held more than the bound
        long seen = 0;
        while (seen < lines)
        {
            var batch = await slow.ExpectMsgAsync<AgentOutput>(Wait);
            Assert.Equal(seen, batch.FirstSeq);
            seen += batch.Lines.Count;
            consumer.Taken(batch);
        }

        Assert.Equal(lines, seen);
        Assert.True(flow.PeakBytes <= bound, $"peak {flow.PeakBytes} bytes in flight, bound {bound}");
        await AwaitConditionAsync(async () => (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single(a => a.Agent == "flood").State == AgentState.Completed, Wait);
        _output.WriteLine($"paused {flow.Pauses} times, {flow.Paused.TotalSeconds:F1} s; peak {flow.PeakBytes / 1024} KiB in flight (bound {bound / 1024} KiB)");
    }

    public new void Dispose()
    {
        Shutdown(verifySystemShutdown: false);
        _daemon.Logs.Dispose();
        _daemon.Dispose();
        base.Dispose();
    }
}
