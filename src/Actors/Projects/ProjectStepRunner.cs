using Akka.Actor;
using DarkFactory.Actors.Review;
using DarkFactory.Messages.Projects;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// Runs the slow part of a project's step (git, gates, a file, the forge) in a task, one at a time, off the actor's
/// mailbox: its events, or its error as the project records it, comes back to the actor as a <see cref="Done"/>. The
/// outcome of a step the actor no longer waits for (a newer one started) is stale. Not thread-safe: the actor's own.
/// </summary>
public sealed class ProjectStepRunner : IDisposable
{
    private int _generation;
    private CancellationTokenSource? _work;

    /// <summary>A step's outcome: its events in order (none: nothing to record), or its error.</summary>
    public sealed record Done(int Generation, string Step, IReadOnlyList<IProjectEvent> Events, string? Error);

    /// <summary>A step is in flight.</summary>
    public bool Busy { get; private set; }

    /// <summary>Starts <paramref name="work"/> in a task; its <see cref="Done"/> goes to <paramref name="self"/>.</summary>
    public void Run(string step, Func<CancellationToken, Task<IReadOnlyList<IProjectEvent>>> work, IActorRef self)
    {
        Busy = true;
        var generation = ++_generation;
        _work?.Dispose();
        _work = new CancellationTokenSource();
        var ct = _work.Token;
        Task.Run(() => work(ct), ct).ContinueWith(
            t => t.IsCompletedSuccessfully
                ? new Done(generation, step, t.Result, null)
                : new Done(generation, step, [], t.Exception?.GetBaseException() is { } e ? Describe(e) : "cancelled"),
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default).PipeTo(self);
    }

    /// <summary>Whether <paramref name="done"/> is the outcome of the step in flight (then nothing is in flight any more).</summary>
    public bool Accept(Done done)
    {
        if (done.Generation != _generation)
        {
            return false;
        }

        Busy = false;
        return true;
    }

    /// <summary>An error as a step's outcome says it: git's and the forge's own message, else the exception's type and message.</summary>
    public static string Describe(Exception e) => e switch
    {
        GitException or ForgeException => e.Message,
        OperationCanceledException => "cancelled",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    /// <summary>Cancels the step in flight (the actor stops).</summary>
    public void Dispose()
    {
        _work?.Cancel();
        _work?.Dispose();
        _work = null;
    }
}
