using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

// df-api-bench [--repo DIR] [--agents 100] [--rate 500] [--seconds 10] [--crashes 20] [--settle 3] [--out FILE]
// Starts the daemon (artifacts/df/df.dll) on a fleet of N ticking agents, waits until the fleet has
// settled (every agent running, then --settle seconds without a lifecycle or status event), then
//  1. drives each endpoint at a fixed request rate (open loop: latency counts from the intended send
//     time, so a stall is not hidden) — /api/health (no actor) is the baseline for the actor-backed ones,
//     run both first and last so a disturbance early or late in the run shows in one of the two;
//  2. SIGKILLs agents one at a time and measures kill -> agent-status (restarted) on the SSE stream
//     that the dashboard reads, next to a baseline client polling GET /api/agents every 10 ms.
var repo = Path.GetFullPath(Arg("--repo") ?? ".");
var agents = int.Parse(Arg("--agents") ?? "100", CultureInfo.InvariantCulture);
var rate = int.Parse(Arg("--rate") ?? "500", CultureInfo.InvariantCulture);
var seconds = int.Parse(Arg("--seconds") ?? "10", CultureInfo.InvariantCulture);
var crashes = int.Parse(Arg("--crashes") ?? "20", CultureInfo.InvariantCulture);
var settle = TimeSpan.FromSeconds(double.Parse(Arg("--settle") ?? "3", CultureInfo.InvariantCulture));
var output = Arg("--out") ?? Path.Combine(repo, "bench", "results", "api.md");
var report = new StringBuilder();
void Say(string line)
{
    Console.WriteLine(line);
    report.AppendLine(line);
}

var work = Directory.CreateTempSubdirectory("df-api-bench-").FullName;
var ticker = Path.Combine(repo, "tests", "agents", "ticker.sh");
var fleet = new StringBuilder("version: 1\nlayers:\n  safety:\n    backoff: { min: 0s, max: 1ms, jitter: 0 }\n    max_restarts: 100000000\n    within: 1m\n    quarantine_after: 100000000\nagents:\n");
for (var i = 0; i < agents; i++)
{
    fleet.Append(CultureInfo.InvariantCulture, $"  - name: a-{i:D3}\n    layer: safety\n    command: [\"{ticker}\", \"1\"]\n    grace: 1s\n");
}

File.WriteAllText(Path.Combine(work, "fleet.yaml"), fleet.ToString());
var data = Path.Combine(work, "data");
var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
foreach (var a in new[] { Path.Combine(repo, "artifacts", "df", "df.dll"), "up", "--fleet", Path.Combine(work, "fleet.yaml"), "--data-dir", data, "--listen", "127.0.0.1:0" })
{
    psi.ArgumentList.Add(a);
}

