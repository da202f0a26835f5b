using System.Diagnostics;

namespace DarkFactory.Bench;

/// <summary>Shared state of one harness run: paths, the run marker, the rows collected, cleanup.</summary>
internal sealed class Bench
{
    public Bench(string repo, bool quick)
    {
        Repo = repo;
        Quick = quick;
        RunId = $"{DateTime.UtcNow:yyyyMMddHHmmss}-{System.Environment.ProcessId}";
        WorkRoot = Path.Combine(Path.GetTempPath(), "df-bench-" + RunId);
        Directory.CreateDirectory(WorkRoot);
    }

    /// <summary>Every process the harness starts, directly or through a supervisor, carries this variable.</summary>
    public const string MarkerKey = "DF_BENCH";

    public string Repo { get; }

    public bool Quick { get; }

    public string RunId { get; }

    public string WorkRoot { get; }

    public string Marker => $"{MarkerKey}={RunId}";

    public List<Row> Rows { get; } = [];

    public List<string> Notes { get; } = [];

    public List<string> Raw { get; } = [];

    public string Agents(string script) => Path.Combine(Repo, "tests", "agents", script);

    private int _dirs;

    public string NewDirectory(string label)
    {
        var dir = Path.Combine(WorkRoot, $"{Interlocked.Increment(ref _dirs):000}-{label}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { [MarkerKey] = RunId };

    /// <param name="fastest">Each supervisor at its fastest restart settings; false (the default): as shipped.</param>
    public TargetFleet Fleet(IReadOnlyList<ProgramSpec> programs, string dir, double graceSeconds = 2, bool fastest = false) =>
        new(programs, dir, Environment, TimeSpan.FromSeconds(graceSeconds), fastest);

    /// <summary>The honest "alive": the program itself writes its pid, then becomes a long sleep.</summary>
    public static ProgramSpec PidfileProgram(string name, string pidfile) =>
        new(name, ["bash", "-c", "echo $$ > \"$0\"; exec sleep 100000", pidfile]);

    /// <summary>Starts a program the way a supervisor would (no shell), carrying the run marker.</summary>
    public Process Spawn(IReadOnlyList<string> argv, bool setsid = false)
    {
        var psi = new ProcessStartInfo(setsid ? "setsid" : argv[0]) { UseShellExecute = false };
        foreach (var a in setsid ? argv : argv.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment[MarkerKey] = RunId;
        return Process.Start(psi)!;
    }

    /// <summary>Kills whatever carries the run marker; returns how many.</summary>
    public int Sweep() => Proc.KillByEnviron(Marker);

    /// <summary>The supervisor the scenarios are running now (rows are tagged with it).</summary>
    public string Current { get; set; } = "dark-factory";

    private readonly Dictionary<string, object> _floors = [];

    /// <summary>Baselines (harness floors) are the same for every target: measured once per run.</summary>
    public T Once<T>(string key, Func<T> measure)
        where T : notnull
    {
        if (!_floors.TryGetValue(key, out var value))
        {
            value = measure();
            _floors[key] = value;
        }

        return (T)value;
    }

    public void Add(Row row)
    {
        row = row with { Supervisor = Current };
        Rows.Add(row);
        Console.WriteLine($"  [{Current}] {row.Scenario} | {row.Metric} | {row.Value} | baseline {row.Baseline} | target {row.Target} | {row.Verdict}");
    }

    public void Log(string text)
    {
        text = $"[{Current}] {text}";
        Raw.Add(text);
        Console.WriteLine("    " + text);
    }

    /// <summary>Waits until every pidfile in <paramref name="dir"/> (n of them) holds a live pid; returns that timestamp.</summary>
    public static long WaitPidfiles(string dir, int n, TimeSpan timeout, uint pollMicros = 500)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var files = Directory.GetFiles(dir);
            if (files.Length >= n)
            {
                var now = Stopwatch.GetTimestamp();
                if (files.All(f => Proc.ReadPidfile(f) is { } pid && Proc.IsAlive(pid)))
                {
                    return now;
                }
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{files.Length} of {n} pidfiles in {dir} after {timeout}");
            }

            Native.USleep(pollMicros);
        }
    }

    /// <summary>CPU (% of one core) per window and PSS at the end of each window, of the given processes.</summary>
    public static (List<double> CpuPercent, List<double> PssMiB, List<double> RssMiB) Sample(IReadOnlyList<int> pids, int windows, double windowSeconds)
    {
        List<double> cpu = [], pss = [], rss = [];
        var ticks = pids.Sum(Proc.CpuTicks);
        var at = Stopwatch.GetTimestamp();
        for (var w = 0; w < windows; w++)
        {
            Thread.Sleep(TimeSpan.FromSeconds(windowSeconds));
            var t = pids.Sum(Proc.CpuTicks);
            var now = Stopwatch.GetTimestamp();
            cpu.Add((t - ticks) / Proc.TicksPerSecond / ((now - at) / (double)Stopwatch.Frequency) * 100);
            pss.Add(pids.Sum(Proc.PssBytes) / 1048576.0);
            rss.Add(pids.Sum(Proc.RssBytes) / 1048576.0);
            ticks = t;
            at = now;
        }

        return (cpu, pss, rss);
    }
}
