using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace DarkFactory.Actors.Output;

/// <summary>
/// Bounds the agent output that waits in the mailboxes of the actors that consume it (the event bridge,
/// telemetry, Nightwatch, projects, the compound review). A run's batch is <see cref="Track"/>ed before it is
/// published and holds one of the run's credits (<see cref="RunCredits"/>) until every consumer that was
/// present has <see cref="OutputConsumer.Taken"/> it out of its mailbox; a run whose credits are all out pauses
/// its pumps, the pipe fills and the agent blocks on write. Nothing is dropped: the slowest consumer sets the
/// pace. A consumer that leaves (<see cref="OutputConsumer.Dispose"/>: PostStop, also on a restart) holds
/// nothing back; one that joins later is waited for from its first batch on. Consumers of another node
/// (DistributedPubSub) are not counted here. Thread-safe; it touches no actor.
/// </summary>
public sealed class OutputFlow : IExtension
{
    /// <summary>At most this many consumers at once (one bit each).</summary>
    public const int MaxConsumers = 64;

    private readonly Lock _gate = new();
    private readonly string?[] _names = new string?[MaxConsumers];
    private readonly ConcurrentDictionary<(string RunId, long Seq), Pending> _pending = new();
    private long _members;
    private long _bytes;
    private long _peakBytes;
    private long _pauses;
    private long _pausedTicks;

    public static OutputFlow For(ActorSystem system) => system.WithExtension<OutputFlow, OutputFlowProvider>();

    /// <summary>Bytes of published batches some present consumer has not taken yet (all runs).</summary>
    public long InFlightBytes => Interlocked.Read(ref _bytes);

    /// <summary>The most <see cref="InFlightBytes"/> ever held.</summary>
    public long PeakBytes => Interlocked.Read(ref _peakBytes);

    /// <summary>Batches published and not yet taken by every consumer.</summary>
    public int InFlightBatches => _pending.Count;

    /// <summary>Times a run's pump waited because its run's batches were all in flight.</summary>
    public long Pauses => Interlocked.Read(ref _pauses);

    /// <summary>Time the pumps spent waiting for a credit, all together (a wait counts once it ended).</summary>
    public TimeSpan Paused => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _pausedTicks));

    /// <summary>What a batch holds in memory, roughly: its strings (UTF-16) and the records around them, or a <see cref="LineBatch"/>'s bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per line of every batch (see OutputPump.Split)
    public static long SizeOf(IReadOnlyList<OutputLine> lines)
    {
        if (lines is LineBatch batch)
        {
            return 96 + batch.ByteCount + (8L * batch.Count); // its bytes and bounds (the strings a consumer makes of it are its own)
        }

        long bytes = 96;
        foreach (var line in lines)
        {
            bytes += (2L * line.Text.Length) + 72;
        }

        return bytes;
    }

    /// <summary>A consumer from now on: every batch tracked after this call waits until it took it.</summary>
    /// <param name="name">Names it in the metrics (<c>df_output_waiting_bytes{consumer}</c>).</param>
    public OutputConsumer Join(string name)
    {
        lock (_gate)
        {
            var members = Interlocked.Read(ref _members);
            for (var i = 0; i < MaxConsumers; i++)
            {
                var bit = 1L << i;
                if ((members & bit) == 0)
                {
                    _names[i] = name;
                    Interlocked.Exchange(ref _members, members | bit);
                    return new OutputConsumer(this, bit, name);
                }
            }
        }

        throw new InvalidOperationException($"more than {MaxConsumers} consumers of agent output");
    }

    /// <summary>
    /// A batch about to be published: <paramref name="release"/> runs once every consumer present now has taken
    /// it (at once when there is none). The key is the batch's run and first sequence number.
    /// </summary>
    public void Track(AgentOutput batch, long bytes, Action release)
    {
        var mask = Interlocked.Read(ref _members);
        if (mask == 0)
        {
            release();
            return;
        }

        var pending = new Pending(mask, bytes, release);
        if (!_pending.TryAdd((batch.RunId, batch.FirstSeq), pending))
        {
            release(); // the same batch twice: the first one's count stands
            return;
        }

        var now = Interlocked.Add(ref _bytes, bytes);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peakBytes)) && Interlocked.CompareExchange(ref _peakBytes, now, peak) != peak)
        {
        }
    }

    /// <summary>Bytes waiting for each present consumer (for the metrics), by its name.</summary>
    public IReadOnlyList<(string Consumer, long Bytes)> Waiting()
    {
        var members = Interlocked.Read(ref _members);
        var bytes = new long[MaxConsumers];
        foreach (var p in _pending.Values)
        {
            var mask = Interlocked.Read(ref p.Mask);
            for (var i = 0; i < MaxConsumers && mask != 0; i++, mask >>= 1)
            {
                if ((mask & 1) != 0)
                {
                    bytes[i] += p.Bytes;
                }
            }
        }

        var result = new List<(string, long)>();
        lock (_gate)
        {
            for (var i = 0; i < MaxConsumers; i++)
            {
                if ((members & (1L << i)) != 0 && _names[i] is { } name)
                {
                    result.Add((name, bytes[i]));
                }
            }
        }

        return result;
    }

    internal void Taken(long bit, AgentOutput batch)
    {
        if (_pending.TryGetValue((batch.RunId, batch.FirstSeq), out var pending))
        {
            Clear((batch.RunId, batch.FirstSeq), pending, bit);
        }
    }

    internal void Leave(long bit)
    {
        lock (_gate)
        {
            Interlocked.And(ref _members, ~bit);
        }

        foreach (var (key, pending) in _pending)
        {
            Clear(key, pending, bit);
        }
    }

    internal void Pausing() => Interlocked.Increment(ref _pauses);

    internal void Resumed(TimeSpan waited) => Interlocked.Add(ref _pausedTicks, (long)(waited.TotalSeconds * Stopwatch.Frequency));

    private void Clear((string, long) key, Pending pending, long bit)
    {
        long before, after;
        do
        {
            before = Interlocked.Read(ref pending.Mask);
            if ((before & bit) == 0)
            {
                return; // not waited for: it joined after the batch was tracked, or took it already
            }

            after = before & ~bit;
        }
        while (Interlocked.CompareExchange(ref pending.Mask, after, before) != before);

        if (after == 0 && _pending.TryRemove(key, out _))
        {
            Interlocked.Add(ref _bytes, -pending.Bytes);
            pending.Release();
        }
    }

    private sealed class Pending(long mask, long bytes, Action release)
    {
        public long Mask = mask;
        public readonly long Bytes = bytes;
        public readonly Action Release = release;
    }
}

