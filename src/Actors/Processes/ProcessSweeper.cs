using Akka.Actor;
using Akka.Event;
using DarkFactory.Messages.Agents;

namespace DarkFactory.Actors.Processes;

/// <summary>
/// Hunts descendants that left their agent's process group (setsid, double fork): scans /proc for the
/// run marker in their environment and SIGKILLs them. Requests are coalesced: one /proc scan serves
/// every marker asked for meanwhile, so stopping 100 agents costs a few scans, not 100. Each marker is
/// swept twice (at once and shortly after) to catch a process that was being forked during the first scan.
/// The scan runs off the mailbox; results come back as messages.
/// </summary>
public sealed class ProcessSweeper : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan FollowUp = TimeSpan.FromMilliseconds(250);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<string> _followUp = new(StringComparer.Ordinal);
    private bool _scanning;

    public ProcessSweeper()
    {
        Receive<SweepRun>(r =>
        {
            _pending.Add(r.MarkerPrefix);
            _followUp.Add(r.MarkerPrefix);
            StartScan();
            Timers.StartSingleTimer("follow-up", FollowUpDue.Instance, FollowUp);
        });
        Receive<FollowUpDue>(_ =>
        {
            foreach (var marker in _followUp)
            {
                _pending.Add(marker);
            }

            _followUp.Clear();
            StartScan();
        });
        Receive<ScanDone>(done =>
        {
            _scanning = false;
            if (done.Killed.Count > 0)
            {
                _log.Info("Swept {0} escaped agent process(es): {1}", done.Killed.Count, string.Join(",", done.Killed));
            }

            StartScan();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props() => Akka.Actor.Props.Create(() => new ProcessSweeper());

    private void StartScan()
    {
        if (_scanning || _pending.Count == 0)
        {
            return;
        }

        _scanning = true;
        var markers = _pending.ToArray();
        _pending.Clear();
        Task.Run(() => new ScanDone(ProcessTree.KillMarked(markers))).PipeTo(Self);
    }

    private sealed record FollowUpDue
    {
        public static readonly FollowUpDue Instance = new();
    }

    private sealed record ScanDone(IReadOnlyList<int> Killed);
}
