using System.Diagnostics;
using CliWrap;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Review;

namespace DarkFactory.Actors.Review;

/// <summary>
/// Runs the quality gates of a review in its worktree, one after another, each in its own process group
/// (setsid) so a timeout kills the gate and everything it started. A gate runs code the agent just wrote:
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
    private static readonly string Setsid = Executables.Find("setsid") ?? "setsid";

    /// <summary>
    /// The built-in paths and secrets gates, then the configured gates in order; all run even when one fails,
    /// so the report shows each.
    /// </summary>
    /// <param name="environment">The gates' whole environment (nothing of the daemon's is inherited).</param>
    /// <param name="secrets">Masks every known secret in the gates' output; the secrets gate looks for the same values.</param>
    /// <param name="sandbox">Where gates run sandboxed (<see cref="GateSandbox.For"/>); null: as the daemon's user.</param>
    public static async Task<IReadOnlyList<GateResult>> RunAllAsync(
        IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> changedFiles, IReadOnlyDictionary<string, string> environment, Redactor secrets, GateSandbox? sandbox, CancellationToken ct)
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
            results.Add(await RunAsync(gate, worktree, environment, secrets, ct, sandbox));
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

    public static async Task<GateResult> RunAsync(GateSpec gate, string worktree, IReadOnlyDictionary<string, string> environment, Redactor secrets, CancellationToken ct, GateSandbox? sandbox = null)
    {
        var output = new BoundedText(MaxOutputChars, tail: true);
        var clock = Stopwatch.StartNew();
        if (gate.Command.Count == 0)
        {
            return new GateResult(gate.Name, false, null, gate.ExpectExit, 0, Output: "no command");
        }

        using var forceful = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var command = Cli.Wrap(Setsid)
            .WithArguments(sandbox is null ? gate.Command : sandbox.Wrap(worktree, environment.GetValueOrDefault("PATH"), gate.Command))
            .WithWorkingDirectory(worktree)
            .WithEnvironmentVariables(ChildEnvironment.Exactly(environment))
            .WithValidation(CommandResultValidation.None)
            .WithStandardInputPipe(PipeSource.Null)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line => output.AppendLine(secrets.Redact(line))))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(line => output.AppendLine(secrets.Redact(line))));
        CommandTask<CommandResult> task;
        try
        {
            task = command.ExecuteAsync(forceful.Token);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new GateResult(gate.Name, false, null, gate.ExpectExit, clock.ElapsedMilliseconds, Output: $"could not start {gate.Command[0]}: {e.Message}");
        }

        var pid = task.ProcessId;
        Task<CommandResult> running = task;
        var timeout = Task.Delay(gate.Timeout, ct);
        var done = await Task.WhenAny(running, timeout);
        if (done != running)
        {
            // timeout or the review's cancellation: TERM to the group, then KILL
            Native.KillGroup(pid, Native.SIGTERM);
            if (await Task.WhenAny(running, Task.Delay(KillGrace, CancellationToken.None)) != running)
            {
                Native.KillGroup(pid, Native.SIGKILL);
                forceful.Cancel();
            }

            try
            {
                await running;
            }
            catch (OperationCanceledException)
            {
            }

            ct.ThrowIfCancellationRequested();
            return new GateResult(gate.Name, false, null, gate.ExpectExit, clock.ElapsedMilliseconds, TimedOut: true, Output: output + $"\n[timed out after {gate.Timeout}]\n");
        }

        var result = await running;
        Native.KillGroup(pid, Native.SIGKILL); // nothing the gate started outlives it
        return new GateResult(gate.Name, result.ExitCode == gate.ExpectExit, result.ExitCode, gate.ExpectExit, clock.ElapsedMilliseconds, Output: output.ToString());
    }
}
