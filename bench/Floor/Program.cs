// The memory floor (issue 18): what a plain ASP.NET Core + Akka process with the daemon's runtime settings holds
// when idle, so the daemon's figures can be read as runtime + ours. It listens on 127.0.0.1:0 with one endpoint, runs
// one actor system with one actor ticking nothing, settles, and prints its own /proc/self/smaps_rollup before and
// after one aggressive collection (the daemon's start-up trim). Usage: bench/floor [--settle SECONDS]
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;

var settle = args.SkipWhile(a => a != "--settle").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(10);
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseUrls("http://127.0.0.1:0");
var app = builder.Build();
app.MapGet("/", () => "floor");
await app.StartAsync();
using var system = ActorSystem.Create("floor", ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.scheduler.tick-duration = 100ms"));
var echo = system.ActorOf(Props.Create<Echo>(), "echo");
await echo.Ask<string>("hello", TimeSpan.FromSeconds(10));
await Task.Delay(TimeSpan.FromSeconds(settle));
Console.WriteLine($"plain ASP.NET Core + Akka, idle {settle} s, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}: {Rollup()}");
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
