using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Cluster;
using DarkFactory.Actors.Output;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// A node's tails of its newest runs' output (<see cref="RunTails"/>, <see cref="RunTailsActor"/>), which another node's
/// compound review asks for its agent's summary: the run's last 2,000 characters, an empty tail for a run that printed
/// nothing, a typed "not kept" naming the node for a run it does not have (forgotten past the bound, another agent's id),
/// and the actor hears the node's own event stream and takes each batch out of the output flow.
/// </summary>
public sealed class RunTailsSpec(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 19, 0, 0, TimeSpan.Zero);

    private static AgentOutput Lines(string agent, string run, params string[] lines) =>
        new(agent, run, 0, At, [.. lines.Select(l => new OutputLine(OutputStream.Stdout, l))]);

    [Fact]
    public void A_run_answers_its_tail_bounded_and_a_run_not_kept_is_said_so_naming_the_node()
    {
        var tails = new RunTails(maxRuns: 2);
        tails.Started(new AgentLifecycle("fixer", LifecycleKind.Started, At, "r1"));
        Assert.Equal((RunOutputOutcome.Found, string.Empty, "n3"), Outcome(tails.Answer(new GetRunOutput("fixer", "r1"), "n3"))); // printed nothing

        tails.Output(Lines("fixer", "r1", "working", "summary: done"));
        Assert.Equal("working\nsummary: done", tails.Answer(new GetRunOutput("fixer", "r1"), "n3").Text);
        Assert.Equal("done", tails.Answer(new GetRunOutput("fixer", "r1", MaxChars: 4), "n3").Text);

        // the last 2,000 characters of a long run, never more
        tails.Output(Lines("fixer", "r1", [.. Enumerable.Range(0, 500).Select(i => $"line {i:D4}")]));
        var tail = tails.Answer(new GetRunOutput("fixer", "r1", MaxChars: 100_000), "n3").Text;
        Assert.True(tail.Length <= GetRunOutput.MaxTailChars, $"{tail.Length} characters");
        Assert.EndsWith("line 0499", tail);

        // a flood's batch of 20,000 lines as the pump sends it (bytes and bounds): the same tail
        var bytes = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 20_000).Select(i => $"flood {i:D5}\n")));
        var bounds = Enumerable.Range(0, 20_000).SelectMany(i => new[] { i * 12, 11 }).ToArray();
        tails.Output(new AgentOutput("fixer", "r1", 0, At, new LineBatch(OutputStream.Stdout, bytes, bounds, 20_000, ascii: true)));
        var flood = tails.Answer(new GetRunOutput("fixer", "r1"), "n3").Text;
        Assert.EndsWith("flood 19998\nflood 19999", flood);
        Assert.InRange(flood.Length, GetRunOutput.MaxTailChars - 12, GetRunOutput.MaxTailChars);

        // another agent's id, an unknown run, and the oldest run once the bound is reached: not kept, naming the node
        Assert.Equal(RunOutputOutcome.NotKept, tails.Answer(new GetRunOutput("other", "r1"), "n3").Outcome);
        tails.Output(Lines("coder", "r2", "a"));
        tails.Output(Lines("coder", "r3", "b"));
        var forgotten = tails.Answer(new GetRunOutput("fixer", "r1"), "n3");
        Assert.Equal((RunOutputOutcome.NotKept, string.Empty, "n3"), Outcome(forgotten));
        Assert.Contains("node n3 keeps no output of run r1 of agent 'fixer'", forgotten.Reason);
        Assert.Equal(2, tails.Count);
        Assert.Equal("b", tails.Answer(new GetRunOutput("coder", "r3"), "n3").Text);
    }

    [Fact]
    public async Task The_actor_hears_the_nodes_runs_takes_each_batch_out_of_the_output_flow_and_answers_the_asker()
    {
        var tails = Sys.ActorOf(RunTailsActor.Props("n2"));
        var before = await tails.Ask<RunOutput>(new GetRunOutput("fixer", "r9"), TimeSpan.FromSeconds(5)); // (answered: it has subscribed and joined)
        Assert.Equal(RunOutputOutcome.NotKept, before.Outcome);

        var released = new TaskCompletionSource();
        var batch = Lines("fixer", "r9", "cwd: /wt", "summary: fix done");
        OutputFlow.For(Sys).Track(batch, 100, () => released.TrySetResult()); // held until every consumer took it: run-tails is one
        Sys.EventStream.Publish(new AgentLifecycle("fixer", LifecycleKind.Started, At, "r9"));
        Sys.EventStream.Publish(batch);

        await released.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var answer = await tails.Ask<RunOutput>(new GetRunOutput("fixer", "r9"), TimeSpan.FromSeconds(5));
        Assert.Equal((RunOutputOutcome.Found, "cwd: /wt\nsummary: fix done", "n2"), Outcome(answer));
    }

    private static (RunOutputOutcome, string, string?) Outcome(RunOutput o) => (o.Outcome, o.Text, o.Node);
}
