namespace DarkFactory.Actors.Control;

/// <summary>
/// The live clients' queues taken together, for metrics: how many clients are connected, the bytes their
/// queues hold and what they dropped. Each <see cref="EventClient"/> adds to it as it queues and drops;
/// thread-safe (the bridge writes, the HTTP handlers read, the exporter observes).
/// </summary>
public sealed class EventQueues
{
    private long _clients;
    private long _bytes;
    private long _droppedEvents;
    private long _droppedBytes;

    public long Clients => Interlocked.Read(ref _clients);

    public long QueuedBytes => Interlocked.Read(ref _bytes);

    public long DroppedEvents => Interlocked.Read(ref _droppedEvents);

    public long DroppedBytes => Interlocked.Read(ref _droppedBytes);

    internal void Joined() => Interlocked.Increment(ref _clients);

    internal void Left() => Interlocked.Decrement(ref _clients);

    internal void Queued(long bytes) => Interlocked.Add(ref _bytes, bytes);

    internal void Dropped(long events, long bytes)
    {
        Interlocked.Add(ref _droppedEvents, events);
        Interlocked.Add(ref _droppedBytes, bytes);
    }
}
