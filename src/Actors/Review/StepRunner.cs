namespace DarkFactory.Actors.Review;

/// <summary>
/// Runs a step machine's slow parts for its actor, one at a time: each in a task with its own cancellation, its
/// result (an exception becomes the result <c>failed</c> makes of its description, <see cref="ReviewSteps.Describe"/>)
/// sent back to the actor as a <see cref="Done"/> tagged with a generation. A result of a step that was cancelled, or
/// of a subject that is no longer current, is told apart by <see cref="Accept"/>. The task gets only what the caller
/// captured: never the actor's fields. Not thread-safe: the actor's. The compound review's steps
/// (<see cref="StepRunner{TStage}"/>) and a project's (<see cref="Projects.ProjectStepRunner"/>) both run on it.
/// </summary>
/// <typeparam name="TStage">How the machine names its steps (recorded with a failure).</typeparam>
/// <typeparam name="TResult">What a step answers.</typeparam>
public class StepRunner<TStage, TResult>(Func<string, TResult> failed) : IDisposable
{
    private CancellationTokenSource? _work;
    private int _generation;

    /// <summary>A step is in flight.</summary>
    public bool Busy { get; private set; }

    /// <summary>Told of each step's task until its result is back (<see cref="BackgroundWork.Of"/>: a scenario's virtual time waits for it); null: nobody.</summary>
    public IBackgroundWork? Tracker { get; init; }

    /// <summary>Starts <paramref name="work"/>; its <see cref="Done"/> goes to <paramref name="self"/>.</summary>
    /// <param name="subject">What the step belongs to (a review's id): checked again when it is done.</param>
    public void Run(IActorRef self, string subject, TStage stage, Func<CancellationToken, Task<TResult>> work)
    {
        Busy = true;
        var generation = ++_generation;
        _work?.Dispose();
        _work = new CancellationTokenSource();
        var ct = _work.Token;
        var held = Tracker?.Begin();
        var sent = Task.Run(() => work(ct), ct).ContinueWith(
            t => new Done(generation, subject, stage, t.IsCompletedSuccessfully ? t.Result : failed(t.Exception?.GetBaseException() is { } e ? ReviewSteps.Describe(e) : "cancelled")),
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default).PipeTo(self);
        if (held is not null)
        {
            sent.ContinueWith(_ => held.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <summary>True when <paramref name="done"/> is the step in flight and <paramref name="subject"/> is still its subject (then nothing is in flight any more).</summary>
    public bool Accept(Done done, string? subject)
    {
        if (done.Generation != _generation || done.Subject != subject)
        {
            return false;
        }

        Busy = false;
        return true;
    }

    /// <summary>Cancels the step in flight; its result will not be accepted.</summary>
    public void Cancel()
    {
        _work?.Cancel();
        _generation++;
        Busy = false;
    }

    public void Dispose()
    {
        _work?.Cancel();
        _work?.Dispose();
        _work = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>A step's result, back at the actor.</summary>
    public sealed record Done(int Generation, string Subject, TStage Stage, TResult Result);
}

/// <summary>The compound review's steps: a failure is <see cref="StepResult.Failed"/>.</summary>
public sealed class StepRunner<TStage>() : StepRunner<TStage, StepResult>(error => new StepResult.Failed(error));
