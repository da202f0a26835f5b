namespace DarkFactory.Actors.Projects;

/// <summary>
/// The next task of a project: among the pending and in-progress tasks whose dependencies are all completed
/// (or skipped), one already in progress first, then the highest priority (1 before 5), then the earliest in
/// the list. A blocked task's dependents wait; everything else goes on.
/// </summary>
public static class TaskPicker
{
    public static ProjectTask? Next(IReadOnlyList<ProjectTask> tasks)
    {
        ProjectTask? best = null;
        foreach (var t in tasks)
        {
            if (t.Status is not (ProjectTaskStatus.Pending or ProjectTaskStatus.InProgress) || !Ready(t, tasks))
            {
                continue;
            }

            if (best is null || Before(t, best))
            {
                best = t;
            }
        }

        return best;
    }

    /// <summary>Every dependency is completed or skipped.</summary>
    public static bool Ready(ProjectTask task, IReadOnlyList<ProjectTask> tasks)
    {
        foreach (var id in task.Dependencies)
        {
            var dependency = tasks.FirstOrDefault(x => x.Id == id);
            if (dependency is null || dependency.Status is not (ProjectTaskStatus.Completed or ProjectTaskStatus.Skipped))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Tasks that can never run: a dependency (directly or further down) is blocked.</summary>
    public static IReadOnlyList<ProjectTask> Stuck(IReadOnlyList<ProjectTask> tasks) =>
        tasks.Where(t => t.Status is ProjectTaskStatus.Pending or ProjectTaskStatus.InProgress && DependsOnBlocked(t, tasks, [])).ToList();

    private static bool DependsOnBlocked(ProjectTask task, IReadOnlyList<ProjectTask> tasks, HashSet<string> seen)
    {
        foreach (var id in task.Dependencies)
        {
            if (!seen.Add(id) || tasks.FirstOrDefault(x => x.Id == id) is not { } dependency)
            {
                continue;
            }

            if (dependency.Status == ProjectTaskStatus.Blocked || DependsOnBlocked(dependency, tasks, seen))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Before(ProjectTask a, ProjectTask b)
    {
        var aGoing = a.Status == ProjectTaskStatus.InProgress;
        var bGoing = b.Status == ProjectTaskStatus.InProgress;
        if (aGoing != bGoing)
        {
            return aGoing;
        }

        return a.Priority < b.Priority; // equal: the earlier in the list stays
    }
}
