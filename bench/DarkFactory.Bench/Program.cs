using System.Globalization;
using System.Text;
using DarkFactory.Bench;

// df-bench [--repo DIR] [--quick] [--only restart,restart-defaults,cold100,cold1000,idle,chatty,flood,stop,route,sandbox]
//          [--targets df,supervisord,pm2,runit,s6] [--df-baseline DIR] [--df-sandbox off] [--out FILE]
// --df-sandbox off: df's fleet says `sandbox: off` for every agent (a bare spawn, as a build before the sandbox
//   ran them: a clean comparison with --df-baseline on a machine with bubblewrap); default: the shipped `auto`.
// --df-baseline DIR: another build of the daemon (DIR/df.dll, e.g. an older commit built with
//   `dotnet build src/Host -c Release -o DIR`) runs as target df-baseline beside df, scenario by scenario
//   (the two take turns, alternating which goes first), so both rows are measured under the same load.
var repo = Path.GetFullPath(Arg("--repo") ?? FindRepo(Directory.GetCurrentDirectory()));
var quick = args.Contains("--quick");
var only = Arg("--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
var output = Arg("--out") ?? Path.Combine(repo, "bench", "results", "latest.md");

// the routing benchmark is in-process (no supervisor targets): bench/run --only route
if (only is null || only.Contains("route"))
{
    var routeReport = RouteBench.Run(quick);
    var routeFile = Path.Combine(repo, "bench", "results", "route.md");
    Directory.CreateDirectory(Path.GetDirectoryName(routeFile)!);
    File.WriteAllText(routeFile, routeReport);
    Console.WriteLine(routeReport);
    Console.WriteLine($"written to {routeFile}");
    only?.Remove("route");
    if (only is { Count: 0 })
    {
        return 0;
    }
}

// the agent boundary's spawn cost is in-process too, and only on request: bench/run --only sandbox
if (only is not null && only.Contains("sandbox"))
{
    var sandboxReport = SandboxBench.Run(repo, quick);
    var sandboxFile = Path.Combine(repo, "bench", "results", "sandbox.md");
    Directory.CreateDirectory(Path.GetDirectoryName(sandboxFile)!);
    File.WriteAllText(sandboxFile, sandboxReport);
    Console.WriteLine(sandboxReport);
    Console.WriteLine($"written to {sandboxFile}");
    only.Remove("sandbox");
    if (only.Count == 0)
    {
        return 0;
    }
}

var bench = new Bench(repo, quick);
var target = new DarkFactoryTarget(repo) { SandboxOff = Arg("--df-sandbox") == "off" };
var known = new Dictionary<string, ITarget>(StringComparer.OrdinalIgnoreCase)
{
    ["df"] = target,
    ["supervisord"] = new SupervisordTarget(),
    ["pm2"] = new Pm2Target(repo),
    ["runit"] = new ScannerTarget(s6: false),
    ["s6"] = new ScannerTarget(s6: true),
};
if (Arg("--df-baseline") is { } baselineDirectory)
{
    known["df-baseline"] = new DarkFactoryTarget(repo, Path.GetFullPath(baselineDirectory));
}

var chosen = (Arg("--targets") ?? "df,supervisord,pm2,runit,s6").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
if (known.ContainsKey("df-baseline") && !chosen.Contains("df-baseline"))
{
    chosen.Insert(chosen.IndexOf("df") + 1, "df-baseline"); // right after df (or first, without df)
}

if (chosen.FirstOrDefault(k => !known.ContainsKey(k)) is { } unknownTarget)
{
    Console.Error.WriteLine($"df-bench: unknown target {unknownTarget} (known: {string.Join(",", known.Keys)})");
    return 2;
}

var targets = chosen.Select(k => known[k]).ToList();

var machine = Machine.Describe();
var loadBefore = Machine.LoadAverage();
var others = Machine.OtherDotnetProcesses();
Console.WriteLine($"df-bench run {bench.RunId}: {machine}; load {loadBefore}; {others.Count} other dotnet process(es) running");
var started = DateTime.UtcNow;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var failed = new List<string>();
var unavailable = new Dictionary<string, string>();
var runnable = new List<(ITarget Target, Scenarios Scenarios)>();
foreach (var t in targets)
{
    if (t.Unavailable is { } why)
    {
        unavailable[t.Name] = why;
        Console.WriteLine($"== {t.Name}: {why}, skipped");
        continue;
    }

    runnable.Add((t, new Scenarios(bench, t)));
}

(string Key, Func<Task> Run)[] Plan(Scenarios scenarios) =>
[
    ("restart", () => scenarios.RestartLatency(fastest: true)),
    ("restart-defaults", () => scenarios.RestartLatency(fastest: false)),
    ("cold100", () => scenarios.ColdStart(100, quick ? 3 : 7, idleAfterLast: !(only is { } o1) || o1.Contains("idle"), "100 agents", 0.3)),
    ("cold1000", () => scenarios.ColdStart(1000, quick ? 1 : 3, idleAfterLast: true, "1,000 light agents", 0)),
    ("chatty", scenarios.Chatty),
    ("flood", scenarios.Flood),
    ("stop", scenarios.GracefulStop),
];

async Task RunOne(ITarget t, string key, Func<Task> run)
{
    bench.Current = t.Name;
    Console.WriteLine($"== {t.Name}: {key} (load {Machine.LoadAverage()})");
    try
    {
        await run();
    }
    catch (Exception e)
    {
        failed.Add($"{t.Name} {key}: {e.GetType().Name}: {e.Message}");
        Console.WriteLine($"  FAILED: {e.Message}");
    }
    finally
    {
        bench.Sweep();
    }
}

bool Wanted(string key) => only is null || only.Contains(key) || (key == "cold100" && only.Contains("idle"));

if (known.ContainsKey("df-baseline") && runnable.Count > 0)
{
    // scenario by scenario, the targets taking turns (alternating which goes first): both builds under the same load
    var keys = Plan(runnable[0].Scenarios).Select(p => p.Key).Where(Wanted).ToList();
    for (var k = 0; k < keys.Count && !cancel.IsCancellationRequested; k++)
    {
        var order = k % 2 == 0 ? runnable : Enumerable.Reverse(runnable).ToList();
        foreach (var (t, scenarios) in order)
        {
            if (!cancel.IsCancellationRequested)
            {
                await RunOne(t, keys[k], Plan(scenarios).Single(p => p.Key == keys[k]).Run);
            }
        }
    }
}
else
{
    foreach (var (t, scenarios) in runnable)
    {
        foreach (var (key, run) in Plan(scenarios))
        {
            if (cancel.IsCancellationRequested)
            {
                break;
            }

            if (Wanted(key))
            {
                await RunOne(t, key, run);
            }
        }
    }
}

var leftover = Proc.FindByEnviron(bench.Marker);
if (leftover.Count > 0)
{
    bench.Notes.Add($"{leftover.Count} marked process(es) still alive at the end; killed: {string.Join(",", leftover)}");
    bench.Sweep();
}

try
{
    Directory.Delete(bench.WorkRoot, recursive: true);
}
catch (IOException)
{
}

var loadAfter = Machine.LoadAverage();
var md = new StringBuilder();
md.AppendLine(CultureInfo.InvariantCulture, $"# Dark Factory benchmarks — run {bench.RunId}");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"- machine: {machine}");
md.AppendLine(CultureInfo.InvariantCulture, $"- started {started:u}, took {(DateTime.UtcNow - started).TotalSeconds:0} s{(quick ? " (--quick)" : string.Empty)}");
md.AppendLine(CultureInfo.InvariantCulture, $"- load average before: {loadBefore}; after: {loadAfter}; other dotnet processes at start: {others.Count}{(others.Count > 0 ? " (" + string.Join("; ", others.Take(6)) + ")" : string.Empty)}");
md.AppendLine(CultureInfo.InvariantCulture, $"- targets: {string.Join(", ", targets.Select(t => t.Name + (unavailable.TryGetValue(t.Name, out var why) ? $" ({why})" : string.Empty)))}; Dark Factory: {target.DllPath}{(known.TryGetValue("df-baseline", out var baselineTarget) ? $"; df-baseline: {((DarkFactoryTarget)baselineTarget).DllPath}" : string.Empty)}");
md.AppendLine();

