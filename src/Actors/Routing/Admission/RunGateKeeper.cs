using DarkFactory.Actors.Topics;

namespace DarkFactory.Actors.Routing.Admission;

/// <summary>
/// Keeps the node's <see cref="RunGate"/> going: feeds it the token usage its runs report
/// (<see cref="AgentUsage"/>, for <c>tokens_per_minute</c>) and wakes it when a per-minute window slides so a
/// waiting run starts then.
/// </summary>
public sealed class RunGateKeeper : ReceiveActor, IWithTimers
{
    private const string WakeTimer = "wake";
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly RunGate _gate;
    private readonly TimeProvider _clock;

    public RunGateKeeper(RunGate gate, TimeProvider clock)
    {
        _gate = gate;
        _clock = clock;
        Receive<AgentUsage>(gate.Used);
        Receive<WakeAt>(m => Timers.StartSingleTimer(WakeTimer, Wake.Instance, m.At > _clock.GetUtcNow() ? m.At - _clock.GetUtcNow() : TimeSpan.Zero));
        Receive<Wake>(_ => _gate.Wake());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(RunGate gate, TimeProvider clock) => Akka.Actor.Props.Create(() => new RunGateKeeper(gate, clock));

    protected override void PreStart()
    {
        _topics.Subscribe(Self, typeof(AgentUsage));
        _gate.Attach(Self);
    }

    protected override void PostStop() => _topics.Unsubscribe(Self);

    /// <summary>From the gate: wake it at <paramref name="At"/> (replaces the previous wake-up).</summary>
    public sealed record WakeAt(DateTimeOffset At);

    private sealed record Wake : Signal<Wake>;
}
