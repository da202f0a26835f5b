using DarkFactory.Actors.Output;
using DarkFactory.Actors.Review;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// The slow part of each step that touches the world — the attempt's commit, its gates, the report file, the pull
/// request — as work for <see cref="ProjectStepRunner"/>: everything it needs is read from the recorded state when the
/// step starts (nothing of the actor is touched from the task), and it answers the event that records its outcome,
/// stamped when it ends.
/// </summary>
public static class ProjectStepWork
{
    /// <summary>An attempt's gates, ready to run on the files its commit changed: <see cref="AttemptGated"/>.</summary>
    public delegate Task<IProjectEvent> GateCheck(IReadOnlyList<string> files, CancellationToken ct);

    /// <summary>
    /// Commits the pending commit's attempt (or finds the commit a killed daemon made): <see cref="AttemptCommitted"/>;
    /// with <paramref name="gates"/> (an attempt whose run passed), its gates run on the commit's files in the same step,
    /// so the commit, the gates and the verdict are one journal write. A daemon killed before that write finds the commit
    /// by its trailer and runs the gates again.
    /// </summary>
    /// <param name="ports">Where the commit is made (null: the real repository, <see cref="ProjectPorts.Real"/>).</param>
    public static Func<CancellationToken, Task<IReadOnlyList<IProjectEvent>>> Commit(ProjectState s, TimeProvider clock, GateCheck? gates = null, IProjectPorts? ports = null)
    {
        var (c, intent) = (s.Created, s.PendingCommit!);
        var git = ports ?? ProjectPorts.Real;
        return async ct =>
        {
            var (commit, files) = await git.CommitAsync(c.Repo, c.Worktree, intent.Message, ProjectRules.CommitTrailer(c.ProjectId, intent.TaskId, intent.Attempt), ct);
            var committed = new AttemptCommitted(c.ProjectId, clock.GetUtcNow(), intent.TaskId, intent.Attempt, commit, files);
            return gates is null ? [committed] : [committed, await gates(files, ct)];
        };
    }

    /// <summary>
    /// The task's persona's acceptance criteria, to run in the worktree after the built-in checks of the attempt's files
    /// (<see cref="GateCheck"/>); or the error that fails the project (an unknown persona, a missing command).
    /// </summary>
    public static (GateCheck? Check, string? Error) Gates(
        ProjectState s, ProjectTask task, TaskAttempt attempt, PersonaCatalog personas, ProjectsSpec projects, Redactor secrets, ProjectSettings settings)
    {
        var (gates, error) = ProjectGates.For(task.Persona, personas, s.Created.Repo, projects);
        if (error is not null)
        {
            return (null, error);
        }

        var id = s.Created.ProjectId;
        var env = ProjectGates.Environment(settings.Environment, settings.MarkerPrefix + "project/" + id, id, task.Id);
        var (worktree, clock, sandbox, cgroups, ports) = (s.Created.Worktree, settings.Clock, settings.GateSandbox, settings.GateCgroups, settings.Ports);
        return (async (files, ct) => new AttemptGated(id, clock.GetUtcNow(), task.Id, attempt.Number, await ports.RunGatesAsync(gates, worktree, files, env, secrets, sandbox, cgroups, ct)), null);
    }

    /// <summary>Writes the project's report to <c>&lt;projects directory&gt;/&lt;id&gt;/report.md</c>: <see cref="ProjectReportWritten"/>.</summary>
    public static Func<CancellationToken, Task<IReadOnlyList<IProjectEvent>>> Report(ProjectState s, string projectsDirectory, TimeProvider clock)
    {
        var id = s.Created.ProjectId;
        var report = ProjectReport.Markdown(s, clock.GetUtcNow());
        var path = Path.Combine(projectsDirectory, id, "report.md");
        return async ct =>
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, report, ct);
            return [new ProjectReportWritten(id, clock.GetUtcNow(), path)];
        };
    }

    /// <summary>Pushes the work branch and opens the intended pull request, unless one is open for it: <see cref="ProjectPrOpened"/>.</summary>
    public static Func<CancellationToken, Task<IReadOnlyList<IProjectEvent>>> PullRequest(ProjectState s, ProjectsSpec projects, ProjectSettings settings)
    {
        var (c, intent, clock) = (s.Created, s.PrIntent!, settings.Clock);
        var (environment, http, ports) = (settings.Environment, settings.Http, settings.Ports);
        return async ct =>
        {
            var pr = await ports.OpenPullRequestAsync(c.Repo, projects.Remote, projects.Forge, environment, http, intent.Branch, c.BaseBranch, intent.Title, intent.Body, ct);
            return [new ProjectPrOpened(c.ProjectId, clock.GetUtcNow(), pr.Number, pr.Url, pr.Existing)];
        };
    }
}
