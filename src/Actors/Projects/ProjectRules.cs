namespace DarkFactory.Actors.Projects;

/// <summary>The next thing a project has to do, derived from its recorded state only.</summary>
public enum ProjectStep
{
    /// <summary>Not active (initializing, paused, timeout): nothing until a start or resume.</summary>
    Idle,

    /// <summary>Completed or failed.</summary>
    Done,

    /// <summary>Active past its max runtime: stop the run gracefully, record the timeout.</summary>
    TimeOut,

    /// <summary>A run is going: wait for its end.</summary>
    AwaitRun,

    /// <summary>Start the planner on the description (again with the parse error, once).</summary>
    Plan,

    /// <summary>The plan run ended: read its answer into the task list, or reject it.</summary>
    ReadPlan,

    /// <summary>Start a run of <see cref="ProjectNext.Task"/>: a new attempt, or one an interruption left open.</summary>
    Work,

    /// <summary>Record the intent to commit the attempt's changes (before any git command).</summary>
    IntendCommit,

    /// <summary>Commit the attempt's changes (or find the commit a killed daemon already made).</summary>
    Commit,

    /// <summary>Run the persona's acceptance criteria as gates in the worktree.</summary>
    RunGates,

    /// <summary>The attempt is over: the task is completed, retried with a handoff, or blocked.</summary>
    Decide,

    /// <summary>Start an audit run on the completed tasks.</summary>
    Audit,

    /// <summary>The audit run ended: read its verdicts.</summary>
    ReadAudit,

    WriteReport,

    /// <summary>Record the PR about to be opened (before pushing or calling the forge).</summary>
    IntendPr,

    /// <summary>Push the work branch, look up a PR for it and open one only if there is none.</summary>
    OpenPr,

    Complete,

    /// <summary>Record the project as failed (<see cref="ProjectNext.Reason"/> says why).</summary>
    Fail,
}

/// <param name="Task">For the task steps: the task.</param>
/// <param name="Attempt">For the task steps: the attempt (Work: the open attempt an interruption left, else null for a new one).</param>
public sealed record ProjectNext(ProjectStep Step, ProjectTask? Task = null, TaskAttempt? Attempt = null, string? Reason = null);

/// <summary>
/// Pure rules of a project's flow: the next step from the recorded state (plan → work → check → handoff →
/// audit → finish), the verdict on an attempt, and the handoff each run gets. A recovered actor asks
/// <see cref="Next"/> and resumes exactly where the journal stopped.
/// </summary>
public static class ProjectRules
{
    /// <summary>Invalid planner answers before the project fails (the second run gets the first one's error).</summary>
    public const int MaxPlanRejections = 2;

    /// <summary>Characters of a final message or gate output a handoff carries.</summary>
    public const int HandoffChars = 4000;

    public static ProjectNext Next(ProjectState s, DateTimeOffset now)
    {
        switch (s.Status)
        {
            case ProjectStatus.Completed or ProjectStatus.Failed:
                return new ProjectNext(ProjectStep.Done);
            case ProjectStatus.Initializing or ProjectStatus.Paused or ProjectStatus.Timeout:
                return new ProjectNext(ProjectStep.Idle);
        }

        if (s.Status == ProjectStatus.Active && ProjectRuntime.Exceeded(s, now))
        {
            return new ProjectNext(ProjectStep.TimeOut, Reason: $"max runtime {s.MaxRuntime} reached");
        }

        if (s.CurrentRunId is not null)
        {
            return new ProjectNext(ProjectStep.AwaitRun);
        }

        if (s.TaskListVersion == 0)
        {
            if (s.PlanRun is { EndedAt: not null })
            {
                return new ProjectNext(ProjectStep.ReadPlan);
            }

            return s.PlanRejections >= MaxPlanRejections
                ? new ProjectNext(ProjectStep.Fail, Reason: $"the planner's answer was invalid {s.PlanRejections} times; the last: {s.LastPlanError}")
                : new ProjectNext(ProjectStep.Plan);
        }

        if (s.PendingCommit is { } commit && s.Task(commit.TaskId) is { } committing)
        {
            return new ProjectNext(ProjectStep.Commit, committing, committing.Attempts.LastOrDefault(a => a.Number == commit.Attempt));
        }

        foreach (var t in s.Tasks)
        {
            if (t.Status != ProjectTaskStatus.InProgress || t.Attempts.Count == 0 || t.Attempts[^1] is not { EndedAt: not null, Verdict: null } a)
            {
                continue;
            }

            if (!a.Committed)
            {
                return new ProjectNext(ProjectStep.IntendCommit, t, a);
            }

            return a.ExitCode == 0 && a.Gates.Count == 0 ? new ProjectNext(ProjectStep.RunGates, t, a) : new ProjectNext(ProjectStep.Decide, t, a);
        }

        if (s.AuditRun is { EndedAt: not null })
        {
            return new ProjectNext(ProjectStep.ReadAudit);
        }

        var next = TaskPicker.Next(s.Tasks);
        if (s.CompletedSinceAudit > 0 && (next is null || ProjectRuntime.Used(s, now) - s.RuntimeAtLastAudit >= s.Created.AuditInterval))
        {
            return new ProjectNext(ProjectStep.Audit);
        }

        if (next is not null)
        {
            var open = next.Attempts.Count > 0 && next.Attempts[^1] is { EndedAt: null } o ? o : null;
            return new ProjectNext(ProjectStep.Work, next, open);
        }

        if (s.Tasks.All(t => t.Status is ProjectTaskStatus.Completed or ProjectTaskStatus.Skipped))
        {
            if (s.ReportPath is null)
            {
                return new ProjectNext(ProjectStep.WriteReport);
            }

            if (s.Created.CreatePr && s.PrIntent is null)
            {
                return new ProjectNext(ProjectStep.IntendPr);
            }

            return s.Created.CreatePr && s.Pr is null ? new ProjectNext(ProjectStep.OpenPr) : new ProjectNext(ProjectStep.Complete);
        }

        var blocked = s.Tasks.Where(t => t.Status == ProjectTaskStatus.Blocked).Select(t => t.Id).ToList();
        var waiting = TaskPicker.Stuck(s.Tasks).Select(t => t.Id).ToList();
        return new ProjectNext(ProjectStep.Fail, Reason: $"no task can run: blocked {string.Join(", ", blocked)}{(waiting.Count > 0 ? "; waiting for them: " + string.Join(", ", waiting) : string.Empty)}");
    }

