using System.Threading.Channels;

namespace DarkFactory.Actors.Control;

/// <summary>One event as a live client receives it: its SSE <c>event:</c> name (the manifest) and its JSON.</summary>
/// <param name="Id">Position in the bridge's stream (SSE <c>id:</c>), increasing.</param>
/// <param name="OutputAgent">Set for agent output: only clients that asked for this agent get it.</param>
public sealed record ServerEvent(long Id, string Name, string Data, string? OutputAgent = null);

/// <summary>
/// A live client of the event stream: a bounded queue between the event bridge (the only writer, which
/// never waits) and the HTTP response (the only reader). When the client falls behind, the oldest events
/// are dropped and counted; the reader reports the count as a <c>lagged</c> event before the next ones.
/// </summary>
public sealed class EventClient
{
    private readonly Channel<ServerEvent> _channel;
    private long _dropped;

    public EventClient(int capacity, IReadOnlySet<string>? outputAgents = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        OutputAgents = outputAgents ?? new HashSet<string>();
        _channel = Channel.CreateBounded<ServerEvent>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>Agents whose output this client asked for (<c>?output=a,b</c>).</summary>
    public IReadOnlySet<string> OutputAgents { get; }

    public ChannelReader<ServerEvent> Reader => _channel.Reader;

    public bool Wants(ServerEvent e) => e.OutputAgent is null || OutputAgents.Contains(e.OutputAgent);

    /// <summary>Queues an event without ever waiting: a full queue drops its oldest event.</summary>
    public void Offer(ServerEvent e) => _channel.Writer.TryWrite(e);

    /// <summary>Events dropped since the last call (and resets the count).</summary>
    public long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

    /// <summary>No more events (the daemon is stopping): the reader ends once it drained the queue.</summary>
    public void Complete() => _channel.Writer.TryComplete();
}