/// <summary>Creates the node's <see cref="OutputFlow"/> once per actor system.</summary>
public sealed class OutputFlowProvider : ExtensionIdProvider<OutputFlow>
{
    public override OutputFlow CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>
/// One consumer of agent output (an actor that subscribes to <see cref="AgentOutput"/>): it joins in PreStart
/// (after subscribing), calls <see cref="Taken"/> first thing for each batch it receives, and is disposed in
/// PostStop (which a restart runs too), so a stopped consumer never holds a run back.
/// </summary>
public sealed class OutputConsumer : IDisposable
{
    private readonly OutputFlow _flow;
    private readonly long _bit;
    private int _left;

    internal OutputConsumer(OutputFlow flow, long bit, string name)
    {
        _flow = flow;
        _bit = bit;
        Name = name;
    }

    public string Name { get; }

    /// <summary>The batch is out of the mailbox: it no longer holds its run back on this consumer's account.</summary>
    public void Taken(AgentOutput batch)
    {
        if (Volatile.Read(ref _left) == 0)
        {
            _flow.Taken(_bit, batch);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _left, 1) == 0)
        {
            _flow.Leave(_bit);
        }
    }
}

/// <summary>
/// A run's credits: how many of its batches may be in flight (sent by a pump, not yet taken by every consumer).
/// A pump takes one per batch and waits (asynchronously, never on a mailbox) when none is left; the flow gives
/// it back. Once the run's process has exited, <see cref="Open"/> lets the pumps drain what is left in the pipes
/// without waiting (a pipe holds little; an escaped descendant writing on is cut by the drain timeout).
/// </summary>
internal sealed class RunCredits(int max, OutputFlow? flow)
{
    private readonly SemaphoreSlim _available = new(max, int.MaxValue);
    private volatile bool _open;

    public async ValueTask TakeAsync(CancellationToken cancel)
    {
        if (_open || _available.Wait(0))
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        flow?.Pausing();
        try
        {
            await _available.WaitAsync(cancel).ConfigureAwait(false);
        }
        finally
        {
            flow?.Resumed(Stopwatch.GetElapsedTime(started));
        }
    }

    public void Return() => _available.Release();

    /// <summary>No more waiting: the run's process has exited (its two pumps are woken).</summary>
    public void Open()
    {
        _open = true;
        _available.Release(2);
    }
}
