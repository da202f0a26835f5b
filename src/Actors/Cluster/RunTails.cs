using DarkFactory.Actors.Output;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// The tails of the newest runs' output on one node (pure; the actor's): a run is known from its start
/// (<see cref="AgentLifecycle"/> Started, so a run that printed nothing answers an empty tail) or its first output, and
/// keeps its last <see cref="GetRunOutput.MaxTailChars"/> characters. Bounded: the newest <c>maxRuns</c> runs (the
/// oldest known is forgotten first), at most <c>maxRuns</c> × 2,000 characters in all.
/// </summary>
public sealed class RunTails(int maxRuns = RunTails.DefaultRuns)
{
    public const int DefaultRuns = 32;

    private readonly Dictionary<string, (string Agent, BoundedText Text)> _runs = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public int Count => _runs.Count;

    public void Started(AgentLifecycle e)
    {
        if (e is { Kind: LifecycleKind.Started, RunId: { } run })
        {
            Of(e.Agent, run);
        }
    }

    /// <summary>Keeps the batch's last lines that fill the tail: a flood's batch of thousands of lines (a <see cref="LineBatch"/>) makes a string of those few only.</summary>
    public void Output(AgentOutput o)
    {
        var text = Of(o.Agent, o.RunId);
        var lines = o.Lines;
        var from = lines.Count;
        for (var chars = 0; from > 0 && chars < GetRunOutput.MaxTailChars;)
        {
            from--;
            chars += 1 + (lines is LineBatch b ? (b.Ascii ? b.Length(from) : b.Length(from) / 4) : lines[from].Text.Length); // UTF-8: at least a char per 4 bytes
        }

        for (var i = from; i < lines.Count; i++)
        {
            text.AppendLine(lines[i].Text);
        }
    }

    /// <summary>The run's tail (<see cref="RunOutputOutcome.Found"/>), or <see cref="RunOutputOutcome.NotKept"/> naming <paramref name="node"/>.</summary>
    public RunOutput Answer(GetRunOutput q, string node)
    {
        if (!_runs.TryGetValue(q.RunId, out var run) || run.Agent != q.Agent)
        {
            return new RunOutput(q.Agent, q.RunId, RunOutputOutcome.NotKept, Node: node,
                Reason: $"node {node} keeps no output of run {q.RunId} of agent '{q.Agent}' (it keeps the newest {maxRuns} runs it started since the daemon started)");
        }

        var text = run.Text.ToString().Trim();
        var max = Math.Clamp(q.MaxChars, 0, GetRunOutput.MaxTailChars);
        return new RunOutput(q.Agent, q.RunId, RunOutputOutcome.Found, text.Length > max ? text[^max..] : text, node);
    }

    private BoundedText Of(string agent, string run)
    {
        if (_runs.TryGetValue(run, out var known))
        {
            return known.Text;
        }

        while (_runs.Count >= maxRuns && _order.TryDequeue(out var oldest))
        {
            _runs.Remove(oldest);
        }

        var text = new BoundedText(GetRunOutput.MaxTailChars, tail: true);
        _runs[run] = (agent, text);
        _order.Enqueue(run);
        return text;
    }
}

/// <summary>
/// A cluster node's <see cref="RunTails"/> (one per node, <c>/user/run-tails</c>): hears this node's runs' starts and
/// output (an output consumer like the review, taking each batch at once) and answers <see cref="GetRunOutput"/> from
/// another node's review (through this node's <c>placement-node</c>) or this node's own <see cref="ClusterFactory"/>.
/// </summary>
public sealed class RunTailsActor : ReceiveActor
{
    public const string ActorName = "run-tails";

    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly RunTails _tails;
    private OutputConsumer? _output;

    public RunTailsActor(string node, int maxRuns)
    {
        _tails = new RunTails(maxRuns);
        Receive<AgentOutput>(o =>
        {
            _output?.Taken(o);
            _tails.Output(o);
        });
        Receive<AgentLifecycle>(_tails.Started);
        Receive<GetRunOutput>(q => Sender.Tell(_tails.Answer(q, node)));
    }

    public static Props Props(string node, int maxRuns = RunTails.DefaultRuns) => Akka.Actor.Props.Create(() => new RunTailsActor(node, maxRuns));

    protected override void PreStart()
    {
        _topics.Subscribe(Self, typeof(AgentLifecycle));
        _topics.Subscribe(Self, typeof(AgentOutput));
        _output = OutputFlow.For(Context.System).Join("run-tails");
    }

    protected override void PostStop()
    {
        _output?.Dispose();
        _topics.Unsubscribe(Self);
    }
}
