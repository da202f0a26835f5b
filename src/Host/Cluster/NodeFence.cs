using System.Diagnostics;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// A cluster node's fence: a small watchdog process (bash) that SIGKILLs the daemon when the daemon has not beaten
/// its heart for <see cref="After"/>. A node that stops answering without dying (SIGSTOP, a frozen VM, swap storm)
/// keeps its agents' processes running; the other nodes down it after failure detection plus the resolver's
/// <c>stable-after</c> and place its <c>failover: move</c> agents elsewhere. The fence fires before that (it is
/// <c>stable-after</c>, less than detection plus <c>stable-after</c>) and its kill closes the daemon's
/// lifeline, whose guard kills the runs: so an agent moved away never overlaps the copy its stalled node still ran.
/// The heart is a dedicated thread (not the thread pool, which a busy daemon can starve) writing one line to the
/// watchdog's stdin every <see cref="Every"/>; the daemon's own end (or its death) closes the pipe and the
/// watchdog leaves without a kill. Only cluster nodes have one: a single node has nobody to take over its agents.
/// </summary>
public sealed class NodeFence : IDisposable
{
    /// <summary>
    /// The watchdog's program (bash, for <c>read -t</c>; $1 the timeout in seconds, $2 the pid to kill). It ignores the
    /// signals a terminal or a service manager sends to the daemon's group, reads the heart's lines, and on a read that
    /// timed out (status above 128) says why on stderr and SIGKILLs the daemon; on the pipe's end it leaves.
    /// </summary>
    public const string Script = """
        trap '' HUP INT QUIT TERM PIPE
        exec >/dev/null
        while :; do
          read -r -t "$1" _
          s=$?
          [ $s -eq 0 ] && continue
          if [ $s -gt 128 ]; then
            echo "df-fence: daemon $2 gave no sign of life for $1 s (stopped or frozen): killed, so its runs end before the other nodes move its agents" >&2
            kill -9 "$2"
          fi
          exit 0
        done
        """;

    private readonly Process _watchdog;
    private readonly Thread _heart;
    private readonly CancellationTokenSource _stop = new();
    private volatile bool _stalled;

    private NodeFence(Process watchdog, TimeSpan after)
    {
        _watchdog = watchdog;
        After = after;
        Every = Beat(after);
        _heart = new Thread(Beating) { IsBackground = true, Name = "df-fence-heart", Priority = ThreadPriority.AboveNormal };
        _heart.Start();
    }

    /// <summary>How long the daemon may give no sign of life before the watchdog kills it.</summary>
    public TimeSpan After { get; }

    /// <summary>How often the heart beats (a sixth of <see cref="After"/>, at most a second).</summary>
    public TimeSpan Every { get; }

    /// <summary>The watchdog's process id (0 once it ended).</summary>
    public int Pid => _watchdog.HasExited ? 0 : _watchdog.Id;

    /// <summary>
    /// The fence of a node whose split-brain resolver decides after <paramref name="stableAfter"/> (pure): that long,
    /// but at least a second (a shorter one would kill a daemon for an ordinary scheduling delay).
    /// </summary>
    public static TimeSpan AfterFor(TimeSpan stableAfter) => stableAfter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : stableAfter;

    /// <summary>The heart's period for a fence of <paramref name="after"/> (pure).</summary>
    public static TimeSpan Beat(TimeSpan after) => TimeSpan.FromTicks(Math.Min(after.Ticks / 6, TimeSpan.TicksPerSecond));

    /// <summary>
    /// Starts the watchdog of <paramref name="pid"/> (the daemon's own id in production) and the heart; null, with the
    /// reason given to <paramref name="warn"/>, where none can start (no bash).
    /// </summary>
    public static NodeFence? Start(TimeSpan after, int pid, Action<string> warn)
    {
        var psi = new ProcessStartInfo("/bin/bash") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var arg in new[] { "-c", Script, "df-fence", after.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture), pid.ToString(CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(arg);
        }

        // nothing of the daemon's environment but PATH: never a run marker (the lifeline's sweep must not match it)
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        var watchdog = new Process { StartInfo = psi };
        try
        {
            watchdog.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            watchdog.Dispose();
            warn($"no fence for this node ({e.Message}): a node stopped without dying keeps its runs while the other nodes move its agents");
            return null;
        }

        return new NodeFence(watchdog, after);
    }

    /// <summary>For tests: the heart stops as a stopped daemon's would, the pipe stays open.</summary>
    internal void Stall() => _stalled = true;

    private void Beating()
    {
        var line = "\n"u8.ToArray();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (!_stalled)
                {
                    _watchdog.StandardInput.BaseStream.Write(line);
                    _watchdog.StandardInput.BaseStream.Flush();
                }

                _stop.Token.WaitHandle.WaitOne(Every);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // the watchdog is gone (killed from outside): no fence any more; the daemon goes on
        }
    }

    /// <summary>The daemon's own end: the heart stops and the pipe closes, so the watchdog leaves without a kill.</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _heart.Join(TimeSpan.FromSeconds(2));
        try
        {
            _watchdog.StandardInput.Close();
            _watchdog.WaitForExit(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // the watchdog is gone already
        }

        _watchdog.Dispose();
        _stop.Dispose();
    }
}
