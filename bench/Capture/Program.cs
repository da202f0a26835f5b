// Output capture, stage by stage (issue 18), in process, every stage in the same run and in turns:
//  read      a real flood.sh (2 M × 80 B lines) read from its pipe and thrown away (the floor: producer + pipe);
//  write     read and written to a LogSink as read (the file system's share);
//  log       read + the real OutputPump and LogSink (default rotation 3 × 16 MiB), lines split and sent to a stand-in
//            for the ProcessActor that gives each batch's credit back at once;
//  redact    + a Redactor holding 4 secrets (none of them printed);
//  publish   + what the ProcessActor does with a batch: AgentOutput on the fleet topics, tracked by the OutputFlow;
//  nightwatch + the real NightwatchActor (the default patterns) as a consumer judging every line.
// Each: first byte of output → every line judged (or taken), M lines/s, and this process's CPU per million lines.
//  split     (only when asked) the pump alone over the lines in memory, its log to /dev/null: its own CPU per line.
// Usage: bench/capture [--quick] [--lines N] [--repeats N] [--only split,read,write,log,redact,publish,nightwatch]
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Topics;
using DarkFactory.Bench;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;

var quick = args.Contains("--quick");
var lineCount = BenchSupport.Arg(args, "--lines", 2_000_000);
var only = BenchSupport.ArgString(args, "--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
var repeats = BenchSupport.Arg(args, "--repeats", quick ? 2 : 4);
var root = BenchSupport.ArgString(args, "--repo") ?? BenchSupport.FindRoot();
var flood = Path.Combine(root, "tests", "agents", "flood.sh");
var work = Directory.CreateTempSubdirectory("df-bench-capture-").FullName;
string[] stages = ["read", "write", "log", "redact", "publish", "nightwatch"];
stages = only is null ? stages : only.Where(s => stages.Contains(s) || s == "split").ToArray();
byte[]? inMemory = null; // the split stage's 2 M lines, made once

var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
Console.WriteLine($"capture stages: {lineCount:N0} lines × 80 B, {repeats} rounds, {Environment.ProcessorCount} cores, .NET {Environment.Version}, load {load}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

var rates = stages.ToDictionary(s => s, _ => new List<double>());
var cpu = stages.ToDictionary(s => s, _ => new List<double>());
var firsts = new Dictionary<string, double>();
var allocated = stages.ToDictionary(s => s, _ => new List<double>());
var collections = stages.ToDictionary(s => s, _ => new List<double>());
var pauses = stages.ToDictionary(s => s, _ => new List<double>());
for (var r = 0; r < repeats; r++)
{
    // in turns, the order rotating, so load and warm-up fall on every stage alike
    for (var i = 0; i < stages.Length; i++)
    {
        var stage = stages[(i + r) % stages.Length];
        var gc0 = GC.CollectionCount(0);
        var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        var paused0 = GC.GetTotalPauseDuration();
        var (seconds, cpuSeconds, lines) = await Run(stage, r);
        var perLine = (GC.GetTotalAllocatedBytes(precise: true) - bytes0) / (double)Math.Max(1, lines);
        var gcs = GC.CollectionCount(0) - gc0;
        allocated[stage].Add(perLine);
        collections[stage].Add(gcs);
        var paused = (GC.GetTotalPauseDuration() - paused0).TotalMilliseconds;
        pauses[stage].Add(paused);
        if (lines != lineCount)
        {
            Console.WriteLine($"  ! {stage}: {lines:N0} of {lineCount:N0} lines");
        }

        var rate = lines / seconds;
        rates[stage].Add(rate);
        cpu[stage].Add(cpuSeconds / (lines / 1e6));
        firsts.TryAdd(stage, rate);
        Console.WriteLine($"  round {r + 1} {stage,-10} {rate / 1e6,6:0.00} M lines/s  {seconds,6:0.000} s  CPU {cpuSeconds,6:0.000} s  {perLine,5:0} B allocated per line  {gcs,4} GCs ({paused:0} ms paused)");
    }
}

Console.WriteLine();
Console.WriteLine($"| stage (each adds to the one above) | M lines/s, median of {repeats} | first round (cold JIT) | this process's CPU, s per M lines | allocated, B per line | GCs per run | GC pauses, ms per run |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var stage in stages)
{
    Console.WriteLine($"| {Describe(stage)} | {F(BenchSupport.Median(rates[stage]) / 1e6)} | {F(firsts[stage] / 1e6)} | {F(BenchSupport.Median(cpu[stage]), "0.000")} | {F(BenchSupport.Median(allocated[stage]), "0")} | {F(BenchSupport.Median(collections[stage]), "0")} | {F(BenchSupport.Median(pauses[stage]), "0")} |");
}

Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
Directory.Delete(work, recursive: true);
return 0;

static string F(double x, string format = "0.00") => x.ToString(format, CultureInfo.InvariantCulture);

static string Describe(string stage) => stage switch
{
    "split" => "split (alone): the pump over 160 MB in memory, log to /dev/null, no pipe",
    "read" => "read: flood.sh's pipe read and thrown away",
    "write" => "write: read, and written to a LogSink as read (no pump)",
    "log" => "log: + OutputPump, LogSink (3 × 16 MiB), lines to the run's actor",
    "redact" => "redact: + 4 secrets redacted",
    "publish" => "publish: + AgentOutput on the topics, tracked by the OutputFlow",
    "nightwatch" => "nightwatch: + NightwatchActor judging every line",
    _ => stage,
};

async Task<(double Seconds, double Cpu, long Lines)> Run(string stage, int round)
{
    var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, UseShellExecute = false };
    psi.ArgumentList.Add(flood);
    psi.ArgumentList.Add(lineCount.ToString(CultureInfo.InvariantCulture));
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    if (stage == "split")
    {
        // the pump alone on one core: a 160 MB stream in memory, the log to /dev/null, no process and no pipe
        inMemory ??= System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(new string('x', 79) + "\n", lineCount)));
        var alone = ActorSystem.Create("split", ConfigurationFactory.ParseString("akka.loglevel = ERROR"));
        try
        {
            using var devNull = new LogSink("/dev/null", maxBytes: long.MaxValue);
            var done = new TaskCompletionSource<(long Lines, long FirstAt)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var credits = new RunCredits(16, OutputFlow.For(alone));
            var actor = alone.ActorOf(Props.Create(() => new RunStandIn(credits, false, done)));
            var started = Stopwatch.GetTimestamp();
            _ = new OutputPump(new MemoryStream(inMemory, writable: false), OutputStream.Stdout, devNull, Redactor.None, actor, credits, CliAdapters.Classifier(CliCatalog.Command)).Run(CancellationToken.None);
            var (lines, _) = await done.Task;
            return (Stopwatch.GetElapsedTime(started).TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, lines);
        }
        finally
        {
            await alone.Terminate();
        }
    }

    if (stage is "read" or "write")
    {
        using var sink = stage == "write" ? new LogSink(Path.Combine(work, $"{stage}-{round}", "flood.log")) : null;
        using var p = Process.Start(psi)!;
        var stream = p.StandardOutput.BaseStream;
        var buffer = new byte[128 * 1024];
        long newlines = 0;
        long? first = null;
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            first ??= Stopwatch.GetTimestamp();
            newlines += buffer.AsSpan(0, n).Count((byte)'\n');
            sink?.Write(buffer.AsSpan(0, n));
        }

        var s = Stopwatch.GetElapsedTime(first ?? Stopwatch.GetTimestamp()).TotalSeconds;
        await p.WaitForExitAsync();
        return (s, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, newlines);
    }

    var config = ConfigurationFactory.ParseString("""
        akka.loglevel = ERROR
        akka.stdout-loglevel = ERROR
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.scheduler.tick-duration = 100ms
        """);
    var system = ActorSystem.Create("capture", config);
    try
    {
        IActorRef? nightwatch = null;
        if (stage == "nightwatch")
        {
            var sink = system.ActorOf(Props.Create<Ignore>());
            var fleet = new FleetSpec { Agents = [new AgentSpec { Name = "flood", Layer = LayerName.Safety, Cli = CliCatalog.Command, Command = ["bash", flood] }] };
            nightwatch = system.ActorOf(NightwatchActor.Props(sink, sink, new NightwatchSettings()), "nightwatch");
            nightwatch.Tell(new ApplyFleet(fleet));
            await nightwatch.Ask<DriftSnapshot>(new GetDrift(), TimeSpan.FromSeconds(30));
        }

        var dir = Path.Combine(work, $"{stage}-{round}");
        using var log = new LogSink(Path.Combine(dir, "flood.log"));
        var redactor = stage == "log" ? Redactor.None : new Redactor(["sk-live-0123456789abcdef0123456789abcdef", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "hunter2-hunter2", "postgres://u:p4ss@db/x"]);
        var done = new TaskCompletionSource<(long Lines, long FirstAt)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var credits = new RunCredits(16, OutputFlow.For(system));
        var actor = system.ActorOf(Props.Create(() => new RunStandIn(credits, stage != "log" && stage != "redact", done)));
        using var p = Process.Start(psi)!;
        using var cancel = new CancellationTokenSource();
        _ = new OutputPump(p.StandardOutput.BaseStream, OutputStream.Stdout, log, redactor, actor, credits, CliAdapters.Classifier(CliCatalog.Command)).Run(cancel.Token);
        var (lines, firstAt) = await done.Task;
        if (nightwatch is not null)
        {
            await nightwatch.Ask<DriftSnapshot>(new GetDrift(), TimeSpan.FromSeconds(120)); // behind every batch in its mailbox
        }

        var s = Stopwatch.GetElapsedTime(firstAt).TotalSeconds;
        await p.WaitForExitAsync();
        return (s, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, lines);
    }
    finally
    {
        await system.Terminate();
    }
}

/// <summary>What the ProcessActor does with the pump's batches: publish them (or only give the credit back) and count.</summary>
internal sealed class RunStandIn : ReceiveActor
{
    public RunStandIn(RunCredits credits, bool publish, TaskCompletionSource<(long, long)> done)
    {
        var flow = OutputFlow.For(Context.System);
        var topics = FleetTopics.For(Context.System);
        Action giveBack = credits.Return;
        long seq = 0;
        long first = 0;
        Receive<OutputChunk>(chunk =>
        {
            if (first == 0)
            {
                first = Stopwatch.GetTimestamp();
            }

            if (publish)
            {
                var batch = new AgentOutput("flood", "run-1", seq, DateTimeOffset.UtcNow, chunk.Lines);
                flow.Track(batch, OutputFlow.SizeOf(chunk.Lines), giveBack);
                topics.Publish(batch);
            }
            else
            {
                giveBack();
            }

            seq += chunk.Lines.Count;
        });
        Receive<OutputStreamEnded>(_ => done.TrySetResult((seq, first)));
    }
}

internal sealed class Ignore : ReceiveActor
{
    public Ignore() => ReceiveAny(_ => { });
}
