using System.Diagnostics;
using CliWrap;
using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Review;

namespace DarkFactory.Actors.Review;

/// <summary>
/// Runs the quality gates of a review in its worktree, one after another, each in its own process group
/// (setsid) so a timeout kills the gate and everything it started. Output (stdout and stderr together)
/// is kept bounded: the last <see cref="MaxOutputChars"/> characters.
/// </summary>
public static class GateRunner
{
    public const int MaxOutputChars = 16 * 1024;
    public const string PathsGate = "worktree-paths";
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(2);
    private static readonly string Setsid = Executables.Find("setsid") ?? "setsid";

    /// <summary>
    /// The built-in paths gate (every changed file stays inside the worktree), then the configured gates in
    /// order; all run even when one fails, so the report shows each.
    /// </summary>
    /// <param name="environment">Changes to the daemon's environment (null removes a variable: the forge token).</param>
    public static async Task<IReadOnlyList<GateResult>> RunAllAsync(
        IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> changedFiles, IReadOnlyDictionary<string, string?> environment, CancellationToken ct)
    {
        var results = new List<GateResult>();
        var escaping = Worktrees.Escaping(worktree, changedFiles);
        results.Add(new GateResult(PathsGate, escaping.Count == 0, escaping.Count == 0 ? 0 : 1, 0, 0, Output: escaping.Count == 0
            ? $"{changedFiles.Count} changed file(s), all inside the worktree\n"
            : "outside the worktree: " + string.Join(", ", escaping) + "\n"));
        foreach (var gate in gates)
        {
            ct.ThrowIfCancellationRequested();
            results.Add(await RunAsync(gate, worktree, environment, ct));
        }

        return results;
    }

    public static async Task<GateResult> RunAsync(GateSpec gate, string worktree, IReadOnlyDictionary<string, string?> environment, CancellationToken ct)
    {
        var output = new BoundedText(MaxOutputChars, tail: true);
        var clock = Stopwatch.StartNew();
        if (gate.Command.Count == 0)
        {
            return new GateResult(gate.Name, false, null, gate.ExpectExit, 0, Output: "no command");
        }

        using var forceful = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var command = Cli.Wrap(Setsid)
            .WithArguments(gate.Command)
            .WithWorkingDirectory(worktree)
            .WithEnvironmentVariables(environment)
            .WithValidation(CommandResultValidation.None)
            .WithStandardInputPipe(PipeSource.Null)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(output.AppendLine))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(output.AppendLine));
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
