namespace DarkFactory.Actors.Projects;

/// <summary>What a project does with the fleet's answer to the start of its run.</summary>
public enum StartVerdict
{
    /// <summary>An answer nobody waits for any more (a newer start, a pause, a failure): dropped.</summary>
    Stale,

    /// <summary>The run is going (<see cref="ProjectStartAnswer.RunId"/>): record its start.</summary>
    Started,

    /// <summary>A declared limit holds it: the layer starts it when a place frees (its Started event says so).</summary>
    Queued,

    /// <summary>No provider has a route: waiting for credits; the layer starts it when the router finds one.</summary>
    WaitForCredits,

    /// <summary>The run cannot be started: the project fails (<see cref="ProjectStartAnswer.Message"/> says why).</summary>
    Fail,

    /// <summary>The layer is restarting, busy or did not answer: ask again a little later.</summary>
    Retry,
}

/// <param name="StopOrphan">For <see cref="StartVerdict.Stale"/>: the fleet started (or holds) a run nobody waits for: stop it.</param>
public sealed record ProjectStartAnswer(StartVerdict Verdict, string Message, string? RunId = null, bool StopOrphan = false);

/// <summary>
/// The start of a project's run while the fleet has not started it yet: the run asked for, whether it waits in the
/// fleet's admission queue or for credits, the tries so far, and which answer is the current one (an answer to a
/// start the project gave up is stale). Decides what each answer means (<see cref="Answer"/>). Not thread-safe: the
/// actor's own, like <see cref="ProjectRunLedger"/>.
/// </summary>
public sealed class ProjectStarts
{
    private int _generation;

    /// <summary>The run asked of the fleet, or waiting for a place or a route; null when none is.</summary>
    public ProjectRunRequest? Pending { get; private set; }

    /// <summary>The pending run waits in the fleet's admission queue (a declared limit).</summary>
    public bool Queued { get; private set; }

    /// <summary>Tries since the last run that started (the fleet was restarting, busy or silent).</summary>
    public int Tries { get; private set; }

    /// <summary>A start asked of the fleet: the generation its answer carries.</summary>
    public int Begin(ProjectRunRequest run)
    {
        Pending = run;
        Queued = false;
        return ++_generation;
    }

    /// <summary>
    /// What the fleet's answer to the start of generation <paramref name="generation"/> means, with the pending run
    /// updated: kept while the run is starting, queued or waiting for credits, dropped when it failed or is retried.
    /// </summary>
    /// <param name="wanted">Whether the project still wants to run (not paused, failed or finished meanwhile).</param>
    /// <param name="maxTries">Tries before a fleet that never takes the run fails the project.</param>
    public ProjectStartAnswer Answer(int generation, ProjectRunRequest run, CommandResult? result, string? error, bool wanted, int maxTries)
    {
        if (generation != _generation || Pending is null || !wanted)
        {
            return new ProjectStartAnswer(StartVerdict.Stale, "a start nobody waits for", StopOrphan: result is { Outcome: CommandOutcome.Started or CommandOutcome.WaitingForProvider or CommandOutcome.Queued });
        }

        if (error is not null)
        {
            Pending = null;
            return new ProjectStartAnswer(StartVerdict.Fail, error);
        }

        var r = result!;
        switch (r.Outcome)
        {
            case CommandOutcome.Started or CommandOutcome.AlreadyRunning when r.RunId is { } runId:
                return new ProjectStartAnswer(StartVerdict.Started, r.Message, runId); // pending until its start is recorded
            case CommandOutcome.Queued:
                (Pending, Queued) = (run, true);
                return new ProjectStartAnswer(StartVerdict.Queued, r.Message);
            case CommandOutcome.WaitingForProvider:
                Pending = run;
                return new ProjectStartAnswer(StartVerdict.WaitForCredits, r.Message);
            case CommandOutcome.UnknownAgent or CommandOutcome.Unavailable or CommandOutcome.Quarantined:
                Pending = null;
                return new ProjectStartAnswer(StartVerdict.Fail, $"{run.Persona.Name}'s agent '{run.Agent}' cannot run: {r.Message}");
        }

        Pending = null;
        return ++Tries >= maxTries
            ? new ProjectStartAnswer(StartVerdict.Fail, $"the fleet did not start {run.Agent} after {Tries} tries; the last answer: {r.Message}")
            : new ProjectStartAnswer(StartVerdict.Retry, r.Message);
    }

    /// <summary>
    /// Whether a run's Started event is the pending run's, started by the layer itself: a queued run given its place, or
    /// a run that waited for credits given a route.
    /// </summary>
    public bool StartedByLayer(AgentLifecycle e, bool waitingForCredits) =>
        e.Kind == LifecycleKind.Started && Pending is { } p && (waitingForCredits || Queued) && e.TaskId == p.TaskId;

    /// <summary>The pending run's start is recorded: nothing pending, the tries start again.</summary>
    public void Started()
    {
        (Pending, Queued, Tries) = (null, false, 0);
    }

    /// <summary>Gives the pending start up (pause, timeout, failure): its answer will be stale. The agent to stop, if one was chosen.</summary>
    public string? Cancel()
    {
        if (Pending is not { } pending)
        {
            return null;
        }

        (Pending, Queued) = (null, false);
        _generation++;
        return pending.Agent.Length > 0 ? pending.Agent : null;
    }
}
