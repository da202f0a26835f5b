using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace DarkFactory.Bench;

/// <summary>
/// Dark Factory as a black box: writes a fleet.yaml (agents in the safety layer: permanent restarts; the shipped
/// supervision defaults, or with <see cref="TargetFleet.Fastest"/> zero backoff and no limits in reach), launches <c>dotnet artifacts/df/df.dll up</c> (what
/// <c>./df</c> execs), reads daemon.json, and asks <c>GET /api/agents</c> for pids.
/// </summary>
/// <param name="buildDirectory">Another build of the daemon (<c>--df-baseline DIR</c>: an older commit, side by side in the same run); null: artifacts/df.</param>
internal sealed class DarkFactoryTarget(string repoRoot, string? buildDirectory = null) : ITarget
{
    public string Name => buildDirectory is null ? "dark-factory" : "df-baseline";

    public string DllPath => Path.Combine(buildDirectory ?? Path.Combine(repoRoot, "artifacts", "df"), "df.dll");

    /// <summary>A baseline build may predate fleet keys the harness writes (<c>min_uptime</c>): its fleet leaves them out.</summary>
    private bool Baseline => buildDirectory is not null;

    /// <summary><c>--df-sandbox off</c>: every agent of this build's fleet runs bare (<c>sandbox: off</c>).</summary>
    public bool SandboxOff { get; init; }

    public string? Unavailable => File.Exists(DllPath) ? null : $"{DllPath} is missing";

    public Task<IRunningTarget> LaunchAsync(TargetFleet fleet, CancellationToken cancel)
    {
        var data = Path.Combine(fleet.WorkDirectory, "data");
        var fleetPath = Path.Combine(fleet.WorkDirectory, "fleet.yaml");
        File.WriteAllText(fleetPath, FleetYaml(fleet, withMinUptime: !Baseline, sandboxOff: SandboxOff));
        var daemonLog = Path.Combine(fleet.WorkDirectory, "daemon.out");

        // sh exec's dotnet (same pid) only to send the daemon's console to a file.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = fleet.WorkDirectory };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec dotnet \"$0\" up --fleet \"$1\" --data-dir \"$2\" --listen 127.0.0.1:0 >\"$3\" 2>&1 </dev/null");
        psi.ArgumentList.Add(DllPath);
        psi.ArgumentList.Add(fleetPath);
        psi.ArgumentList.Add(data);
        psi.ArgumentList.Add(daemonLog);
        foreach (var (k, v) in fleet.Environment)
        {
            psi.Environment[k] = v;
        }

        var launched = Stopwatch.GetTimestamp();
        var process = Process.Start(psi)!;
        return Task.FromResult<IRunningTarget>(new Running(process, launched, data, daemonLog));
    }

    /// <param name="withMinUptime">Write <c>min_uptime: 0s</c> for the fastest fleet (a daemon before it knew the key: no, it restarted every crash at once anyway).</param>
    /// <param name="sandboxOff">Write <c>sandbox: off</c> for every agent (a build before the sandbox does not know the key).</param>
    public static string FleetYaml(TargetFleet fleet, bool withMinUptime = true, bool sandboxOff = false)
    {
        static string Q(string s) => JsonSerializer.Serialize(s);
        var y = new StringBuilder();
        y.AppendLine("version: 1");
        if (fleet.Fastest)
        {
            // fastest: zero backoff, no intensity or quarantine limit in reach, every crash restarted at once
            // (min_uptime 0s below); backoff max must be positive (the loader rejects 0s): with min 0s every delay is 0
            y.AppendLine("layers:");
            y.AppendLine("  safety:");
            y.AppendLine("    strategy: one_for_one");
            y.AppendLine("    max_restarts: 100000000");
            y.AppendLine("    within: 1s");
            y.AppendLine("    backoff: { min: 0s, max: 1ms, jitter: 0, reset_after: 1ms }");
            y.AppendLine("    quarantine_after: 100000000");
            y.AppendLine("    default_restart: permanent");
        }

        // else: the shipped defaults (safety: permanent, one_for_one, 10 restarts a minute, backoff 1 s doubling
        // to 60 s, quarantine after 5 quick crashes; min_uptime 1 s; sandbox auto; Nightwatch on)
        y.AppendLine("agents:");
        foreach (var p in fleet.Programs)
        {
            var env = string.Join(", ", fleet.Environment.Append(new KeyValuePair<string, string>(Peer.ProgKey, p.Name)).Select(kv => $"{kv.Key}: {Q(kv.Value)}"));
            y.AppendLine($"  - name: {p.Name}");
            y.AppendLine("    layer: safety");
            y.AppendLine("    cli: command");
            y.AppendLine($"    command: [{string.Join(", ", p.Argv.Select(Q))}]");
            y.AppendLine($"    restart: {(p.Restart ? "permanent" : "temporary")}");
            y.AppendLine($"    autostart: {(p.Autostart ? "true" : "false")}");
            y.AppendLine($"    grace: {(int)fleet.Grace.TotalMilliseconds}ms");
            if (fleet.Fastest && withMinUptime)
            {
                y.AppendLine("    min_uptime: 0s");
            }

            if (sandboxOff)
            {
                y.AppendLine("    sandbox: off");
            }

            if (env.Length > 0)
            {
                y.AppendLine($"    env: {{ {env} }}");
            }
        }

        return y.ToString();
    }

