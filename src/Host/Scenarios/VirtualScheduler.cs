using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace DarkFactory.Host.Scenarios;

/// <summary>
/// The actor system's scheduler in a scenario sandbox (<c>akka.scheduler.implementation</c>): every timer
/// (<c>IWithTimers</c>, scheduled tells, Akka's own) waits on the sandbox's <see cref="VirtualTime"/>, found by
/// <c>akka.scheduler.virtual-time</c>, and fires when the runner moves the clock past it. It also keeps the actors'
/// background work (<see cref="IBackgroundWork"/>): the clock waits for a step in flight.
/// </summary>
public sealed class VirtualScheduler : IScheduler, IAdvancedScheduler, IBackgroundWork
{
    private readonly VirtualTime _time;

    public VirtualScheduler(Config config, ILoggingAdapter log)
    {
        _ = log;
        var id = config.GetString("akka.scheduler.virtual-time", null) ?? config.GetString("virtual-time", null)
            ?? throw new ConfigurationException("akka.scheduler.virtual-time is not set (the scenario sandbox sets it)");
        _time = VirtualTime.Find(id);
    }

    public DateTimeOffset Now => _time.Now;

    public TimeSpan MonotonicClock => _time.Now - _time.Start;

    public TimeSpan HighResMonotonicClock => MonotonicClock;

    public IAdvancedScheduler Advanced => this;

    public IDisposable Begin() => _time.Hold();

    public void ScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender) =>
        _time.Schedule(delay, () => receiver.Tell(message, sender), null);

    public void ScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        _time.Schedule(delay, () => receiver.Tell(message, sender), cancelable);

    public void ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender) =>
        Repeat(initialDelay, interval, () => receiver.Tell(message, sender), null);

    public void ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Repeat(initialDelay, interval, () => receiver.Tell(message, sender), cancelable);

    public void ScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) => _time.Schedule(delay, action, cancelable);

    public void ScheduleOnce(TimeSpan delay, Action action) => _time.Schedule(delay, action, null);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Repeat(initialDelay, interval, action, cancelable);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action) => Repeat(initialDelay, interval, action, null);

    public void ScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) => _time.Schedule(delay, action.Run, cancelable);

    public void ScheduleOnce(TimeSpan delay, IRunnable action) => _time.Schedule(delay, action.Run, null);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Repeat(initialDelay, interval, action.Run, cancelable);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action) => Repeat(initialDelay, interval, action.Run, null);

    private void Repeat(TimeSpan delay, TimeSpan interval, Action action, ICancelable? cancelable)
    {
        var every = interval > TimeSpan.Zero ? interval : TimeSpan.FromMilliseconds(1);
        _time.Schedule(delay, () =>
        {
            action();
            if (cancelable?.IsCancellationRequested != true)
            {
                Repeat(every, every, action, cancelable);
            }
        }, cancelable);
    }
}
