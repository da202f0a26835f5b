namespace DarkFactory.Actors.Projects;

/// <summary>What the project actor does with an operator's start, resume or pause.</summary>
public enum ProjectCommandAction
{
    /// <summary>Answer only: nothing is recorded.</summary>
    Answer,

    /// <summary>Record the start request (with <see cref="ProjectCommandDecision.Extend"/>), ask for a slot, answer when it is granted or queued.</summary>
    Request,

    /// <summary>An active project: record the extension of its max runtime, answer, go on.</summary>
    Extend,

    /// <summary>Record the pause, stop the run, release the slot, answer.</summary>
    Pause,
}

/// <summary>What the project actor does when the registry grants it a slot (one of <c>projects.concurrency</c>).</summary>
public enum SlotAction
{
    /// <summary>It no longer wants to run (paused meanwhile): give the slot back.</summary>
    Release,

    /// <summary>A start or resume was asked: record the activation, answer the requester, go on.</summary>
    Activate,

    /// <summary>Recovered with a run the previous daemon left going (its processes were swept at start): record it interrupted; its attempt continues in a new run.</summary>
    InterruptRecoveredRun,

    /// <summary>Go on with the next step.</summary>
    Go,
}

/// <param name="Ok">For <see cref="ProjectCommandAction.Answer"/>: whether the answer is a success.</param>
public sealed record ProjectCommandDecision(ProjectCommandAction Action, bool Ok, ProjectCommandOutcome Outcome, string Message, TimeSpan? Extend = null)
{
    public static ProjectCommandDecision Refuse(string message) => new(ProjectCommandAction.Answer, false, ProjectCommandOutcome.Refused, message);

    public static ProjectCommandDecision Unchanged(string message) => new(ProjectCommandAction.Answer, true, ProjectCommandOutcome.Unchanged, message);
}

/// <summary>
/// Pure rules of the operator's commands on a project (<c>df start</c>, <c>resume</c>, <c>pause</c>): from the
/// recorded state, what is refused (with the message that says what to do instead), what changes nothing, and what is
/// recorded.
/// </summary>
public static class ProjectCommands
{
    /// <summary>
    /// An operator's start, resume or pause of this project, as <see cref="Start"/>, <see cref="Resume"/> and
    /// <see cref="Pause"/> decide it; a project not recorded (yet) is not found.
    /// </summary>
    public static ProjectCommandDecision Decide(IWithProject command, ProjectState? s, DateTimeOffset now) => (command, s) switch
    {
        (_, null) => new ProjectCommandDecision(ProjectCommandAction.Answer, false, ProjectCommandOutcome.NotFound, $"no project '{command.Project}'"),
        (ResumeProject r, _) => Resume(s, r.Extend, now),
        (PauseProject, _) => Pause(s),
        _ => Start(s),
    };

    public static ProjectCommandDecision Start(ProjectState s)
    {
        var id = s.Created.ProjectId;
        return s.Status switch
        {
            ProjectStatus.Completed => ProjectCommandDecision.Refuse($"project {id} is completed: nothing to start (its report: df export {id})"),
            ProjectStatus.Failed => ProjectCommandDecision.Refuse($"project {id} failed ({s.Error}): start a new one with df init"),
            ProjectStatus.Timeout => ProjectCommandDecision.Refuse($"project {id} used its max runtime ({s.MaxRuntime}): continue it with df resume {id} --extend 2h"),
            ProjectStatus.Active or ProjectStatus.WaitingForCredits => ProjectCommandDecision.Unchanged($"project {id} is {(s.Status == ProjectStatus.Active ? "active" : "waiting for credits")} already"),
            ProjectStatus.Paused => new ProjectCommandDecision(ProjectCommandAction.Request, true, ProjectCommandOutcome.Resumed, $"project {id} resumed"),
            _ when s.StartRequested => ProjectCommandDecision.Unchanged($"project {id} is queued already (projects.concurrency)"),
            _ => new ProjectCommandDecision(ProjectCommandAction.Request, true, ProjectCommandOutcome.Started, $"project {id} started"),
        };
    }

    public static ProjectCommandDecision Resume(ProjectState s, TimeSpan? extend, DateTimeOffset now)
    {
        var id = s.Created.ProjectId;
        switch (s.Status)
        {
            case ProjectStatus.Completed or ProjectStatus.Failed:
                return ProjectCommandDecision.Refuse($"project {id} is {(s.Status == ProjectStatus.Completed ? "completed" : "failed")}: nothing to resume");
            case ProjectStatus.Initializing when !s.StartRequested:
                return ProjectCommandDecision.Refuse($"project {id} was never started: df start {id}");
            case ProjectStatus.Timeout when s.MaxRuntime + (extend ?? TimeSpan.Zero) <= ProjectRuntime.Used(s, now):
                return ProjectCommandDecision.Refuse($"project {id} used its max runtime ({s.MaxRuntime}): resume it with --extend (e.g. --extend 2h)");
            case ProjectStatus.Active or ProjectStatus.WaitingForCredits or ProjectStatus.Initializing:
                return extend is { } more
                    ? new ProjectCommandDecision(ProjectCommandAction.Extend, true, ProjectCommandOutcome.Resumed, $"project {id}: max runtime extended by {more} to {s.MaxRuntime + more}", more)
                    : ProjectCommandDecision.Unchanged($"project {id} is not paused ({(s.StartRequested ? "queued" : s.Status.ToString().ToLowerInvariant())})");
        }

        return new ProjectCommandDecision(ProjectCommandAction.Request, true, ProjectCommandOutcome.Resumed, $"project {id} resumed" + (extend is { } e ? $" with {e} more runtime" : string.Empty), extend);
    }

    public static ProjectCommandDecision Pause(ProjectState s)
    {
        var id = s.Created.ProjectId;
        if (s.Status is ProjectStatus.Completed or ProjectStatus.Failed or ProjectStatus.Timeout || (s.Status == ProjectStatus.Initializing && !s.StartRequested))
        {
            return ProjectCommandDecision.Refuse($"project {id} is {(s.Status == ProjectStatus.Initializing ? "not started" : Json(s.Status))}: nothing to pause");
        }

        if (s.Status == ProjectStatus.Paused)
        {
            return ProjectCommandDecision.Unchanged($"project {id} is paused already");
        }

        return new ProjectCommandDecision(ProjectCommandAction.Pause, true, ProjectCommandOutcome.Paused, $"project {id} paused");
    }

    /// <summary>Whether the project wants a slot: a start or resume asked, or active, or waiting for credits.</summary>
    public static bool WantsToRun(ProjectState? s) =>
        s is not null && (s.StartRequested || s.Status is ProjectStatus.Active or ProjectStatus.WaitingForCredits);

    /// <summary>What a granted slot means.</summary>
    /// <param name="recovered">The actor recovered this state from its journal and has not stepped since.</param>
    public static SlotAction OnSlot(ProjectState? s, bool recovered) =>
        !WantsToRun(s) ? SlotAction.Release
        : s!.StartRequested ? SlotAction.Activate
        : recovered && s.CurrentRunId is not null ? SlotAction.InterruptRecoveredRun
        : SlotAction.Go;

    /// <summary>The answer to a pause once recorded: whether the run is still stopping.</summary>
    public static string Paused(ProjectState s) =>
        s.CurrentRunId is { } run
            ? $"project {s.Created.ProjectId} paused: its run {run} is stopping; df resume {s.Created.ProjectId} continues it"
            : $"project {s.Created.ProjectId} paused";

    private static string Json(ProjectStatus status) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString());
}