// Peers: one row per metric, the median of each supervisor, then Dark Factory / peer.
var peers = targets.Where(t => t != target).ToList();
var metrics = bench.Rows.Where(r => !double.IsNaN(r.Median)).Select(r => (r.Scenario, r.Metric)).Distinct().ToList();
string Cell(ITarget t, (string Scenario, string Metric) m)
{
    if (unavailable.ContainsKey(t.Name))
    {
        return "not installed";
    }

    var row = bench.Rows.FirstOrDefault(r => r.Supervisor == t.Name && r.Scenario == m.Scenario && r.Metric == m.Metric);
    return row is null ? "failed" : Stats.F(row.Median, row.Median >= 100 ? "0" : row.Median >= 10 ? "0.0" : "0.00");
}

double? MedianOf(ITarget t, (string Scenario, string Metric) m) =>
    bench.Rows.FirstOrDefault(r => r.Supervisor == t.Name && r.Scenario == m.Scenario && r.Metric == m.Metric)?.Median;

if (metrics.Count > 0)
{
    md.AppendLine("## Medians per supervisor, and Dark Factory / peer");
    md.AppendLine();
    md.AppendLine("Ratios are Dark Factory ÷ peer: below 1 Dark Factory is faster/smaller, except for rates (↑), where above 1 it is faster.");
    md.AppendLine();
    md.AppendLine($"| scenario | metric | {string.Join(" | ", targets.Select(t => t.Name))} |{string.Concat(peers.Select(p => $" df/{p.Name} |"))}");
    md.AppendLine($"|---|---|{string.Concat(targets.Select(_ => "---|"))}{string.Concat(peers.Select(_ => "---|"))}");
    foreach (var m in metrics)
    {
        var higher = bench.Rows.First(r => r.Scenario == m.Scenario && r.Metric == m.Metric).HigherIsBetter;
        var ratios = peers.Select(p => MedianOf(target, m) is { } d && MedianOf(p, m) is { } v && v != 0 && !unavailable.ContainsKey(p.Name) ? Stats.F(d / v) : unavailable.ContainsKey(p.Name) ? "not installed" : "—");
        md.AppendLine(CultureInfo.InvariantCulture, $"| {m.Scenario} | {m.Metric}{(higher ? " ↑" : string.Empty)} | {string.Join(" | ", targets.Select(t => Cell(t, m)))} |{string.Concat(ratios.Select(x => $" {x} |"))}");
    }

    md.AppendLine();
}

