namespace DarkFactory.Actors.Processes;

/// <summary>
/// Hunts descendants that left their agent's process group (setsid, double fork): scans /proc for the
/// run marker in their environment and SIGKILLs them. Requests are coalesced: one /proc scan serves
/// every marker asked for meanwhile, so stopping 100 agents costs a few scans, not 100. Each marker is
/// swept twice (at once and shortly after) to catch a process that was being forked during the first scan.
/// A run's cgroup is killed whole (a process that cleared its environment is in it all the same) and
/// removed once empty, retried on the follow-ups until it is. The scan runs off the mailbox; results
/// come back as messages.
/// </summary>
public sealed class ProcessSweeper : ReceiveActor, IWithTimers
{
    private const int CgroupAttempts = 40; // 10 s of follow-ups
    private static readonly TimeSpan FollowUp = TimeSpan.FromMilliseconds(250);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<string> _followUp = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _cgroups = new(StringComparer.Ordinal); // cgroup -> removal attempts left
    private readonly HashSet<string> _cgroupsDue = new(StringComparer.Ordinal);
    private bool _scanning;

    public ProcessSweeper()
    {
        Receive<SweepRun>(r =>
        {
            _pending.Add(r.MarkerPrefix);
            _followUp.Add(r.MarkerPrefix);
            if (r.Cgroup is { } cgroup)
            {
                _cgroups[cgroup] = CgroupAttempts;
                _cgroupsDue.Add(cgroup);
            }

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
            _cgroupsDue.UnionWith(_cgroups.Keys);
            StartScan();
        });
        Receive<ScanDone>(done =>
        {
            _scanning = false;
            if (done.Killed.Count > 0)
            {
                _log.Info("Swept {0} escaped agent process(es): {1}", done.Killed.Count, string.Join(",", done.Killed));
            }

            foreach (var cgroup in done.Removed)
            {
                _cgroups.Remove(cgroup);
            }

            foreach (var cgroup in done.Tried.Except(done.Removed))
            {
                if (_cgroups.TryGetValue(cgroup, out var left) && left <= 1)
                {
                    _cgroups.Remove(cgroup);
                    _log.Warning("Cgroup {0} still holds processes after {1} sweeps; left in place", cgroup, CgroupAttempts);
                }
                else if (_cgroups.ContainsKey(cgroup))
                {
                    _cgroups[cgroup] = left - 1;
                    Timers.StartSingleTimer("follow-up", FollowUpDue.Instance, FollowUp);
                }
            }

            StartScan();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props() => Akka.Actor.Props.Create(() => new ProcessSweeper());

    private void StartScan()
    {
        if (_scanning || (_pending.Count == 0 && _cgroupsDue.Count == 0))
        {
            return;
        }

        _scanning = true;
        var markers = _pending.ToArray();
        var cgroups = _cgroupsDue.ToArray();
        _pending.Clear();
        _cgroupsDue.Clear();
        Task.Run(() =>
        {
            foreach (var cgroup in cgroups)
            {
                RunCgroups.Kill(cgroup);
            }

            IReadOnlyList<int> killed = markers.Length == 0 ? [] : ProcessTree.KillMarked(markers);
            return new ScanDone(killed, cgroups, cgroups.Where(RunCgroups.Remove).ToArray());
        }).PipeTo(Self);
    }

    private sealed record FollowUpDue : Signal<FollowUpDue>;

    private sealed record ScanDone(IReadOnlyList<int> Killed, IReadOnlyList<string> Tried, IReadOnlyList<string> Removed);
}
