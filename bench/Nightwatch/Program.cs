// Nightwatch benchmarks (issue 3), in process, one run, side by side with a baseline:
//  1. classify: Nightwatch's per-line work (error and rate-limit patterns of the default fleet, the
//     signal window with loop tracking) on one core, against a plain line counter over the same lines;
//  2. latency: 100 agents publish output batches on the event stream at once (as ProcessActors do);
//     each one now and then prints a rate-limit line or an error burst; measured from the batch's
//     timestamp to the ProviderLimited event / DriftVerdict a subscriber receives.
// Usage: bench/nightwatch [--quick]
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Bench.Nightwatch;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;

var quick = args.Contains("--quick");
var repo = args.SkipWhile(a => a != "--repo").Skip(1).FirstOrDefault() ?? Directory.GetCurrentDirectory();
var fleetFile = Path.Combine(repo, "fleet.yaml");
var spec = new NightwatchSpec(); // the loader's defaults are the default fleet.yaml's values
Console.WriteLine($"Nightwatch benchmarks ({(quick ? "quick" : "full")}), {Environment.ProcessorCount} cores, .NET {Environment.Version}");
Console.WriteLine($"patterns: {spec.ErrorPatterns.Count} error, {spec.RateLimitPatterns.Count} rate-limit (the defaults; fleet.yaml spells out the same: {File.Exists(fleetFile)})");

var lines = Corpus.Build(quick ? 500_000 : 2_000_000);
var chars = lines.Sum(l => (long)l.Length);
Console.WriteLine($"corpus: {lines.Length:N0} lines, {chars / (double)lines.Length:0} chars per line on average");

// ---- 1. classification throughput on one core
var patterns = LinePatterns.From(spec);
var rounds = quick ? 3 : 5;
var baseline = new List<double>();
var classify = new List<double>();
long sink = 0;
for (var r = 0; r < rounds; r++)
{
    var sw = Stopwatch.StartNew();
    long count = 0, total = 0;
    foreach (var line in lines)
    {
        count++;
        total += line.Length;
    }

    sw.Stop();
    sink += count + total;
    baseline.Add(lines.Length / sw.Elapsed.TotalSeconds);

    var signals = new AgentSignals(spec.Window);
    var at = new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    long errors = 0, limits = 0;
    sw.Restart();
    for (var i = 0; i < lines.Length; i++)
    {
        var line = lines[i];
        var flags = patterns.Classify(line);
        var error = flags == LineFlags.Error;
        if (flags == LineFlags.RateLimit)
        {
            limits++;
        }

        errors += error ? 1 : 0;
        signals.Line(OutputKind.Text, line, error, at.AddTicks(i * 100));
    }

    sw.Stop();
    sink += errors + limits;
    classify.Add(lines.Length / sw.Elapsed.TotalSeconds);
    if (r == 0)
    {
        Console.WriteLine($"  (matched {errors:N0} error lines and {limits:N0} rate-limit lines)");
    }
}

Console.WriteLine();
Console.WriteLine("| classification, one core | lines/s (median of {0}) | MB/s |", rounds);
Console.WriteLine("|---|---|---|");
Row("baseline: plain line counter", Median(baseline));
Row("Nightwatch: error + rate-limit patterns + signal window", Median(classify));
Console.WriteLine($"target >= 2,000,000 lines/s: {(Median(classify) >= 2_000_000 ? "met" : "MISSED")}");

void Row(string name, double linesPerSecond) =>
    Console.WriteLine($"| {name} | {linesPerSecond.ToString("N0", CultureInfo.InvariantCulture)} | {linesPerSecond * chars / lines.Length * 2 / 1e6:0} |");

// ---- 2. line -> verdict latency, 100 agents printing at once
const int Agents = 100;
var seconds = quick ? 5 : 10;
var config = ConfigurationFactory.ParseString("""
    akka.loglevel = ERROR
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
    akka.scheduler.tick-duration = 100ms
    """);