md.AppendLine("## Every row (median, range, p90, n) with the Dark Factory targets");
md.AppendLine();
md.AppendLine("| supervisor | scenario | metric | value | baseline (same run) | target | verdict |");
md.AppendLine("|---|---|---|---|---|---|---|");
foreach (var r in bench.Rows)
{
    var verdict = r.Supervisor == target.Name ? r.Verdict : "—";
    md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Supervisor} | {r.Scenario} | {r.Metric} | {r.Value} | {r.Baseline} | {r.Target} | {verdict} |");
}

if (failed.Count + bench.Notes.Count > 0)
{
    md.AppendLine();
    md.AppendLine("## Failures and notes");
    md.AppendLine();
    foreach (var f in failed.Concat(bench.Notes))
    {
        md.AppendLine(CultureInfo.InvariantCulture, $"- {f}");
    }
}

md.AppendLine();
md.AppendLine("## Raw observations");
md.AppendLine();
foreach (var line in bench.Raw)
{
    md.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
}

Directory.CreateDirectory(Path.GetDirectoryName(output)!);
File.WriteAllText(output, md.ToString());
Console.WriteLine();
Console.WriteLine(md.ToString());
Console.WriteLine($"written to {output}");
return failed.Count == 0 ? 0 : 1;

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string FindRepo(string from)
{
    for (var dir = new DirectoryInfo(from); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "DarkFactory.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("run inside the Dark Factory repository or pass --repo");
}
