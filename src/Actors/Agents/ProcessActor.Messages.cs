using System.Diagnostics;

namespace DarkFactory.Actors.Agents;

/// <summary>The run's messages to itself: its process's exit and its timers.</summary>
public sealed partial class ProcessActor
{
    private sealed record ProcessExited(int Code, int? Signal)
    {
        public static ProcessExited From(Process process)
        {
            var (code, signal) = RunProcess.ExitOf(process);
            return new ProcessExited(code, signal);
        }
    }

    private sealed record KillNow
    {
        public static readonly KillNow Instance = new();
    }

    private sealed record DrainTimedOut
    {
        public static readonly DrainTimedOut Instance = new();
    }

    private sealed record ResultLingered
    {
        public static readonly ResultLingered Instance = new();
    }

    private sealed record MaxRuntimeExceeded
    {
        public static readonly MaxRuntimeExceeded Instance = new();
    }
}
