using System.Diagnostics;
using System.Globalization;

namespace DarkFactory.Bench;

/// <summary>
/// Exact CPU time of a set of processes that stays exact when their threads exit: each thread's run time
/// (/proc/PID/task/TID/schedstat, ns) is remembered at every poll, so a thread that has exited keeps the
/// time it had at the last poll (lost: only what it ran between that poll and its exit). <see cref="Proc.CpuTicks"/>
/// falls back to utime + stime (10 ms ticks) once a thread has exited, which reads an idle daemon's
/// 0.03 % of a core as 0 or 0.25 % per 4 s window.
/// </summary>
internal sealed class ThreadClock(IReadOnlyList<int> pids)
{
    private readonly Dictionary<(int Pid, int Tid), long> last = [];

    /// <summary>Total run time in ns of every thread seen so far, after reading every thread now.</summary>
    public long Poll()
    {
        foreach (var pid in pids)
        {
            IEnumerable<string> tasks;
            try
            {
                tasks = Directory.EnumerateDirectories($"/proc/{pid}/task").ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var task in tasks)
            {
                try
                {
                    var text = File.ReadAllText(Path.Combine(task, "schedstat"));
                    var tid = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
                    last[(pid, tid)] = long.Parse(text.AsSpan(0, text.IndexOf(' ')), CultureInfo.InvariantCulture);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
                {
                }
            }
        }

        return last.Values.Sum();
    }

    /// <summary>
    /// CPU (% of one core) per window from the threads' exact run time, polled every 100 ms; PSS and RSS at
    /// the end of each window.
    /// </summary>
    public static (List<double> CpuPercent, List<double> PssMiB, List<double> RssMiB) Sample(IReadOnlyList<int> pids, int windows, double windowSeconds)
    {
        List<double> cpu = [], pss = [], rss = [];
        var clock = new ThreadClock(pids);
        var ns = clock.Poll();
        var at = Stopwatch.GetTimestamp();
        for (var w = 0; w < windows; w++)
        {
            var end = at + (long)(windowSeconds * Stopwatch.Frequency);
            long now;
            while ((now = Stopwatch.GetTimestamp()) < end)
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(1, (end - now) * 1000.0 / Stopwatch.Frequency))));
                clock.Poll();
            }

            var t = clock.Poll();
            now = Stopwatch.GetTimestamp();
            cpu.Add((t - ns) / 1e9 / ((now - at) / (double)Stopwatch.Frequency) * 100);
            pss.Add(pids.Sum(Proc.PssBytes) / 1048576.0);
            rss.Add(pids.Sum(Proc.RssBytes) / 1048576.0);
            ns = t;
            at = now;
        }

        return (cpu, pss, rss);
    }
}