    private sealed class Running(Process process, long launchedAt, string data, string daemonLog) : IRunningTarget
    {
        private HttpClient? _http;

        public long LaunchedAt => launchedAt;

        public IReadOnlyList<int> SupervisorPids => [process.Id];

        public bool HasExited => process.HasExited;

        public async Task<long> WaitReadyAsync(TimeSpan timeout, CancellationToken cancel)
        {
            var endpointPath = Path.Combine(data, "daemon.json");
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                if (File.Exists(endpointPath))
                {
                    var at = Stopwatch.GetTimestamp();
                    // written in one go but not atomically: parse until it is complete
                    for (var i = 0; i < 2000; i++)
                    {
                        try
                        {
                            using var doc = JsonDocument.Parse(File.ReadAllText(endpointPath));
                            var url = doc.RootElement.GetProperty("url").GetString()!;
                            var token = doc.RootElement.GetProperty("token").GetString()!;
                            _http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
                            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
                            return at;
                        }
                        catch (Exception e) when (e is JsonException or IOException or KeyNotFoundException)
                        {
                            await Task.Delay(1, cancel);
                        }
                    }
                }

                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the daemon exited with {process.ExitCode}: {Tail(daemonLog)}");
                }

                Native.USleep(200);
            }

            throw new TimeoutException($"daemon.json did not appear within {timeout}: {Tail(daemonLog)}");
        }

        public async Task<IReadOnlyDictionary<string, int?>> GetProgramPidsAsync(CancellationToken cancel)
        {
            var json = await Http.GetStringAsync("/api/agents", cancel);
            using var doc = JsonDocument.Parse(json);
            var result = new Dictionary<string, int?>(StringComparer.Ordinal);
            foreach (var a in doc.RootElement.EnumerateArray())
            {
                var name = a.GetProperty("name").GetString()!;
                result[name] = a.TryGetProperty("pid", out var pid) && pid.ValueKind == JsonValueKind.Number ? pid.GetInt32() : null;
            }

            return result;
        }

        public async Task StartProgramAsync(string name, CancellationToken cancel)
        {
            using var response = await Http.PostAsync($"/api/agents/{name}/start", null, cancel);
            response.EnsureSuccessStatusCode();
        }

        public string? OutputLogPath(string program) => Path.Combine(data, "logs", program + ".log");

        public void SignalStop() => Native.Kill(process.Id, Native.SIGTERM);

        public void KillAll()
        {
            if (!process.HasExited)
            {
                Native.Kill(process.Id, Native.SIGKILL);
                process.WaitForExit(5000);
            }
        }

        private HttpClient Http => _http ?? throw new InvalidOperationException("the daemon is not ready");

        public ValueTask DisposeAsync()
        {
            // cleanup, not a measurement: the daemon's own graceful stop first, then SIGKILL
            if (!process.HasExited)
            {
                SignalStop();
                process.WaitForExit(15_000);
            }

            KillAll();
            _http?.Dispose();
            process.Dispose();
            return ValueTask.CompletedTask;
        }

        private static string Tail(string path)
        {
            try
            {
                var lines = File.ReadAllLines(path);
                return string.Join(" | ", lines.TakeLast(5));
            }
            catch (IOException)
            {
                return "(no output)";
            }
        }
    }
}