    /// <summary>Why an attempt failed (its run, its gates), or null when it passed.</summary>
    public static string? FailureOf(TaskAttempt a)
    {
        if (a.ExitCode != 0)
        {
            return a.ExitCode is { } code ? $"the run exited with code {code}" : "the run ended without an exit code";
        }

        var failed = a.Gates.Where(g => !g.Passed).ToList();
        return failed.Count == 0
            ? null
            : "gates failed: " + string.Join(", ", failed.Select(g => g.TimedOut ? $"{g.Name} (timed out)" : $"{g.Name} (exit {g.ExitCode?.ToString() ?? "none"}, expected {g.ExpectExit})"));
    }

    /// <summary>The verdict on a finished attempt: the task completed, retried with a handoff, or blocked.</summary>
    public static IProjectEvent Decide(ProjectState s, ProjectTask task, TaskAttempt attempt, DateTimeOffset at)
    {
        var id = s.Created.ProjectId;
        if (FailureOf(attempt) is not { } failure)
        {
            var gates = attempt.Gates.Count == 0 ? string.Empty : ": " + string.Join(", ", attempt.Gates.Select(g => g.Name)) + " passed";
            return new TaskCompleted(id, at, task.Id, attempt.Number, $"attempt {attempt.Number} passed{gates}");
        }

        if (task.AttemptsThisRound() < s.Created.MaxAttempts)
        {
            return new HandoffRecorded(id, at, task.Id, attempt.Number, "failed: " + failure, RetryHandoff(task, attempt, failure));
        }

        return new TaskBlocked(id, at, task.Id, attempt.Number, $"{task.AttemptsThisRound()} attempt(s) failed; the last: {failure}");
    }

    /// <summary>A retry's context: the failure, the run's final message, what it changed, the gates with the failures' output tails, its session.</summary>
    public static HandoffContext RetryHandoff(ProjectTask task, TaskAttempt a, string failure) => new(
        task.Id,
        task.Title,
        $"attempt {a.Number} failed: {failure}",
        FromRunId: a.RunId,
        FromPersona: task.Persona,
        FinalMessage: Tail(a.FinalMessage),
        ChangedFiles: a.FilesChanged,
        Gates: a.Gates.Select(g => g with { Output = g.Passed ? string.Empty : Tail(g.Output) ?? string.Empty }).ToList(),
        SessionId: a.SessionId,
        Cli: a.Cli);

    /// <summary>
    /// The context a run of <paramref name="task"/> gets: the pending handoff (a failed attempt's, an audit's), an
    /// interrupted attempt's own context with its session, or what the latest completed dependency handed over.
    /// </summary>
    public static HandoffContext? HandoffFor(ProjectState s, ProjectTask task, TaskAttempt? open)
    {
        if (open is not null)
        {
            var original = open.Handoff;
            return new HandoffContext(
                task.Id,
                task.Title,
                "your previous run of this attempt was interrupted (pause, timeout or a daemon restart): continue where it stopped" + (original is null ? string.Empty : "; before that: " + original.Reason),
                FromRunId: open.RunId,
                FromPersona: task.Persona,
                FinalMessage: original?.FinalMessage,
                ChangedFiles: original?.ChangedFiles,
                Gates: original?.Gates,
                SessionId: open.SessionId ?? original?.SessionId,
                Cli: open.Cli ?? original?.Cli);
        }

        if (task.PendingHandoff is { } pending)
        {
            return pending;
        }

        var from = task.Dependencies.Select(s.Task).OfType<ProjectTask>()
            .Where(d => d.Status == ProjectTaskStatus.Completed && d.Attempts.Count > 0)
            .OrderByDescending(d => d.CompletedAt).FirstOrDefault();
        if (from is null)
        {
            return null;
        }

        var last = from.Attempts[^1];
        return new HandoffContext(
            task.Id,
            task.Title,
            $"{from.Persona} completed {from.Id} ({from.Title}), which this task depends on",
            FromRunId: last.RunId,
            FromPersona: from.Persona,
            FinalMessage: Tail(last.FinalMessage),
            ChangedFiles: last.FilesChanged,
            Gates: last.Gates.Select(g => g with { Output = string.Empty }).ToList(),
            Cli: last.Cli);
    }

