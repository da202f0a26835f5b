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

    private sealed record KillNow : Signal<KillNow>;

    private sealed record DrainTimedOut : Signal<DrainTimedOut>;

    private sealed record ResultLingered : Signal<ResultLingered>;

    private sealed record MaxRuntimeExceeded : Signal<MaxRuntimeExceeded>;
}
