using System.Collections.Immutable;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// Pure rules of a project's recorded state: each persisted event applied to a <see cref="ProjectState"/>,
/// so a recovered actor (from its snapshot and the events after it) holds exactly what it held before.
/// An event costs O(log n) in the project's tasks and runs (they are kept as a <see cref="TaskList"/> and an
/// immutable list), so replaying a journal of n events is O(n log n), not O(n²).
/// </summary>
public static class ProjectStateRules
{
    /// <summary>Times an audit may send one task back to in_progress (then its verdicts are only noted).</summary>
    public const int MaxReopens = 2;

    /// <summary>Unreadable audit answers in a row before the audit is given up (noted) and the project goes on.</summary>
    public const int MaxAuditErrors = 2;

    public static ProjectState Apply(ProjectState? state, IProjectEvent e)
    {
        if (e is ProjectCreated created)
        {
            return new ProjectState { Created = created, MaxRuntime = created.MaxRuntime, Events = 1 };
        }

        if (state is null)
        {
            throw new InvalidOperationException($"{e.GetType().Name} of project {e.ProjectId} before its project-created event");
        }

        var s = state with { Events = state.Events + 1 };
        return e switch
        {
            ProjectStartRequested r => s with
            {
                // an active project is only extended; the others wait for a slot
                StartRequested = s.StartRequested || s.Status is ProjectStatus.Initializing or ProjectStatus.Paused or ProjectStatus.Timeout,
                MaxRuntime = s.MaxRuntime + (r.Extend ?? TimeSpan.Zero),
            },
            ProjectActivated a => s with
            {
                Status = ProjectStatus.Active,
                StartRequested = false,
                ActiveSince = s.Status == ProjectStatus.Active && s.ActiveSince is { } since ? since : a.At,
                StartedAt = s.StartedAt ?? a.At,
                WaitingTaskId = null,
            },
            ProjectPaused p => Inactive(s, p.At) with { Status = ProjectStatus.Paused, StartRequested = false, WaitingTaskId = null },
            ProjectTimedOut t => Inactive(s, t.At) with { Status = ProjectStatus.Timeout, StartRequested = false, WaitingTaskId = null },
            ProjectWaitingForCredits w => Inactive(s, w.At) with { Status = ProjectStatus.WaitingForCredits, WaitingTaskId = w.TaskId },
            ProjectRunStarted r => RunStarted(s, r),
            ProjectRunEnded r => RunEnded(s, r),
            PlanRejected p => s with { PlanRejections = s.PlanRejections + 1, LastPlanError = p.Error, PlanRun = null },
            TasksPlanned p => s with { Tasks = TaskList.Of(p.Tasks), TaskListVersion = 1, PlanRun = null, LastPlanError = null },
            CommitIntended c => s with { PendingCommit = c },
            AttemptCommitted c => UpdateAttempt(s, c.TaskId, c.Attempt, (t, a) => (t, a with { Committed = true, Commit = c.Commit, FilesChanged = c.Files })) with { PendingCommit = null },
            AttemptGated g => UpdateAttempt(s, g.TaskId, g.Attempt, (t, a) => (t, a with { Gates = g.Results })),
            TaskCompleted c => UpdateAttempt(s, c.TaskId, c.Attempt, (t, a) => (
                t with { Status = ProjectTaskStatus.Completed, CompletedAt = c.At, PendingHandoff = null, Notes = Note(t.Notes, c.Note) },
                a with { Verdict = "passed" })) with
            { CompletedSinceAudit = s.CompletedSinceAudit + 1 },
            HandoffRecorded h => UpdateAttempt(s, h.TaskId, h.Attempt, (t, a) => (
                t with { PendingHandoff = h.Handoff, Notes = Note(t.Notes, $"attempt {a.Number}: {h.Verdict}") },
                a with { Verdict = h.Verdict })),
            TaskBlocked b => UpdateAttempt(s, b.TaskId, b.Attempt, (t, a) => (
                t with { Status = ProjectTaskStatus.Blocked, PendingHandoff = null, Notes = Note(t.Notes, "blocked: " + b.Reason) },
                a with { Verdict = a.Verdict ?? "failed" })),
            AuditRecorded a => Audited(s, a),
            ProjectReportWritten w => s with { ReportPath = w.Path },
            ProjectPrIntended p => s with { PrIntent = p },
            ProjectPrOpened p => s with { Pr = p },
            ProjectCompleted c => Inactive(s, c.At) with { Status = ProjectStatus.Completed, StartRequested = false, EndedAt = c.At, Note = c.Note, WaitingTaskId = null },
            ProjectFailed f => Inactive(s, f.At) with { Status = ProjectStatus.Failed, StartRequested = false, EndedAt = f.At, Error = f.Reason, WaitingTaskId = null },
            ProjectChildAdded c => s.Children.Contains(c.ChildId) ? s : s with { Children = [.. s.Children, c.ChildId] },
            _ => throw new InvalidOperationException($"unknown project event {e.GetType().Name}"),
        };
    }

