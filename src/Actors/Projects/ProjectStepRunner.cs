using DarkFactory.Actors.Review;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// Runs the slow part of a project's step (git, gates, a file, the forge) in a task, one at a time, off the actor's
/// mailbox (<see cref="StepRunner{TStage, TResult}"/>, as the compound review's steps): its events, or its error as
/// the project records it, come back to the actor as a <see cref="StepRunner{TStage, TResult}.Done"/> whose stage is
/// the step's name. The outcome of a step the actor no longer waits for (a newer one started) is stale. Not
/// thread-safe: the actor's own.
/// </summary>
public sealed class ProjectStepRunner() : StepRunner<string, ProjectStepRunner.Outcome>(error => new Outcome([], error))
{
    /// <summary>A step's outcome: its events in order (none: nothing to record), or its error.</summary>
    public sealed record Outcome(IReadOnlyList<IProjectEvent> Events, string? Error);

    /// <summary>Starts <paramref name="work"/> in a task; its outcome goes to <paramref name="self"/>.</summary>
    public void Run(string step, Func<CancellationToken, Task<IReadOnlyList<IProjectEvent>>> work, IActorRef self) =>
        Run(self, string.Empty, step, async ct => new Outcome(await work(ct), null));

    /// <summary>Whether <paramref name="done"/> is the outcome of the step in flight (then nothing is in flight any more).</summary>
    public bool Accept(Done done) => Accept(done, string.Empty);
}
