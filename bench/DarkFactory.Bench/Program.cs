using System.Globalization;
using System.Text;
using DarkFactory.Bench;

// df-bench [--repo DIR] [--quick] [--only restart,cold100,cold1000,idle,chatty,flood,stop] [--out FILE]
var repo = Arg("--repo") ?? FindRepo(Directory.GetCurrentDirectory());
var quick = args.Contains("--quick");
var only = Arg("--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
var output = Arg("--out") ?? Path.Combine(repo, "bench", "results", "latest.md");

var bench = new Bench(repo, quick);
var target = new DarkFactoryTarget(repo);
if (!File.Exists(target.DllPath))
{
    Console.Error.WriteLine($"df-bench: {target.DllPath} is missing: build it first (bench/run does)");
    return 2;
}

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

var scenarios = new Scenarios(bench, target);
var plan = new (string Key, Func<Task> Run)[]
{
    ("restart", scenarios.RestartLatency),
    ("cold100", () => scenarios.ColdStart(100, quick ? 3 : 7, idleAfterLast: !(only is { } o1) || o1.Contains("idle"), "100 agents", 0.3)),
    ("cold1000", () => scenarios.ColdStart(1000, quick ? 1 : 3, idleAfterLast: true, "1,000 light agents", 0)),
    ("chatty", scenarios.Chatty),
    ("flood", scenarios.Flood),
    ("stop", scenarios.GracefulStop),
};

var failed = new List<string>();
foreach (var (key, run) in plan)
{
    if (cancel.IsCancellationRequested)
    {
        break;
    }

    if (only is not null && !only.Contains(key) && !(key == "cold100" && only.Contains("idle")))
    {
        continue;
    }

    Console.WriteLine($"== {key}");
    try
    {
        await run();
    }
    catch (Exception e)
    {
        failed.Add($"{key}: {e.GetType().Name}: {e.Message}");
        Console.WriteLine($"  FAILED: {e.Message}");
    }
    finally
    {
        bench.Sweep();
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
md.AppendLine(CultureInfo.InvariantCulture, $"- target: {target.Name} ({target.DllPath})");
md.AppendLine();
md.AppendLine("| scenario | metric | Dark Factory | baseline (same run) | target | verdict |");
md.AppendLine("|---|---|---|---|---|---|");
foreach (var r in bench.Rows)
{
    md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Scenario} | {r.Metric} | {r.Value} | {r.Baseline} | {r.Target} | {r.Verdict} |");
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