using var daemon = Process.Start(psi)!;
daemon.OutputDataReceived += (_, _) => { };
daemon.ErrorDataReceived += (_, _) => { };
daemon.BeginOutputReadLine();
daemon.BeginErrorReadLine();
try
{
    var endpointFile = Path.Combine(data, "daemon.json");
    await Until(() => Task.FromResult(File.Exists(endpointFile)), TimeSpan.FromSeconds(60));
    var endpoint = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(endpointFile));
    var handler = new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, MaxConnectionsPerServer = 256 };
    using var http = new HttpClient(handler) { BaseAddress = new Uri(endpoint.GetProperty("url").GetString()!), Timeout = TimeSpan.FromSeconds(30) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.GetProperty("token").GetString());
    // a dashboard's stream, connected from the start (it also tells when the fleet has settled)
    await using var stream = await SseClient.Open(http, "/api/events");
    await stream.WaitFor(e => e.Name == "ready", TimeSpan.FromSeconds(10));
    var startup = Stopwatch.StartNew();
    await Until(async () => (await Agents(http)).Count(a => a.GetProperty("state").GetString() == "running") == agents, TimeSpan.FromSeconds(120));
    var running = startup.Elapsed;
    static bool Lifecycle(Received e) => e.Name is "agent-lifecycle" or "agent-status" or "agent-removed";
    await Until(() => Task.FromResult(stream.Elapsed - (stream.Last(Lifecycle) ?? TimeSpan.Zero) >= settle), TimeSpan.FromSeconds(120));

    Say($"# df-api-bench {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    Say(string.Empty);
    Say($"{Environment.ProcessorCount} cores, load average before: {File.ReadAllText("/proc/loadavg").Trim()}; {agents} agents running (ticker.sh 1 line/s each) after {running.TotalSeconds:0.0} s, then settled ({settle.TotalSeconds:0} s without a lifecycle or status event) after {startup.Elapsed.TotalSeconds:0.0} s; one SSE client connected throughout (as a dashboard).");
    Say(string.Empty);

    Say($"## API latency at {rate} requests/s for {seconds} s each (open loop, from the intended send time)");
    Say(string.Empty);
    Say("| endpoint | requests | errors | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |");
    Say("|---|---|---|---|---|---|---|---|---|");
    var paths = new[] { "/api/health", "/api/agents", "/api/agents/a-007", "/api/capabilities", "/api/status", "/api/health" };
    for (var i = 0; i < paths.Length; i++)
    {
        var path = paths[i];
        await Load(http, path, rate, TimeSpan.FromSeconds(1)); // warm-up
        var (lat, errors, achieved) = await Load(http, path, rate, TimeSpan.FromSeconds(seconds));
        var note = path != "/api/health" ? string.Empty : i == 0 ? " (baseline: no actor; first)" : " (baseline again, last)";
        Say($"| `GET {path}`{note} | {lat.Count + errors} | {errors} | {achieved:0} | {P(lat, 50):0.00} | {P(lat, 90):0.00} | {P(lat, 99):0.00} | {P(lat, 99.9):0.00} | {lat.DefaultIfEmpty().Max():0.00} |");
    }

    Say(string.Empty);
    Say($"## Event -> live client: an agent SIGKILLed -> its restart seen ({crashes} crashes, one at a time)");
    Say(string.Empty);
    var sse = new List<double>();
    var poll = new List<double>();
    var atToClient = new List<double>();
    for (var i = 0; i < crashes; i++)
    {
        var name = $"a-{(i * 7) % agents:D3}";
        var before = (await Agents(http)).Single(a => a.GetProperty("name").GetString() == name);
        var pid = before.GetProperty("pid").GetInt32();
        var restarts = before.GetProperty("restarts").GetInt32();
        var mark = stream.Count;
        using var polling = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var killedAt = stream.Elapsed;
        var poller = Task.Run(async () =>
        {
            // baseline: a client that polls the whole fleet every 10 ms
            while (!polling.IsCancellationRequested)
            {
                var a = (await Agents(http)).Single(x => x.GetProperty("name").GetString() == name);
                if (a.GetProperty("restarts").GetInt32() > restarts && a.GetProperty("state").GetString() == "running")
                {
                    return clock.Elapsed.TotalMilliseconds;
                }

                await Task.Delay(10);
            }

            return double.NaN;
        });
        kill(pid, 9);
        var seen = await stream.WaitFor(
            e => e.Name == "agent-status" && e.Data.Contains($"\"name\":\"{name}\"", StringComparison.Ordinal) && e.Data.Contains($"\"restarts\":{restarts + 1},", StringComparison.Ordinal) && e.Data.Contains("\"state\":\"running\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10),
            mark);
        sse.Add((seen.Clock - killedAt).TotalMilliseconds);
        var crashed = await stream.WaitFor(e => e.Name == "agent-lifecycle" && e.Data.Contains($"\"agent\":\"{name}\"", StringComparison.Ordinal) && e.Data.Contains("\"kind\":\"crashed\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10), mark);
        atToClient.Add((crashed.ReceivedUtc - JsonSerializer.Deserialize<JsonElement>(crashed.Data).GetProperty("at").GetDateTimeOffset()).TotalMilliseconds);
        poll.Add(await poller);
        polling.Cancel();
    }

    Say("| measure | median ms | p90 ms | max ms |");
    Say("|---|---|---|---|");
    Say($"| kill -> `agent-status` restarted, on the SSE stream | {P(sse, 50):0.0} | {P(sse, 90):0.0} | {sse.DefaultIfEmpty().Max():0.0} |");
    Say($"| kill -> restart seen by polling `GET /api/agents` every 10 ms (baseline) | {P(poll, 50):0.0} | {P(poll, 90):0.0} | {poll.DefaultIfEmpty().Max():0.0} |");
    Say($"| `agent-lifecycle` crashed: its `at` -> received by the SSE client | {P(atToClient, 50):0.0} | {P(atToClient, 90):0.0} | {atToClient.DefaultIfEmpty().Max():0.0} |");
    Say($"| events received by the SSE client in the run | {stream.Count} | | |");
    Say(string.Empty);
    Say($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
}
finally
{
    if (!daemon.HasExited)
    {
        daemon.Kill(entireProcessTree: false);
        Process.Start("kill", ["-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture)])?.WaitForExit();
        await daemon.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
    }

    Directory.CreateDirectory(Path.GetDirectoryName(output)!);
    File.WriteAllText(output, report.ToString());
    try
    {
        Directory.Delete(work, recursive: true);
    }
    catch (IOException)
    {
    }
}

return 0;

static async Task<List<JsonElement>> Agents(HttpClient http) =>
    JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/agents")).EnumerateArray().ToList();

static async Task<(List<double> Latencies, int Errors, double Achieved)> Load(HttpClient http, string path, int rate, TimeSpan duration)
{
    var count = (int)(rate * duration.TotalSeconds);
    var latencies = new double[count];
    var ok = new bool[count];
    var tasks = new Task[count];
    var interval = TimeSpan.FromSeconds(1.0 / rate);
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < count; i++)
    {
        var due = interval * i;
        while (clock.Elapsed < due)
        {
            var left = due - clock.Elapsed;
            if (left > TimeSpan.FromMilliseconds(2))
            {
                Thread.Sleep(1);
            }
            else
            {
                Thread.SpinWait(50);
            }
        }

        var index = i;
        tasks[i] = Task.Run(async () =>
        {
            try
            {
                using var response = await http.GetAsync(path, HttpCompletionOption.ResponseContentRead);
                ok[index] = response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
            }

            latencies[index] = (clock.Elapsed - due).TotalMilliseconds;
        });
    }

    await Task.WhenAll(tasks);
    var achieved = count / clock.Elapsed.TotalSeconds;
    var good = latencies.Where((_, i) => ok[i]).ToList();
    return (good, count - good.Count, achieved);
}

static double P(IReadOnlyList<double> values, double percentile)
{
    if (values.Count == 0)
    {
        return double.NaN;
    }

    var sorted = values.Order().ToList();
    var rank = (int)Math.Ceiling(percentile / 100 * sorted.Count) - 1;
    return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
}

static async Task Until(Func<Task<bool>> condition, TimeSpan timeout)
{
    var clock = Stopwatch.StartNew();
    while (!await condition())
    {
        if (clock.Elapsed > timeout)
        {
            throw new TimeoutException("timed out after " + timeout);
        }

        await Task.Delay(50);
    }
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

[DllImport("libc", SetLastError = true)]
static extern int kill(int pid, int signal);
