using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DarkFactory.Actors.Processes;
using DarkFactory.Host.Daemon;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The real daemon as an OS process (`dotnet df.dll up`) on a temporary data directory, and the real
/// `df` command line against it. Disposing kills whatever is left (daemon and every agent it started).
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private static readonly string DfDll = Path.Combine(AppContext.BaseDirectory, "df.dll");
    private readonly StringBuilder _output = new();
    private Process? _process;

    public DaemonProcess(string fleetYaml, string? dataDir = null)
    {
        Root = dataDir is null ? Directory.CreateTempSubdirectory("df-e2e-").FullName : Path.GetDirectoryName(dataDir)!;
        DataDir = dataDir ?? Path.Combine(Root, "data");
        FleetPath = Path.Combine(Root, "fleet.yaml");
        File.WriteAllText(FleetPath, fleetYaml);
    }

    public string Root { get; }
    public string DataDir { get; }
    public string FleetPath { get; }
    public int Pid => _process?.Id ?? 0;

    /// <summary>Whether the daemon process has ended (by itself or killed).</summary>
    public bool HasExited => _process is { HasExited: true };
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string DaemonId => new DataDirectory(DataDir).DaemonId;

    /// <summary>Extra arguments of <c>df up</c> (set before <see cref="StartAsync"/>).</summary>
    public List<string> UpArguments { get; } = [];

    /// <summary>Extra environment variables of the daemon process (set before <see cref="StartAsync"/>).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public static string Agent(string script) => Path.Combine(RepoRoot(), "tests", "agents", script);

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "DarkFactory.sln")))
        {
            dir = dir.Parent;
        }

        return dir.FullName;
    }

    public async Task StartAsync()
    {
        var endpoint = Path.Combine(DataDir, "daemon.json");
        if (File.Exists(endpoint))
        {
            File.Delete(endpoint);
        }
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in Environment)
        {
            psi.Environment[key] = value;
        }

        foreach (var a in new[] { DfDll, "up", "--fleet", FleetPath, "--data-dir", DataDir, "--listen", "127.0.0.1:0" }.Concat(UpArguments))
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Until(() => Task.FromResult(File.Exists(endpoint) || _process.HasExited), TimeSpan.FromSeconds(60), "daemon.json");
        if (_process.HasExited)
        {
            // HasExited can be seen before the output handlers got the last lines: WaitForExitAsync also
            // waits for the redirected streams to reach their end, so the message carries what the daemon said.
            await _process.WaitForExitAsync();
            throw new InvalidOperationException($"daemon exited with {_process.ExitCode}:\n{Output}");
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>Runs `df ARGS --data-dir DIR` (unless ARGS name their own --data-dir) and returns its exit code and output.</summary>
    public async Task<(int Exit, string Stdout, string Stderr)> Df(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(DfDll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (!args.Contains("--data-dir"))
        {
            psi.ArgumentList.Add("--data-dir");
            psi.ArgumentList.Add(DataDir);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120)); // a scenario diff replays twice: minutes under a loaded suite
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts <c>df ARGS --data-dir DIR</c> without waiting for it (a follower): output redirected; the caller reads and disposes it.</summary>
    public Process StartDf(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { DfDll }.Concat(args).Concat(["--data-dir", DataDir]))
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }

    public async Task<JsonElement> Json(params string[] args)
    {
        var (exit, stdout, stderr) = await Df(args);
        if (exit != 0)
        {
            throw new InvalidOperationException($"df {string.Join(' ', args)} exited {exit}: {stderr}");
        }

        return JsonSerializer.Deserialize<JsonElement>(stdout);
    }

    public async Task<JsonElement> AgentAsync(string name) =>
        (await ApiJson("/api/agents")).EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);

    public async Task<JsonElement> ApiJson(string path)
    {
        using var http = Client();
        return JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync(path));
    }

    /// <summary>The answer at <paramref name="path"/>, or null while the daemon answers with an HTTP error (a singleton moving: 503).</summary>
    public async Task<JsonElement?> ApiJsonOrNull(string path)
    {
        try
        {
            return await ApiJson(path);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    public HttpClient Client(bool withToken = true)
    {
        var endpoint = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(Path.Combine(DataDir, "daemon.json")));
        var http = new HttpClient { BaseAddress = new Uri(endpoint.GetProperty("url").GetString()!) };
        if (withToken)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.GetProperty("token").GetString());
        }

        return http;
    }

    public void Signal(string signal) => Process.Start("kill", ["-" + signal, Pid.ToString()])!.WaitForExit();

    /// <summary>SIGTERM, then wait for the daemon to exit; returns its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        Signal("TERM");
        using var cts = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Waits for the daemon to exit by itself (or be killed from elsewhere); returns its exit code.</summary>
    public async Task<int> ExitedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void KillHard()
    {
        _process?.Kill();
        _process?.WaitForExit();
    }

    /// <summary>
    /// SIGKILL without the lifeline (the case the next start's sweep is for: the daemon and its guard killed together,
    /// as a kill of their whole group would): the daemon stopped (it cannot start another guard), the guard killed,
    /// then the daemon. Its runs live on.
    /// </summary>
    public void KillHardWithoutLifeline()
    {
        var guard = LifelinePid();
        if (guard <= 0)
        {
            throw new InvalidOperationException("the daemon has no lifeline guard");
        }

        Signal("STOP");
        Native.Kill(guard, Native.SIGKILL);
        KillHard();
    }

    /// <summary>The daemon's lifeline guard (<see cref="Lifeline"/>): its child running the guard's shell; 0 when none.</summary>
    public int LifelinePid()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                if (parent == Pid && File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("df-lifeline", StringComparison.Ordinal))
                {
                    return pid;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // gone meanwhile
            }
        }

        return 0;
    }

    /// <summary>Live agent processes of this daemon's data directory (by their run marker).</summary>
    public IReadOnlyList<int> AgentProcesses() => ProcessTree.FindMarked(DaemonId + "/");

    /// <summary>Live processes of one agent of this daemon's data directory (by their run marker).</summary>
    public IReadOnlyList<int> AgentProcesses(string agent) => ProcessTree.FindMarked(DaemonId + "/" + agent + "/");

    /// <summary>Like the static <see cref="Until(Func{Task{bool}}, TimeSpan, string)"/>; a timeout names the daemon's last log lines.</summary>
    public async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        try
        {
            await Until(condition, timeout, what);
        }
        catch (TimeoutException e)
        {
            var tail = Output.Split('\n').TakeLast(40);
            throw new TimeoutException($"{e.Message}; the daemon's last lines:\n{string.Join('\n', tail)}", e);
        }
    }

    /// <summary>
    /// Awaits <paramref name="condition"/>. The daemon answering "busy" for a moment (a 503 from the API, df's "did not
    /// answer": an actor still recovering its journal, a loaded machine) is "not yet", never a verdict; the timeout
    /// names the last such answer. Any other exception ends the wait at once.
    /// </summary>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        Exception? busy = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (Busy(e))
            {
                busy = e;
            }

            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout} waiting for {what}" + (busy is null ? string.Empty : $" (the daemon last answered: {busy.Message})"));
            }

            await Task.Delay(20);
        }
    }

    /// <summary>The daemon's typed "busy, try again": 503 from the API (an ask timed out, a singleton moving), as HTTP or through df.</summary>
    public static bool Busy(Exception e) =>
        e is HttpRequestException { StatusCode: System.Net.HttpStatusCode.ServiceUnavailable }
        || (e is InvalidOperationException && (e.Message.Contains("did not answer", StringComparison.Ordinal) || e.Message.Contains("try again", StringComparison.Ordinal)));

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        ProcessTree.KillMarked([DaemonId + "/"]);
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