    /// <summary>The task of that id, or null.</summary>
    public static ProjectTask? Task(this ProjectState s, string? id)
    {
        if (id is null)
        {
            return null;
        }

        if (s.Tasks is TaskList list)
        {
            var i = list.IndexOf(id);
            return i < 0 ? null : list[i];
        }

        foreach (var t in s.Tasks)
        {
            if (t.Id == id)
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>The task and attempt a run belongs to (null when it is a plan or audit run, or unknown).</summary>
    public static (ProjectTask Task, TaskAttempt Attempt)? AttemptOf(this ProjectState s, string runId)
    {
        // the run's entry names its task (most often the last run): look there first
        if (RunIndex(s.Runs, runId) is var r and >= 0 && s.Task(s.Runs[r].TaskId) is { } owner && LastAttemptOf(owner, runId) is { } found)
        {
            return (owner, found);
        }

        foreach (var t in s.Tasks)
        {
            for (var i = t.Attempts.Count - 1; i >= 0; i--)
            {
                if (t.Attempts[i].RunId == runId)
                {
                    return (t, t.Attempts[i]);
                }
            }
        }

        return null;
    }

    private static TaskAttempt? LastAttemptOf(ProjectTask t, string runId)
    {
        for (var i = t.Attempts.Count - 1; i >= 0; i--)
        {
            if (t.Attempts[i].RunId == runId)
            {
                return t.Attempts[i];
            }
        }

        return null;
    }

    /// <summary>Where the run is in <paramref name="runs"/> (searched from the newest), or -1.</summary>
    private static int RunIndex(IReadOnlyList<ProjectRunCost> runs, string runId)
    {
        for (var i = runs.Count - 1; i >= 0; i--)
        {
            if (runs[i].RunId == runId)
            {
                return i;
            }
        }

        return -1;
    }

    private static ImmutableList<ProjectRunCost> Immutable(IReadOnlyList<ProjectRunCost> runs) =>
        runs as ImmutableList<ProjectRunCost> ?? [.. runs];

    /// <summary>Attempts made since the task was last reopened (max attempts count these).</summary>
    public static int AttemptsThisRound(this ProjectTask t) => t.Attempts.Count - t.AttemptsAtReopen;

    private static ProjectState Inactive(ProjectState s, DateTimeOffset at) => s.ActiveSince is { } since
        ? s with { RuntimeBefore = s.RuntimeBefore + Positive(at - since), ActiveSince = null }
        : s;

    private static TimeSpan Positive(TimeSpan t) => t < TimeSpan.Zero ? TimeSpan.Zero : t;

    private static ProjectState RunStarted(ProjectState s, ProjectRunStarted r)
    {
        var run = new ProjectRun { RunId = r.RunId, Purpose = r.Purpose, Agent = r.Agent, Persona = r.Persona, StartedAt = r.At };
        s = s with
        {
            CurrentRunId = r.RunId,
            Runs = Immutable(s.Runs).Add(new ProjectRunCost { RunId = r.RunId, Purpose = r.Purpose, TaskId = r.TaskId, Persona = r.Persona, Agent = r.Agent }),
        };
        switch (r.Purpose)
        {
            case ProjectRunPurpose.Plan:
                return s with { PlanRun = run };
            case ProjectRunPurpose.Audit:
                return s with { AuditRun = run };
        }

        if (s.Task(r.TaskId) is not { } task)
        {
            return s;
        }

        var attempts = task.Attempts;
        var last = attempts.Count > 0 ? attempts[^1] : null;
        if (last is { EndedAt: null } && last.Number == (r.Attempt ?? last.Number))
        {
            // an interrupted attempt continues in a new run
            attempts = [.. attempts.Take(attempts.Count - 1), last with { RunId = r.RunId, Agent = r.Agent }];
        }
        else
        {
            attempts = [.. attempts, new TaskAttempt { Number = r.Attempt ?? attempts.Count + 1, RunId = r.RunId, Agent = r.Agent, StartedAt = r.At, Handoff = r.Handoff }];
        }

        return Replace(s, task with { Status = ProjectTaskStatus.InProgress, StartedAt = task.StartedAt ?? r.At, PendingHandoff = null, Attempts = attempts });
    }

    private static ProjectState RunEnded(ProjectState s, ProjectRunEnded e)
    {
        var runs = s.Runs;
        if (RunIndex(runs, e.RunId) is var i and >= 0)
        {
            var r = runs[i];
            runs = Immutable(runs).SetItem(i, r with
            {
                Cli = e.Cli ?? r.Cli,
                Provider = e.Provider ?? r.Provider,
                Model = e.Model ?? r.Model,
                CostUsd = r.CostUsd + e.CostUsd,
                InputTokens = r.InputTokens + e.InputTokens,
                OutputTokens = r.OutputTokens + e.OutputTokens,
            });
        }

        s = s with
        {
            CurrentRunId = s.CurrentRunId == e.RunId ? null : s.CurrentRunId,
            CostUsd = s.CostUsd + e.CostUsd,
            InputTokens = s.InputTokens + e.InputTokens,
            OutputTokens = s.OutputTokens + e.OutputTokens,
            Runs = runs,
        };
        var interrupted = e.Outcome == ProjectRunOutcome.Interrupted;
        if (s.PlanRun is { } plan && plan.RunId == e.RunId)
        {
            return s with { PlanRun = interrupted ? null : Ended(plan, e) };
        }

        if (s.AuditRun is { } audit && audit.RunId == e.RunId)
        {
            return s with { AuditRun = interrupted ? null : Ended(audit, e) };
        }

        if (s.AttemptOf(e.RunId) is not { } found)
        {
            return s;
        }

        var (task, attempt) = found;
        var updated = attempt with
        {
            Cli = e.Cli ?? attempt.Cli,
            Provider = e.Provider ?? attempt.Provider,
            Model = e.Model ?? attempt.Model,
            Route = e.Route ?? attempt.Route,
            SessionId = e.SessionId ?? attempt.SessionId,
            CostUsd = attempt.CostUsd + e.CostUsd,
            InputTokens = attempt.InputTokens + e.InputTokens,
            OutputTokens = attempt.OutputTokens + e.OutputTokens,
        };
        updated = interrupted
            ? updated with { Interruptions = attempt.Interruptions + 1 }
            : updated with { EndedAt = e.At, ExitCode = e.ExitCode, FinalMessage = e.FinalMessage, Verdict = e.Outcome == ProjectRunOutcome.Unavailable ? "the agent could not run" : null };
        return Replace(s, task with { Attempts = [.. task.Attempts.Select(a => ReferenceEquals(a, attempt) ? updated : a)] });
    }

    private static ProjectRun Ended(ProjectRun run, ProjectRunEnded e) =>
        run with { EndedAt = e.At, ExitCode = e.ExitCode, FinalMessage = e.FinalMessage, Cli = e.Cli, Provider = e.Provider };

    private static ProjectState Audited(ProjectState s, AuditRecorded a)
    {
        var used = ProjectRuntime.Used(s, a.At);
        if (a.Error is { } error)
        {
            var errors = s.AuditErrors + 1;
            return errors >= MaxAuditErrors
                ? s with { AuditRun = null, AuditErrors = 0, LastAuditError = error, CompletedSinceAudit = 0, RuntimeAtLastAudit = used, Audits = s.Audits + 1 }
                : s with { AuditRun = null, AuditErrors = errors, LastAuditError = error };
        }

        var number = s.Audits + 1;
        var reopened = false;
        var verdicts = new Dictionary<string, AuditVerdict>(StringComparer.Ordinal);
        foreach (var v in a.Verdicts)
        {
            verdicts.TryAdd(v.TaskId, v); // the first verdict on a task counts, as before
        }

        var tasks = s.Tasks.Select(t =>
        {
            if (!verdicts.TryGetValue(t.Id, out var verdict))
            {
                return t; // a task the audit does not mention keeps its status
            }

            var note = $"audit {number}: {(verdict.Complete ? "complete" : "incomplete")}{(verdict.Confidence is { } c ? $" ({c:0.##})" : string.Empty)}: {verdict.Evidence}";
            t = t with { Confidence = verdict.Confidence ?? t.Confidence, Notes = Note(t.Notes, note) };
            if (!verdict.Complete && t.Status == ProjectTaskStatus.Completed && t.Reopened < MaxReopens)
            {
                reopened = true;
                t = t with
                {
                    Status = ProjectTaskStatus.InProgress,
                    CompletedAt = null,
                    Reopened = t.Reopened + 1,
                    AttemptsAtReopen = t.Attempts.Count,
                    PendingHandoff = new HandoffContext(t.Id, t.Title, $"the audit found the task incomplete: {verdict.Evidence}", FromRunId: a.RunId),
                };
            }

            return t;
        }).ToList();
        return s with
        {
            Tasks = TaskList.Of(tasks),
            TaskListVersion = reopened ? s.TaskListVersion + 1 : s.TaskListVersion,
            AuditRun = null,
            Audits = number,
            AuditErrors = 0,
            LastAuditError = null,
            CompletedSinceAudit = 0,
            RuntimeAtLastAudit = used,
        };
    }

    private static ProjectState UpdateAttempt(ProjectState s, string taskId, int number, Func<ProjectTask, TaskAttempt, (ProjectTask, TaskAttempt)> update)
    {
        if (s.Task(taskId) is not { } task)
        {
            return s;
        }

        var index = -1;
        for (var i = task.Attempts.Count - 1; i >= 0; i--)
        {
            if (task.Attempts[i].Number == number)
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            return s;
        }

        var (t, a) = update(task, task.Attempts[index]);
        var attempts = task.Attempts.ToArray();
        attempts[index] = a;
        return Replace(s, t with { Attempts = attempts });
    }

    /// <summary>The state with <paramref name="task"/> in the place of the task of its id.</summary>
    private static ProjectState Replace(ProjectState s, ProjectTask task)
    {
        var list = TaskList.Of(s.Tasks);
        var i = list.IndexOf(task.Id);
        return i < 0 ? s : s with { Tasks = list.SetItem(i, task) };
    }

    private static string? Note(string? notes, string? line) =>
        string.IsNullOrWhiteSpace(line) ? notes : string.IsNullOrEmpty(notes) ? line : notes + "\n" + line;
}
