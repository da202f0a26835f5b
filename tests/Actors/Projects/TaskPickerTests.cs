using DarkFactory.Actors.Projects;
using DarkFactory.Messages.Projects;
using Xunit;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>The next task: the highest priority whose dependencies are done; a blocked task's dependents wait, the rest go on.</summary>
public sealed class TaskPickerTests
{
    private static ProjectTask T(string id, int priority, ProjectTaskStatus status = ProjectTaskStatus.Pending, params string[] deps) =>
        new() { Id = id, Title = id, Persona = "engineer", Priority = priority, Status = status, Dependencies = deps };

    [Fact]
    public void The_highest_priority_ready_task_runs_first_and_ties_keep_the_plan_order()
    {
        Assert.Equal("b", TaskPicker.Next([T("a", 3), T("b", 1), T("c", 1)])!.Id);
    }

    [Fact]
    public void A_task_waits_for_its_dependencies()
    {
        Assert.Equal("a", TaskPicker.Next([T("a", 5), T("b", 1, ProjectTaskStatus.Pending, "a")])!.Id);
        Assert.Equal("b", TaskPicker.Next([T("a", 5, ProjectTaskStatus.Completed), T("b", 1, ProjectTaskStatus.Pending, "a")])!.Id);
        Assert.Equal("b", TaskPicker.Next([T("a", 5, ProjectTaskStatus.Skipped), T("b", 1, ProjectTaskStatus.Pending, "a")])!.Id);
    }

    [Fact]
    public void A_task_in_progress_goes_on_before_a_higher_priority_one()
    {
        Assert.Equal("a", TaskPicker.Next([T("a", 5, ProjectTaskStatus.InProgress), T("b", 1)])!.Id);
    }

    [Fact]
    public void A_blocked_task_stops_its_dependents_and_nothing_else()
    {
        ProjectTask[] tasks = [T("a", 1, ProjectTaskStatus.Blocked), T("b", 1, ProjectTaskStatus.Pending, "a"), T("c", 2, ProjectTaskStatus.Pending, "b"), T("d", 4)];

        Assert.Equal("d", TaskPicker.Next(tasks)!.Id);
        Assert.Equal(["b", "c"], TaskPicker.Stuck(tasks).Select(t => t.Id));
        Assert.Null(TaskPicker.Next([.. tasks[..3], T("d", 4, ProjectTaskStatus.Completed)]));
    }
}
