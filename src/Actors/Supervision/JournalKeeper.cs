using DarkFactory.Actors.Persistence;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// Keeps one persistent actor alive across journal failures. Akka.Persistence stops a persistent actor
/// whose write or recovery fails (its state could not be made durable); a plain child would stay dead
/// until the daemon restarts, and the scheduler, Nightwatch ... would silently do nothing. The keeper
/// starts the child again after an exponential backoff (<see cref="Backoff"/>: 1 s, 2 s ... 60 s with
/// jitter, reset once a child has lived <see cref="BackoffSpec.ResetAfter"/>), gives the new child
/// the last <see cref="ApplyFleet"/> it forwarded (so it does not wait for a reload to know the fleet)
/// and forwards what arrived meanwhile (bounded; the oldest go to dead letters). Everything else is
/// forwarded unchanged, sender preserved, so asks answer from the child. Exceptions inside the child
/// keep the default supervision (restart in place). <see cref="StopPersistent"/> stops the child after its journal
/// writes in flight and then the keeper (a cluster singleton's hand-over), without a restart.
/// </summary>
public sealed class JournalKeeper : UntypedActor, IWithTimers
{
    /// <summary>Messages kept while the child is down.</summary>
    public const int BufferLimit = 1_000;

    private const string RespawnTimer = "respawn";
    private const string ResetTimer = "reset";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Props _child;
    private readonly string _name;
    private readonly BackoffSpec _backoff;
    private readonly Func<double> _random;
    private readonly Queue<(object Message, IActorRef Sender)> _buffer = new();
    private IActorRef? _current;
    private ApplyFleet? _fleet;
    private int _failures;
    private bool _stopping;

    public JournalKeeper(Props child, string name, BackoffSpec backoff, Func<double> random)
    {
        _child = child;
        _name = name;
        _backoff = backoff;
        _random = random;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="child">The persistent actor's props.</param>
    /// <param name="name">The child's name (the keeper usually has the same one).</param>
    /// <param name="backoff">Delays between restarts (default: 1 s .. 60 s, 20 % jitter, reset after 30 s up).</param>
    /// <param name="random">Jitter source in [0, 1) (tests inject a constant).</param>
    public static Props Props(Props child, string name, BackoffSpec? backoff = null, Func<double>? random = null) =>
        Akka.Actor.Props.Create<JournalKeeper>(child, name, backoff ?? new BackoffSpec(), random ?? Random.Shared.NextDouble);

    protected override void PreStart() => Spawn();

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Terminated t when t.ActorRef.Equals(_current) && _stopping:
                Context.Stop(Self);
                break;
            case Terminated t when t.ActorRef.Equals(_current):
                OnChildStopped();
                break;
            case StopPersistent stop:
                _stopping = true;
                Timers.CancelAll();
                if (_current is null)
                {
                    Context.Stop(Self);
                }
                else
                {
                    _current.Tell(stop, Self);
                }

                break;
            case Terminated:
                break;
            case Respawn:
                Spawn();
                break;
            case ResetBackoff:
                _failures = 0;
                break;
            case ApplyFleet apply:
                _fleet = apply; // the latest revision is what a new child needs; no need to buffer older ones
                _current?.Forward(apply);
                break;
            default:
                if (_current is not null)
                {
                    _current.Forward(message);
                }
                else
                {
                    Buffer(message);
                }

                break;
        }
    }

    private void Spawn()
    {
        _current = Context.Watch(Context.ActorOf(_child, _name));
        if (_fleet is not null)
        {
            _current.Tell(_fleet, Self);
        }

        while (_buffer.TryDequeue(out var held))
        {
            _current.Tell(held.Message, held.Sender);
        }

        Timers.StartSingleTimer(ResetTimer, ResetBackoff.Instance, _backoff.ResetAfter);
    }

    private void OnChildStopped()
    {
        _current = null;
        _failures++;
        Timers.Cancel(ResetTimer);
        var delay = Backoff.Delay(_backoff, _failures, _random());
        _log.Warning(
            "[{0}] stopped (its journal failed: a write or its recovery); starting it again in {1:0.0} s (attempt {2})",
            _name, delay.TotalSeconds, _failures);
        Timers.StartSingleTimer(RespawnTimer, Respawn.Instance, delay);
    }

    private void Buffer(object message)
    {
        if (_buffer.Count >= BufferLimit)
        {
            var (oldest, sender) = _buffer.Dequeue();
            Context.System.DeadLetters.Tell(new DeadLetter(oldest, sender, Self));
        }

        _buffer.Enqueue((message, Sender));
    }

    private sealed record Respawn : Signal<Respawn>;

    private sealed record ResetBackoff : Signal<ResetBackoff>;
}
