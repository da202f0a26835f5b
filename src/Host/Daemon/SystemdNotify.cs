using Akka.Hosting;
using Microsoft.Extensions.Hosting.Systemd;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// The daemon's side of <c>Type=notify</c> (deploy/systemd/darkfactory.service), through
/// Microsoft.Extensions.Hosting.Systemd's notifier (inactive without <c>NOTIFY_SOCKET</c>): <c>READY=1</c> once
/// the fleet is applied (not when the web host starts), <c>WATCHDOG=1</c> every half <c>WATCHDOG_USEC</c> while
/// the actor system answers (<see cref="Readiness.ActorTreeAsync"/>: the factory answers a fleet query within that
/// time), <c>STATUS=</c> the readiness reason when it changes (<see cref="Readiness"/>), <c>STOPPING=1</c> when the
/// drain begins. A stuck or dead actor system stops feeding the watchdog and systemd restarts the daemon.
/// </summary>
public sealed partial class SystemdNotify(ISystemdNotifier notifier, Readiness readiness, ILogger<SystemdNotify> log) : BackgroundService
{
    public bool Enabled => notifier.IsEnabled;

    /// <summary>The watchdog interval systemd asked for (WatchdogSec), when it is meant for this process.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        if (!long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec <= 0)
        {
            return null;
        }

        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        return string.IsNullOrEmpty(pid) || pid == Environment.ProcessId.ToString(CultureInfo.InvariantCulture) ? TimeSpan.FromMicroseconds(usec) : null;
    }

    public void Ready(string status)
    {
        if (notifier.IsEnabled)
        {
            notifier.Notify(new ServiceState($"READY=1\nMAINPID={Environment.ProcessId}\nSTATUS={status}"));
        }
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        if (notifier.IsEnabled)
        {
            notifier.Notify(new ServiceState("STOPPING=1\nSTATUS=draining the fleet"));
        }

        return base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.IsEnabled || WatchdogInterval() is not { } interval)
        {
            return;
        }

        var every = interval / 2;
        using var timer = new PeriodicTimer(every);
        string? status = null;
        do
        {
            // the watchdog is fed while the actor tree answers (a restart would help); readiness (journal,
            // disk: a restart would not) goes into the status line systemctl shows
            if ((await readiness.ActorTreeAsync(every, stoppingToken)).Ok)
            {
                notifier.Notify(new ServiceState("WATCHDOG=1"));
            }
            else if (!stoppingToken.IsCancellationRequested)
            {
                NotFed(log, every.TotalSeconds);
            }

            var now = readiness.Last is { Ready: false } report ? "not ready: " + report.Reason : readiness.Last is null ? null : "ready";
            if (now is not null && now != status)
            {
                notifier.Notify(new ServiceState("STATUS=" + now));
                status = now;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The actor system did not answer within {Seconds} s: the systemd watchdog is not fed")]
    private static partial void NotFed(ILogger logger, double seconds);
}
