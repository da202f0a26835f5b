// The memory floor (issue 18): what a plain ASP.NET Core + Akka process with the daemon's runtime settings holds
// when idle, so the daemon's figures can be read as runtime + ours. It listens on 127.0.0.1:0 with one endpoint, runs
// one actor system with one actor ticking nothing, settles, and prints its own /proc/self/smaps_rollup before and
// after one aggressive collection (the daemon's start-up trim), and the CPU it used while idle (the settle window).
// Usage: bench/floor [--settle SECONDS] [--scheduler tickless|wheel]  (tickless: the daemon's; wheel: Akka's, 100 ms)
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;

var settle = args.SkipWhile(a => a != "--settle").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(10);
var scheduler = args.SkipWhile(a => a != "--scheduler").Skip(1).FirstOrDefault("tickless");
var implementation = scheduler switch
{
    "tickless" => "akka.scheduler.implementation = \"DarkFactory.Actors.Timing.TicklessScheduler, DarkFactory.Actors\"", // by name: the wheel's floor never loads the assembly
    "wheel" => "akka.scheduler.tick-duration = 100ms",
    _ => throw new ArgumentException($"--scheduler {scheduler}: tickless or wheel"),
};
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseUrls("http://127.0.0.1:0");
var app = builder.Build();
app.MapGet("/", () => "floor");
await app.StartAsync();
using var system = ActorSystem.Create("floor", ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + implementation));
var echo = system.ActorOf(Props.Create<Echo>(), "echo");
await echo.Ask<string>("hello", TimeSpan.FromSeconds(10));
var cpu = Environment.CpuUsage.TotalTime;
var wall = System.Diagnostics.Stopwatch.StartNew();
await Task.Delay(TimeSpan.FromSeconds(settle));
var idle = (Environment.CpuUsage.TotalTime - cpu) / wall.Elapsed * 100;
Console.WriteLine($"plain ASP.NET Core + Akka ({scheduler} scheduler), idle {settle} s, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}: CPU {idle:0.000} % of a core  {Rollup()}");
GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
await Task.Delay(TimeSpan.FromSeconds(1));
Console.WriteLine($"after one aggressive collection: {Rollup()}");
await system.Terminate();
await app.StopAsync();

static string Rollup() => string.Join("  ", File.ReadAllLines("/proc/self/smaps_rollup")
    .Select(l => l.Split(':', 2))
    .Where(p => p.Length == 2 && p[0] is "Rss" or "Pss" or "Pss_Anon" or "Pss_File" or "Pss_Shmem")
    .Select(p => $"{p[0]} {long.Parse(p[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0:0.0} MiB"));

internal sealed class Echo : ReceiveActor
{
    public Echo() => Receive<string>(s => Sender.Tell(s));
}
