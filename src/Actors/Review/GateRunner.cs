using System.Diagnostics;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;

namespace DarkFactory.Actors.Review;

/// <summary>
/// Runs the quality gates of a review in its worktree, one after another, each in its own process group
/// (setsid) so a timeout kills the gate and everything it started, and when it ends, whatever it left behind. A gate runs code the agent just wrote:
/// it gets the agent's allowlisted environment (never the daemon's: no provider keys, no forge token), and
/// its output (stdout and stderr together) goes through the redactor of every secret the daemon knows,
/// line by line, before it is kept: the last <see cref="MaxOutputChars"/> characters. Two built-in gates come
/// first: no changed path leaves the worktree, and no changed file holds a known secret.
/// </summary>
public static class GateRunner
{
    public const int MaxOutputChars = 16 * 1024;
    public const string PathsGate = "worktree-paths";
    public const string SecretsGate = "no-secrets";

    /// <summary>Files larger than this are not searched for secrets (they are reported as skipped).</summary>
    public const long MaxScannedFileBytes = 16L * 1024 * 1024;
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(2);

    /// <summary>How long output is still read after the gate ended and what it left was killed.</summary>
    public static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);
    private static readonly string Setsid = Executables.Find("setsid") ?? "setsid";

    /// <summary>
    /// The built-in paths and secrets gates, then the configured gates in order; all run even when one fails,
    /// so the report shows each.
    /// </summary>
    /// <param name="environment">The gates' whole environment (nothing of the daemon's is inherited).</param>
    /// <param name="secrets">Masks every known secret in the gates' output; the secrets gate looks for the same values.</param>
    /// <param name="sandbox">Where gates run sandboxed (<see cref="GateSandbox.For"/>); null: as the daemon's user.</param>
    /// <param name="cgroups">The daemon's run cgroups: each gate gets one, killed when the gate ends (null or unavailable: group and marker only).</param>
    public static async Task<IReadOnlyList<GateResult>> RunAllAsync(
        IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> changedFiles, IReadOnlyDictionary<string, string> environment, Redactor secrets, GateSandbox? sandbox, CancellationToken ct, RunCgroups? cgroups = null)
    {
        var results = new List<GateResult>();
        var escaping = Worktrees.Escaping(worktree, changedFiles);
        results.Add(new GateResult(PathsGate, escaping.Count == 0, escaping.Count == 0 ? 0 : 1, 0, 0, Output: secrets.Redact(escaping.Count == 0
            ? $"{changedFiles.Count} changed file(s), all inside the worktree\n"
            : "outside the worktree: " + string.Join(", ", escaping) + "\n")));
        results.Add(SecretsCheck(worktree, changedFiles, escaping, secrets));
        foreach (var gate in gates)
        {
            ct.ThrowIfCancellationRequested();
            results.Add(await RunAsync(gate, worktree, environment, secrets, ct, sandbox, cgroups));
        }

        return results;
    }

    /// <summary>The built-in secrets gate: no changed file (inside the worktree, not a link) holds a secret the daemon knows.</summary>
    public static GateResult SecretsCheck(string worktree, IReadOnlyList<string> changedFiles, IReadOnlyList<string> escaping, Redactor secrets)
    {
        var clock = Stopwatch.StartNew();
        var holding = new List<string>();
        var skipped = new List<string>();
        foreach (var file in changedFiles)
        {
            if (escaping.Contains(file))
            {
                continue; // the paths gate fails it already; nothing outside the worktree is read
            }

            var info = new FileInfo(Path.Combine(worktree, file));
            if (!info.Exists || info.LinkTarget is not null)
            {
                continue;
            }

            if (info.Length > MaxScannedFileBytes)
            {
                skipped.Add(file);
                continue;
            }

            if (secrets.Contains(File.ReadAllBytes(info.FullName)))
            {
                holding.Add(file);
            }
        }

        var output = holding.Count == 0
            ? $"{changedFiles.Count} changed file(s), none holds a known secret\n"
            : "a known secret (a provider key, the forge token or an agent's secret) is in: " + string.Join(", ", holding) + "\n";
        if (skipped.Count > 0)
        {
            output += $"not searched (over {MaxScannedFileBytes / (1024 * 1024)} MiB): {string.Join(", ", skipped)}\n";
        }

        return new GateResult(SecretsGate, holding.Count == 0, holding.Count == 0 ? 0 : 1, 0, clock.ElapsedMilliseconds, Output: secrets.Redact(output));
    }

    /// <summary>
    /// Runs one gate. The gate ends when its process ends, whatever it left behind: then its process group, every
    /// process carrying its run marker (a descendant that called setsid, a double fork), its cgroup where the daemon
    /// has them (a process that cleared its environment too) and, sandboxed, the whole pid namespace (the reaper)
    /// are killed, and output still held open by something out of reach (a process
    /// that cleared its environment outside a sandbox) is read at most <see cref="DrainGrace"/> longer. The gate's
    /// duration is its process's: start to exit (or to the timeout's kill).
    /// </summary>
    /// <param name="environment">The gate's whole environment; its <c>DF_RUN</c> marker gets a suffix of this gate's own.</param>
    public static async Task<GateResult> RunAsync(GateSpec gate, string worktree, IReadOnlyDictionary<string, string> environment, Redactor secrets, CancellationToken ct, GateSandbox? sandbox = null, RunCgroups? cgroups = null)
    {
        var output = new BoundedText(MaxOutputChars, tail: true);
        var clock = Stopwatch.StartNew();
        if (gate.Command.Count == 0)
        {
            return new GateResult(gate.Name, false, null, gate.ExpectExit, 0, Output: "no command");
        }

        var marker = GateMarker(environment.GetValueOrDefault(ProcessTree.RunMarker), gate.Name);
        var env = new Dictionary<string, string>(environment) { [ProcessTree.RunMarker] = marker };
        var cgroup = cgroups is { Available: true } ? cgroups.For("gate", marker[(marker.LastIndexOf('-') + 1)..]) : null;
        var (file, arguments) = RunConfinement.Wrap(Setsid, sandbox is null ? gate.Command : sandbox.Wrap(worktree, env.GetValueOrDefault("PATH"), gate.Command), cgroup);
        var process = new Process { StartInfo = LaunchPlan.Piped(file, arguments, env, worktree) };
        try
        {
            if (cgroup is not null)
            {
                RunCgroups.Create(cgroup);
            }

            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            process.Dispose();
            Release(cgroup);
            return new GateResult(gate.Name, false, null, gate.ExpectExit, clock.ElapsedMilliseconds, Output: $"could not start {gate.Command[0]}: {e.Message}");
        }

        var pid = process.Id;
        process.StandardInput.Close();
        var readers = Task.WhenAll(Pump(process.StandardOutput, output, secrets), Pump(process.StandardError, output, secrets));

        // the process's exit, not the end of its output: a descendant holding stdout must not keep the gate running
        var exited = process.WaitForExitAsync(CancellationToken.None);
        var timeout = Task.Delay(gate.Timeout, ct);
        var timedOut = await Task.WhenAny(exited, timeout) != exited;
        if (timedOut)
        {
            // timeout or the review's cancellation: TERM to the group, then KILL
            Native.KillGroup(pid, Native.SIGTERM);
            if (await Task.WhenAny(exited, Task.Delay(KillGrace, CancellationToken.None)) != exited)
            {
                Native.KillGroup(pid, Native.SIGKILL);
                await exited;
            }
        }

        var duration = clock.ElapsedMilliseconds;
        var exitCode = process.ExitCode;
        _ = readers.ContinueWith(_ => process.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Abandon(pid, marker, cgroup); // nothing the gate started outlives it
        var drained = await Task.WhenAny(readers, Task.Delay(DrainGrace, CancellationToken.None)) == readers;
        var tail = drained ? string.Empty : $"\n[the gate's output was still held open {DrainGrace.TotalSeconds:0} s after it ended, by a process out of its reach; no longer read]\n";
        if (timedOut)
        {
            ct.ThrowIfCancellationRequested();
            return new GateResult(gate.Name, false, null, gate.ExpectExit, duration, TimedOut: true, Output: output + $"\n[timed out after {gate.Timeout}]\n" + tail);
        }

        return new GateResult(gate.Name, exitCode == gate.ExpectExit, exitCode, gate.ExpectExit, duration, Output: output + tail);
    }

    /// <summary>A gate's own run marker: the review's or project's marker (or "gate"), the gate's name and a random suffix.</summary>
    public static string GateMarker(string? parent, string gate) =>
        $"{parent ?? "gate"}/gate-{new string(gate.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').Take(40).ToArray())}-{Guid.NewGuid():N}";

    /// <summary>Kills what a gate left: its process group, every process carrying its marker, its cgroup (then removed).</summary>
    private static void Abandon(int pid, string marker, string? cgroup)
    {
        Native.KillGroup(pid, Native.SIGKILL);
        ProcessTree.KillMarked([marker]);
        if (cgroup is not null)
        {
            RunCgroups.Kill(cgroup);
            Release(cgroup);
        }
    }

    /// <summary>Removes a gate's cgroup once its killed processes are gone (a few tries in the background; the next start's sweep takes what is left).</summary>
    private static void Release(string? cgroup)
    {
        if (cgroup is null || RunCgroups.Remove(cgroup))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            for (var i = 0; i < 50 && !RunCgroups.Remove(cgroup); i++)
            {
                await Task.Delay(100);
            }
        });
    }

    private static async Task Pump(StreamReader reader, BoundedText output, Redactor secrets)
    {
        try
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                output.AppendLine(secrets.Redact(line));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // the pipe went away: what was read is kept
        }
    }
}
