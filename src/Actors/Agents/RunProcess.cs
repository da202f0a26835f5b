using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using DarkFactory.Actors.Processes;

namespace DarkFactory.Actors.Agents;

/// <summary>
/// The OS side of one run, for <see cref="ProcessActor"/>: its directory, cgroup and config files, the process
/// start (a failure classified as the agent's declaration or this run's), the task on stdin, the exit status, and
/// the directory's removal. No actor state: the actor decides when, this does what.
/// </summary>
public static class RunProcess
{
    /// <summary>The run's temp directory, its cgroup (one mkdir; <paramref name="noCgroup"/> says why there is none) and an AI CLI's config files.</summary>
    public static void Prepare(LaunchPlan plan, Action<string> noCgroup)
    {
        if (plan.TempDirectory is not null)
        {
            Directory.CreateDirectory(plan.TempDirectory);
        }

        if (plan.Cgroup is { } cgroup)
        {
            try
            {
                RunCgroups.Create(cgroup); // the run's first program joins it
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                noCgroup(e.Message);
            }
        }

        if (plan.Session is { } session)
        {
            RunSessions.Restore(session); // before the config files: they may live in the same directory
        }

        // a few hundred bytes each, in the run's own directory
        foreach (var file in plan.Files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file.Path)!);
            File.WriteAllText(file.Path, file.Content);
        }
    }

    /// <summary>
    /// Starts the plan's process with its exit raised to <paramref name="exited"/> (on a thread-pool thread).
    /// Throws <see cref="AgentMisconfiguredException"/> or <see cref="RunStartFailedException"/> (<see cref="StartFailure"/>).
    /// </summary>
    public static Process Start(LaunchPlan plan, string agent, string runId, Action<Process> exited)
    {
        var process = new Process { StartInfo = plan.StartInfo(), EnableRaisingEvents = true };
        process.Exited += (_, _) => exited(process);
        try
        {
            process.Start();
            return process;
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            throw StartFailure(agent, runId, plan, e);
        }
    }

    /// <summary>
    /// The run's stdout and stderr pipes for its pumps, with the process's <see cref="StreamReader"/>s over them dropped:
    /// a reader holds 12 KiB of buffers (8 KiB of chars, 4 KiB of bytes) that the pumps, which read the pipes' bytes,
    /// never use, for as long as the run lives: 4.8 MiB of the live heap of 100 silent agents with their standbys
    /// (docs/benchmarks.md, issue 18 round 7). The caller owns the two streams and disposes them when the run is over
    /// (the process no longer does). A runtime whose <see cref="Process"/> keeps its readers under other names keeps
    /// them: the same streams, only the buffers stay.
    /// </summary>
    public static (Stream Stdout, Stream Stderr) TakeOutputs(Process process)
    {
        var stdout = process.StandardOutput.BaseStream;
        var stderr = process.StandardError.BaseStream;
        try
        {
            OutputReader(process) = null;
            ErrorReader(process) = null;
        }
        catch (MissingFieldException)
        {
        }

        return (stdout, stderr);
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_standardOutput")]
    private static extern ref StreamReader? OutputReader(Process process);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_standardError")]
    private static extern ref StreamReader? ErrorReader(Process process);

    /// <summary>
    /// A program that is missing or not executable (ENOENT, EACCES, ENOEXEC, ENOTDIR) is the agent's declaration: not
    /// restarted. Anything else (E2BIG, ENOMEM, EAGAIN) is this run's failure, and the agent stays available.
    /// </summary>
    public static Exception StartFailure(string agent, string runId, LaunchPlan plan, Win32Exception e)
    {
        var what = $"cannot start '{plan.Arguments.FirstOrDefault(a => !a.StartsWith('-')) ?? plan.FileName}': {e.Message}";
        return e.NativeErrorCode is Native.ENOENT or Native.EACCES or Native.ENOEXEC or Native.ENOTDIR
            ? new AgentMisconfiguredException(agent, what)
            : new RunStartFailedException(agent, runId, what);
    }

    /// <summary>Releases a standby (<see cref="Processes.Standby"/>): its first stdin line, a few bytes into an empty pipe (never blocks); false when its shell is gone.</summary>
    public static bool Release(Process process)
    {
        try
        {
            process.StandardInput.Write(Processes.Standby.Go);
            process.StandardInput.Flush();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The task on stdin, written off the caller's thread (it may be larger than the pipe and never read); no task: stdin closed.</summary>
    public static void WriteStdin(Process process, string? text)
    {
        var stdin = process.StandardInput;
        if (string.IsNullOrEmpty(text))
        {
            stdin.Close();
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await stdin.WriteAsync(text).ConfigureAwait(false);
                await stdin.FlushAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // the agent closed its stdin or exited
            }
            finally
            {
                try
                {
                    stdin.Close();
                }
                catch (IOException)
                {
                }
            }
        });
    }

    /// <summary>The exit code (-1 when it cannot be read) and the signal a 128+n code stands for (143 is SIGTERM).</summary>
    public static (int Code, int? Signal) ExitOf(Process process)
    {
        int code;
        try
        {
            code = process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        return (code, code is > 128 and < 160 ? code - 128 : null);
    }

    /// <summary>
    /// Signals the run started from <paramref name="plan"/> as pid <paramref name="pid"/>: a sandboxed run in a cgroup
    /// gets a SIGTERM to its cgroup's processes but bubblewrap's monitor, which exits with the program
    /// (<see cref="LaunchPlan.TermByCgroup"/>); any other signal or run (and one whose first program has not joined its
    /// cgroup yet) its process group, or the process alone right after the start, before its setsid.
    /// </summary>
    public static void Signal(LaunchPlan plan, int pid, int signal)
    {
        if (signal == Native.SIGTERM && plan.TermByCgroup && RunCgroups.Signal(plan.Cgroup!, signal, except: pid) > 0)
        {
            return;
        }

        if (Native.GetPgid(pid) == pid)
        {
            Native.KillGroup(pid, signal);
        }
        else
        {
            Native.Kill(pid, signal);
        }
    }

    /// <summary>Removes the run's temp directory in the background (nothing to wait for; a failure leaves it for the next sweep).</summary>
    public static void RemoveDirectory(string? temp)
    {
        if (temp is null)
        {
            return;
        }

        _ = Task.Run(() =>
        {
            try
            {
                Directory.Delete(temp, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        });
    }
}
