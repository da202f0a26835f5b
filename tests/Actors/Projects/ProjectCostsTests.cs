using DarkFactory.Actors.Projects;
using DarkFactory.Messages.Projects;
using Xunit;
using static DarkFactory.Actors.Tests.Projects.ProjectStateTests;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary><c>df costs ID</c>: a project's runs grouped by task (plan and audit by their purpose), persona and provider.</summary>
public sealed class ProjectCostsTests
{
    [Fact]
    public void Runs_are_counted_by_task_persona_and_provider_and_sum_to_the_project_total()
    {
        var s = Play(
            Planned(),
            [
                .. Attempt("t1", 1, "r1", 1),
                .. Attempt("t1", 2, "r2", 0),
                .. Attempt("t2", 3, "r3", 0),
                new ProjectRunStarted(Id, At.AddMinutes(9), "a1", ProjectRunPurpose.Audit, "reviewer-agent", "reviewer"),
                new ProjectRunEnded(Id, At.AddMinutes(10), "a1", ProjectRunOutcome.Ended, 0, "{}", Cli: "codex", Provider: "openai", CostUsd: 0.5m, InputTokens: 1000, OutputTokens: 50),
            ]);

        var report = ProjectCosts.Report(s);

        Assert.Equal(0.53m, report.TotalUsd);
        Assert.Equal(1410, report.Tokens); // 3 task runs x 120 + the audit's 1050; the plan run reported none
        Assert.Equal(
            [new("plan", 1, 0, 0, 0m), new("t1", 2, 200, 40, 0.02m), new("t2", 1, 100, 20, 0.01m), new ProjectCostRow("audit", 1, 1000, 50, 0.5m)],
            report.ByTask);
        Assert.Equal(
            [new("engineer", 2, 200, 40, 0.02m), new("planner", 1, 0, 0, 0m), new("reviewer", 1, 1000, 50, 0.5m), new ProjectCostRow("tester", 1, 100, 20, 0.01m)],
            report.ByPersona);
        Assert.Equal([new("anthropic", 3, 300, 60, 0.03m), new("none", 1, 0, 0, 0m), new ProjectCostRow("openai", 1, 1000, 50, 0.5m)], report.ByProvider);
        Assert.Equal(report.TotalUsd, report.ByTask.Sum(r => r.CostUsd));
    }

    [Fact]
    public void A_run_interrupted_and_continued_counts_both_runs_against_its_task()
    {
        var s = Play(
            Planned(),
            new ProjectRunStarted(Id, At.AddMinutes(1), "r1", ProjectRunPurpose.Task, "engineer-agent", "engineer", "t1", 1),
            new ProjectRunEnded(Id, At.AddMinutes(2), "r1", ProjectRunOutcome.Interrupted, Provider: "anthropic", CostUsd: 0.2m, InputTokens: 10),
            new ProjectRunStarted(Id, At.AddMinutes(3), "r2", ProjectRunPurpose.Task, "engineer-agent", "engineer", "t1", 1),
            new ProjectRunEnded(Id, At.AddMinutes(4), "r2", ProjectRunOutcome.Ended, 0, Provider: "anthropic", CostUsd: 0.3m, InputTokens: 10));

        var t1 = Assert.Single(ProjectCosts.Report(s).ByTask, r => r.Key == "t1");

        Assert.Equal(new ProjectCostRow("t1", 2, 20, 0, 0.5m), t1);
        Assert.Equal(0.5m, Assert.Single(s.Tasks[0].Attempts).CostUsd);
    }
}
