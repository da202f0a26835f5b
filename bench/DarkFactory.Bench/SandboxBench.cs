using System.Diagnostics;
using System.Globalization;
using System.Text;
using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Bench;

/// <summary>
/// Spawn cost of the agent boundary (bench/run --only sandbox): the command line <see cref="LaunchPlanner"/>
/// builds for one run, started the way the ProcessActor starts it, timed from <c>Process.Start</c> to the
/// agent's first line on stdout; and a restart: SIGTERM to the run's group, its exit, and the next run's
/// first line. Four ways in the same run, interleaved (so load hits them alike): plain; in a cgroup; in
/// the sandbox (bubblewrap); both (the default where the machine allows it).
/// </summary>
public static class SandboxBench
{
    public static string Run(string repo, bool quick)
    {
        var n = quick ? 20 : 60;
        var id = "dfb-" + Guid.NewGuid().ToString("N")[..8];
        var data = Directory.CreateTempSubdirectory("df-bench-data-").FullName;
        var support = SandboxSupport.Detect();
        var cgroups = RunCgroups.Detect(id);
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string?)e.Value);
        var script = Path.Combine(repo, "tests", "agents", "sleeper.sh");
        var ways = new List<(string Name, DaemonContext Daemon, SandboxMode Mode)>
        {
            ("plain (setsid)", new DaemonContext(id, data), SandboxMode.Off),
            ("cgroup", new DaemonContext(id, data) { Cgroups = cgroups }, SandboxMode.Off),
            ("sandbox", new DaemonContext(id, data) { Sandbox = support }, SandboxMode.Required),
            ("sandbox + cgroup (default)", new DaemonContext(id, data) { Sandbox = support, Cgroups = cgroups }, SandboxMode.Required),
        };
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Spawn and restart of one run ({script}: prints `ready`), {n} of each, interleaved; {Environment.ProcessorCount} cores, load {Machine.LoadAverage()}; sandbox: {support.Reason}; cgroups: {cgroups.Reason}");
        md.AppendLine();
        ways.RemoveAll(w => (w.Mode == SandboxMode.Required && !support.Available) || (w.Name.Contains("cgroup", StringComparison.Ordinal) && !cgroups.Available));

        var spawn = ways.ToDictionary(w => w.Name, _ => new List<double>());
        var restart = ways.ToDictionary(w => w.Name, _ => new List<double>());
        try
        {
            for (var i = 0; i < n; i++)
            {
                foreach (var (name, daemon, mode) in ways)
                {
                    var spec = new AgentSpec { Name = "bench", Cli = CliCatalog.Command, Command = [script], Sandbox = mode, Workdir = data };
                    var first = Start(spec, daemon, environment, $"r{i}a", out var firstMs);
                    spawn[name].Add(firstMs);
                    var clock = Stopwatch.StartNew();
                    Stop(first);
                    var second = Start(spec, daemon, environment, $"r{i}b", out var secondMs);
                    restart[name].Add(clock.Elapsed.TotalMilliseconds);
                    spawn[name].Add(secondMs); // right after its own way's stop, as the first spawn is right after another way's
                    Stop(second);
                }
            }
        }
        finally
        {
            cgroups.SweepAll();
            if (cgroups.Root is { } root)
            {
                RunCgroups.Remove(root);
            }

            Directory.Delete(data, recursive: true);
        }

        var baseline = ways[0].Name;
        md.AppendLine("| run | spawn → first line p50 ms | p90 ms | added p50 ms | restart (stop + spawn) p50 ms | p90 ms |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var (name, _, _) in ways)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Stats.Median(spawn[name]):0.0} | {Stats.Percentile(spawn[name], 0.9):0.0} | {Stats.Median(spawn[name]) - Stats.Median(spawn[baseline]):+0.0;-0.0;0.0} | {Stats.Median(restart[name]):0.0} | {Stats.Percentile(restart[name], 0.9):0.0} |");
        }

        return md.ToString();
    }

    private static (Process Process, LaunchPlan Plan) Start(AgentSpec spec, DaemonContext daemon, IReadOnlyDictionary<string, string?> environment, string runId, out double ms)
    {
        var plan = LaunchPlanner.Plan(spec, spec.Command, null, runId, daemon, environment, _ => null, new List<string>());
        Directory.CreateDirectory(plan.TempDirectory!);
        if (plan.Cgroup is { } cgroup)
        {
            RunCgroups.Create(cgroup);
        }

        var psi = new ProcessStartInfo(plan.FileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardInput = true, WorkingDirectory = plan.WorkingDirectory };
        foreach (var a in plan.Arguments)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Clear();
        foreach (var (k, v) in plan.Environment)
        {
            psi.Environment[k] = v;
        }

        var clock = Stopwatch.StartNew();
        var p = Process.Start(psi)!;
        var line = p.StandardOutput.ReadLine();
        ms = clock.Elapsed.TotalMilliseconds;
        if (line is null || !line.StartsWith("ready", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the run printed '{line}' instead of ready: {string.Join(' ', plan.Argv)}");
        }

        return (p, plan);
    }

    /// <summary>As the ProcessActor stops a run: SIGTERM (to the cgroup but bubblewrap's monitor where the plan says so, else the group), SIGKILL after 10 s.</summary>
    private static void Stop((Process Process, LaunchPlan Plan) run)
    {
        var (p, plan) = run;
        DarkFactory.Actors.Agents.RunProcess.Signal(plan, p.Id, DarkFactory.Actors.Processes.Native.SIGTERM);

        if (!p.WaitForExit(10_000))
        {
            DarkFactory.Actors.Processes.Native.KillGroup(p.Id, DarkFactory.Actors.Processes.Native.SIGKILL);
            p.WaitForExit();
        }

        p.Dispose();
        if (plan.Cgroup is { } cgroup)
        {
            RunCgroups.Kill(cgroup);
            for (var i = 0; i < 100 && !RunCgroups.Remove(cgroup); i++)
            {
                Thread.Sleep(5); // the cgroup empties as its processes are reaped
            }
        }
    }
}