    /// <summary>
    /// The CLI conversation a run given <paramref name="handoff"/> continues: the earlier run's session when that run
    /// was this same persona's (a retry, or an interrupted attempt); never another persona's (a tester does not
    /// continue the engineer's conversation). Null: a fresh conversation, the handoff in the prompt.
    /// </summary>
    public static SessionResume? ResumeOf(HandoffContext? handoff, string persona) =>
        handoff is { FromRunId: { } run, SessionId: { } session } && handoff.FromPersona == persona ? new SessionResume(run, session) : null;

    /// <summary>The attempt number a new run of <paramref name="task"/> belongs to.</summary>
    public static int AttemptNumber(ProjectTask task, TaskAttempt? open) => open?.Number ?? task.Attempts.Count + 1;

    /// <summary>
    /// The event of a step that needs nothing but the recorded state — read the plan or the audit answer, intend the
    /// commit, decide an attempt, intend the PR — or null for any other step (a run, git, gates, a file, the forge).
    /// </summary>
    public static IProjectEvent? PureStep(ProjectState s, ProjectNext next, DateTimeOffset now)
    {
        var id = s.Created.ProjectId;
        switch (next.Step)
        {
            case ProjectStep.ReadPlan:
                var (planned, planError) = PlanAnswer.Parse(s.PlanRun!.FinalMessage, s.Created.Personas);
                return planned is null ? new PlanRejected(id, now, s.PlanRun.RunId, planError!) : new TasksPlanned(id, now, s.PlanRun.RunId, PlanAnswer.ToTasks(planned, now));
            case ProjectStep.IntendCommit:
                return new CommitIntended(id, now, next.Task!.Id, next.Attempt!.Number, CommitMessage(s, next.Task, next.Attempt.Number));
            case ProjectStep.Decide:
                return Decide(s, next.Task!, next.Attempt!, now);
            case ProjectStep.ReadAudit:
                var (verdicts, auditError) = AuditAnswer.Parse(s.AuditRun!.FinalMessage, s.Tasks);
                return new AuditRecorded(id, now, s.AuditRun.RunId, verdicts ?? [], auditError);
            case ProjectStep.IntendPr:
                var (title, body) = ProjectReport.PullRequest(s);
                return new ProjectPrIntended(id, now, s.Created.WorkBranch, title, body);
            default:
                return null;
        }
    }

    /// <summary>Most pure steps folded into one write (a chain is two in practice: an attempt's end and its commit intent).</summary>
    public const int MaxPureSteps = 4;

    /// <summary>
    /// The event <paramref name="e"/> and the events of the pure steps that follow it (<see cref="PureStep"/>, chained),
    /// so they are persisted in one write instead of one each. Recovery stays exact: each follower is what
    /// <see cref="Next"/> and <see cref="PureStep"/> make of the state before it, so a journal that ends after any of them
    /// resumes with the same step the actor would have taken.
    /// </summary>
    public static IReadOnlyList<IProjectEvent> WithPureSteps(ProjectState? s, IProjectEvent e, DateTimeOffset now) => WithPureSteps(s, [e], now);

    /// <summary>A step's events (an attempt's commit and its gates) and the pure steps that follow the last of them.</summary>
    public static IReadOnlyList<IProjectEvent> WithPureSteps(ProjectState? s, IReadOnlyList<IProjectEvent> outcome, DateTimeOffset now)
    {
        var events = new List<IProjectEvent>(outcome);
        var state = ProjectStateRules.Apply(s, outcome[0]);
        foreach (var e in outcome.Skip(1))
        {
            state = ProjectStateRules.Apply(state, e);
        }

        while (events.Count - outcome.Count < MaxPureSteps && PureStep(state, Next(state, now), now) is { } follower)
        {
            events.Add(follower);
            state = ProjectStateRules.Apply(state, follower);
        }

        return events;
    }

    /// <summary>The commit message of an attempt; its trailer finds the commit again after a restart.</summary>
    public static string CommitMessage(ProjectState s, ProjectTask task, int attempt) =>
        $"{Clip(task.Title, 60)}\n\nProject {s.Created.Name} ({s.Created.ProjectId}), task {task.Id}, attempt {attempt}, persona {task.Persona}.\n\n{CommitTrailer(s.Created.ProjectId, task.Id, attempt)}";

    public static string CommitTrailer(string projectId, string taskId, int attempt) => $"DF-Attempt: {projectId}/{taskId}/{attempt}";

    internal static string? Tail(string? text) => text is null ? null : text.Length <= HandoffChars ? text : "[...]\n" + text[^HandoffChars..];

    internal static string Clip(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