using var system = ActorSystem.Create("bench", config);
var limitLatencies = new List<double>();
var verdictLatencies = new List<double>();
var collector = system.ActorOf(Props.Create(() => new Collector(limitLatencies, verdictLatencies)));
system.EventStream.Subscribe(collector, typeof(ProviderLimited));
system.EventStream.Subscribe(collector, typeof(DriftVerdict));
var sinkActor = system.ActorOf(Props.Create(() => new Sink()));
var fleet = new FleetSpec
{
    Agents = Enumerable.Range(0, Agents).Select(i => new AgentSpec { Name = $"agent-{i:000}", Layer = LayerName.Core, Command = ["true"], Provider = "p" }).ToList(),
    Providers = [new ProviderSpec { Name = "p", Cli = "claude" }],
};
var nightwatch = system.ActorOf(NightwatchActor.Props(sinkActor, sinkActor, new NightwatchSettings()), "nightwatch");
nightwatch.Tell(new ApplyFleet(fleet));
await nightwatch.Ask<DriftSnapshot>(new GetDrift(), TimeSpan.FromSeconds(10));

long published = 0;
var stop = DateTime.UtcNow.AddSeconds(seconds);
var tasks = Enumerable.Range(0, Agents).Select(a => Task.Run(async () =>
{
    var name = $"agent-{a:000}";
    var rnd = new Random(a);
    var n = 0;
    var batchNo = 0;
    while (DateTime.UtcNow < stop)
    {
        batchNo++;
        var batch = new List<OutputLine>(20);
        for (var i = 0; i < 20; i++)
        {
            batch.Add(new OutputLine(OutputStream.Stdout, lines[rnd.Next(lines.Length)]));
        }

        // every ~2 s per agent a rate-limit line (a new run id each time, so none is debounced);
        // once per agent an error burst that raises its drift level. The run id carries the publish
        // time, and Nightwatch's events carry the run id: latency = receipt - publish.
        var publishedAt = DateTimeOffset.UtcNow;
        var run = "t" + publishedAt.UtcTicks.ToString(CultureInfo.InvariantCulture);
        if (batchNo % 40 == (a % 40))
        {
            batch[19] = new OutputLine(OutputStream.Stdout, "429 Too Many Requests: rate_limit_exceeded, please try again in 20s");
        }

        if (batchNo == 20 + (a % 20))
        {
            for (var i = 0; i < 6; i++)
            {
                batch[i] = new OutputLine(OutputStream.Stdout, $"error[E0{i}]: burst from {name}");
            }
        }

        system.EventStream.Publish(new AgentOutput(name, run, n, publishedAt, batch));
        n += batch.Count;
        Interlocked.Add(ref published, batch.Count);
        await Task.Delay(50);
    }
})).ToArray();
await Task.WhenAll(tasks);
await Task.Delay(1500); // let the last events arrive (a benchmark, not a test)
var got = await collector.Ask<int>("count", TimeSpan.FromSeconds(10));
Console.WriteLine();
Console.WriteLine($"| {Agents} agents printing for {seconds} s ({published / (double)seconds:N0} lines/s in batches of 20) | samples | p50 ms | p99 ms | max ms |");
Console.WriteLine("|---|---|---|---|---|");
Lat("line -> provider-limited event", limitLatencies);
Lat("line -> drift verdict", verdictLatencies);
Console.WriteLine($"target p99 < 1000 ms: {(Pct(limitLatencies, 0.99) < 1000 && Pct(verdictLatencies, 0.99) < 1000 ? "met" : "MISSED")}");
GC.KeepAlive(sink);
await system.Terminate();

void Lat(string name, List<double> xs)
{
    lock (xs)
    {
        Console.WriteLine($"| {name} | {xs.Count} | {Pct(xs, 0.5):0.0} | {Pct(xs, 0.99):0.0} | {(xs.Count == 0 ? 0 : xs.Max()):0.0} |");
    }
}

static double Pct(List<double> xs, double p)
{
    lock (xs)
    {
        if (xs.Count == 0)
        {
            return double.NaN;
        }

        var sorted = xs.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}

static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

internal sealed class Collector : ReceiveActor
{
    public Collector(List<double> limits, List<double> verdicts)
    {
        Receive<ProviderLimited>(e => Add(limits, e.RunId));
        Receive<DriftVerdict>(e =>
        {
            if (e.Level > e.Previous)
            {
                Add(verdicts, e.RunId);
            }
        });
        Receive<string>(_ => Sender.Tell(limits.Count + verdicts.Count));
    }

    private static void Add(List<double> xs, string? runId)
    {
        if (runId is ['t', .. var ticks] && long.TryParse(ticks, CultureInfo.InvariantCulture, out var t))
        {
            lock (xs)
            {
                xs.Add((DateTimeOffset.UtcNow - new DateTimeOffset(t, TimeSpan.Zero)).TotalMilliseconds);
            }
        }
    }
}

internal sealed class Sink : ReceiveActor
{
    public Sink() => ReceiveAny(_ => { });
}
