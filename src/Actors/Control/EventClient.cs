namespace DarkFactory.Actors.Control;

/// <summary>One event as a live client receives it: its SSE <c>event:</c> name (the manifest) and its JSON.</summary>
/// <param name="Id">Position in the bridge's stream (SSE <c>id:</c>), increasing.</param>
/// <param name="OutputAgent">Set for agent output: only clients that asked for this agent get it.</param>
public sealed record ServerEvent(long Id, string Name, string Data, string? OutputAgent = null)
{
    /// <summary>Bytes a queued event holds: its strings (UTF-16) and the record itself.</summary>
    public long Size { get; } = (2L * (Name.Length + Data.Length)) + 96;
}

/// <summary>What a client missed since it was last told: events dropped and the bytes they held.</summary>
public readonly record struct Lag(long Events, long Bytes)
{
    public bool Any => Events > 0;
}

/// <summary>
/// A live client of the event stream: a queue bounded in bytes between the event bridge (the only writer,
/// which never waits) and the HTTP response (the only reader). One output event can carry thousands of
/// lines, so the bound counts what the queued events hold, not how many there are: when a new event does
/// not fit, the oldest are dropped (and an event larger than the whole bound is dropped itself), counted,
/// and the reader reports them as a <c>lagged</c> event before the next ones. Once the client left
/// (<see cref="Close"/>) it holds nothing and takes nothing.
/// </summary>
public sealed class EventClient
{
    /// <summary>The default bound of one client's queue: 4 MiB.</summary>
    public const long DefaultMaxBytes = 4L * 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly Queue<ServerEvent> _queue = new();
    private long _bytes;
    private long _droppedEvents;
    private long _droppedBytes;
    private bool _completed;
    private readonly EventQueues? _totals;
    private TaskCompletionSource? _waiter;
    private bool _closed;

    /// <param name="totals">Where the client's queue is counted with the others' (metrics); none in unit tests.</param>
    public EventClient(long maxBytes = DefaultMaxBytes, IReadOnlySet<string>? outputAgents = null, EventQueues? totals = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        MaxBytes = maxBytes;
        OutputAgents = outputAgents ?? new HashSet<string>();
        _totals = totals;
        _totals?.Joined();
    }

    /// <summary>The most bytes this client's queue holds (<see cref="ServerEvent.Size"/> summed).</summary>
    public long MaxBytes { get; }

    /// <summary>Agents whose output this client asked for (<c>?output=a,b</c>).</summary>
    public IReadOnlySet<string> OutputAgents { get; }

    /// <summary>Bytes the queue holds now (never more than <see cref="MaxBytes"/>).</summary>
    public long QueuedBytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>The most bytes the queue ever held (for tests and the resource check).</summary>
    public long PeakBytes { get; private set; }

    public bool Wants(ServerEvent e) => e.OutputAgent is null || OutputAgents.Contains(e.OutputAgent);

    /// <summary>Queues an event without ever waiting: what does not fit pushes out the oldest events.</summary>
    public void Offer(ServerEvent e)
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            if (e.Size > MaxBytes)
            {
                Drop(e);
                return;
            }

            while (_bytes + e.Size > MaxBytes && _queue.TryDequeue(out var oldest))
            {
                Take(oldest);
                Drop(oldest);
            }

            _queue.Enqueue(e);
            _bytes += e.Size;
            _totals?.Queued(e.Size);
            PeakBytes = Math.Max(PeakBytes, _bytes);
            wake = _waiter;
            _waiter = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>The oldest queued event, if any.</summary>
    public bool TryRead(out ServerEvent e)
    {
        lock (_gate)
        {
            if (_queue.TryDequeue(out e!))
            {
                Take(e);
                return true;
            }

            return false;
        }
    }

    /// <summary>True once an event is queued; false when the client was completed and its queue is empty.</summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken ct)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_queue.Count > 0)
                {
                    return true;
                }

                if (_completed)
                {
                    return false;
                }

                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }

            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>What was dropped since the last call (and resets the counts).</summary>
    public Lag TakeLagged()
    {
        lock (_gate)
        {
            var lag = new Lag(_droppedEvents, _droppedBytes);
            _droppedEvents = 0;
            _droppedBytes = 0;
            return lag;
        }
    }

    /// <summary>No more events (the daemon is stopping): the reader ends once it drained the queue.</summary>
    public void Complete()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            _completed = true;
            wake = _waiter;
            _waiter = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>The client left: drop what it still held and take nothing more (once; later calls do nothing).</summary>
    public void Close()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            // completed under the same lock: an offer racing the close either landed before it (and is
            // returned here) or sees the client completed; never one in between that stays counted
            _closed = true;
            _completed = true;
            _totals?.Queued(-_bytes);
            _totals?.Left();
            _queue.Clear();
            _bytes = 0;
            wake = _waiter;
            _waiter = null;
        }

        wake?.TrySetResult();
    }

    private void Take(ServerEvent e)
    {
        _bytes -= e.Size;
        _totals?.Queued(-e.Size);
    }

    private void Drop(ServerEvent e)
    {
        _droppedEvents++;
        _droppedBytes += e.Size;
        _totals?.Dropped(1, e.Size);
    }
}
