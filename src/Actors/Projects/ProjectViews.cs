namespace DarkFactory.Actors.Projects;

/// <summary>What <c>df status</c>, <c>df list</c> and <c>df tasks</c> show of a project's state (pure; runtime as of <c>now</c>).</summary>
public static class ProjectViews
{
    public static ProjectView Status(ProjectState s, DateTimeOffset now)
    {
        var c = s.Created;
        var current = s.CurrentRun();
        return new ProjectView
        {
            Id = c.ProjectId,
            Name = c.Name,
            Status = s.Status,
            Description = c.Description,
            Repo = c.Repo,
            BaseBranch = c.BaseBranch,
            WorkBranch = c.WorkBranch,
            Worktree = c.Worktree,
            Personas = c.Personas,
            MaxRuntime = s.MaxRuntime,
            RuntimeUsed = ProjectRuntime.Used(s, now),
            RuntimeLeft = ProjectRuntime.Left(s, now),
            CostUsd = s.CostUsd,
            Tokens = s.InputTokens + s.OutputTokens,
            InputTokens = s.InputTokens,
            OutputTokens = s.OutputTokens,
            CurrentTask = current?.TaskId ?? s.WaitingTaskId,
            CurrentRun = current,
            Tasks = Counts(s.Tasks),
            Parent = c.Parent,
            Children = s.Children,
            Queued = s.StartRequested,
            TaskListVersion = s.TaskListVersion,
            CreatedAt = c.At,
            StartedAt = s.StartedAt,
            EndedAt = s.EndedAt,
            ReportPath = s.ReportPath,
            PrUrl = s.Pr?.Url,
            Error = s.Error,
            Note = s.Note,
        };
    }

    public static IReadOnlyList<ProjectTaskView> Tasks(ProjectState s) => s.Tasks.Select(t => new ProjectTaskView
    {
        Id = t.Id,
        Title = t.Title,
        Status = t.Status,
        Priority = t.Priority,
        Dependencies = t.Dependencies,
        Persona = t.Persona,
        Confidence = t.Confidence,
        Notes = t.Notes,
        Description = t.Description,
        CreatedAt = t.CreatedAt,
        StartedAt = t.StartedAt,
        CompletedAt = t.CompletedAt,
        Reopened = t.Reopened,
        Attempts = t.Attempts.Select(a => new ProjectAttemptView
        {
            Number = a.Number,
            RunId = a.RunId,
            Agent = a.Agent,
            Cli = a.Cli,
            Provider = a.Provider,
            Model = a.Model,
            ExitCode = a.ExitCode,
            Gates = a.Gates.Select(g => new ProjectGateView(g.Name, g.Passed, g.ExitCode, g.DurationMs, g.TimedOut)).ToList(),
            StartedAt = a.StartedAt,
            EndedAt = a.EndedAt,
            Commit = a.Commit,
            FilesChanged = a.FilesChanged,
            Verdict = a.Verdict,
            HandoffReason = a.Handoff?.Reason,
            SessionId = a.SessionId,
            CostUsd = a.CostUsd,
        }).ToList(),
    }).ToList();

    public static ProjectTaskCounts Counts(IReadOnlyList<ProjectTask> tasks) => new(
        tasks.Count,
        tasks.Count(t => t.Status == ProjectTaskStatus.Pending),
        tasks.Count(t => t.Status == ProjectTaskStatus.InProgress),
        tasks.Count(t => t.Status == ProjectTaskStatus.Blocked),
        tasks.Count(t => t.Status == ProjectTaskStatus.Completed),
        tasks.Count(t => t.Status == ProjectTaskStatus.Skipped));

    /// <summary>The run going, as the status shows it (null between runs).</summary>
    public static ProjectCurrentRun? CurrentRun(this ProjectState s)
    {
        if (s.CurrentRunId is not { } id)
        {
            return null;
        }

        if (s.PlanRun is { } plan && plan.RunId == id)
        {
            return new ProjectCurrentRun(id, ProjectRunPurpose.Plan, plan.Agent, plan.Persona);
        }

        if (s.AuditRun is { } audit && audit.RunId == id)
        {
            return new ProjectCurrentRun(id, ProjectRunPurpose.Audit, audit.Agent, audit.Persona);
        }

        return s.AttemptOf(id) is { } found
            ? new ProjectCurrentRun(id, ProjectRunPurpose.Task, found.Attempt.Agent, found.Task.Persona, found.Task.Id, found.Attempt.Number)
            : null;
    }
}
