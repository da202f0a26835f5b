using Akka.Actor;
using Akka.Configuration;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Serialization;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages;
using DarkFactory.Messages.Projects;
using DarkFactory.Messages.Review;
using Xunit;
using static DarkFactory.Actors.Tests.Projects.ProjectStateTests;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>
/// A long journal (10,000 events: a project of 1,000 tasks with retries, interruptions and audits that reopen
/// tasks) replayed through <see cref="ProjectStateRules"/>: the state it ends in, counted task by task, and the same
/// state when the replay restarts from a snapshot taken half-way (a plain list read back, indexed again).
/// </summary>
public sealed class ProjectReplayTests
{
    private const int Tasks = 1_000;
    private const int Events = 10_000;

    private static readonly GateResult Green = new("tests", true, 0, 0, 10);
    private static readonly GateResult Red = new("tests", false, 1, 0, 10, Output: "FAILED");

    /// <summary>
    /// Task i: attempt 1 (every 5th fails its gates, a handoff, then attempt 2 passes; every 7th is interrupted once
    /// and continues in a new run), commit, gates, completed. Every 100 tasks an audit reopens the first of them,
    /// which then passes attempt 3. Padding up to <see cref="Events"/>, then the completion.
    /// </summary>
    private static List<IProjectEvent> Journal()
    {
        var at = At;
        var tasks = Enumerable.Range(1, Tasks).Select(i => new ProjectTask { Id = $"t{i}", Title = $"Task {i}", Persona = "engineer", Priority = 1 + (i % 5), CreatedAt = at }).ToList();
        var list = new List<IProjectEvent>
        {
            Created(),
            new ProjectStartRequested(Id, at),
            new ProjectActivated(Id, at),
            new ProjectRunStarted(Id, at, "plan", ProjectRunPurpose.Plan, "planner-agent", "planner"),
            new ProjectRunEnded(Id, at, "plan", ProjectRunOutcome.Ended, 0, "{\"tasks\": []}"),
            new TasksPlanned(Id, at, "plan", tasks),
        };

        void Attempt(string task, int n, bool green, bool interrupted)
        {
            var run = $"r-{task}-{n}";
            list.Add(new ProjectRunStarted(Id, at, run, ProjectRunPurpose.Task, "engineer-agent", "engineer", task, n));
            if (interrupted)
            {
                list.Add(new ProjectRunEnded(Id, at, run, ProjectRunOutcome.Interrupted, 143, SessionId: "s-" + run, CostUsd: 0.001m));
                run += "b";
                list.Add(new ProjectRunStarted(Id, at, run, ProjectRunPurpose.Task, "engineer-agent", "engineer", task, n));
            }

            list.Add(new ProjectRunEnded(Id, at, run, ProjectRunOutcome.Ended, 0, "done " + run, "s-" + run, "claude", "anthropic", CostUsd: 0.01m, InputTokens: 100, OutputTokens: 20));
            list.Add(new CommitIntended(Id, at, task, n, "msg"));
            list.Add(new AttemptCommitted(Id, at, task, n, $"c-{task}-{n}", [task + ".txt"]));
            list.Add(new AttemptGated(Id, at, task, n, [green ? Green : Red]));
            list.Add(green
                ? new TaskCompleted(Id, at, task, n)
                : new HandoffRecorded(Id, at, task, n, "failed: gates failed", new HandoffContext(task, "Task", "gates failed")));
        }

        for (var i = 1; i <= Tasks; i++)
        {
            var task = $"t{i}";
            Attempt(task, 1, green: i % 5 != 0, interrupted: i % 7 == 0);
            if (i % 5 == 0)
            {
                Attempt(task, 2, green: true, interrupted: false);
            }

            if (i % 100 == 0)
            {
                var audit = $"audit-{i / 100}";
                var reopened = $"t{i - 99}";
                list.Add(new ProjectRunStarted(Id, at, audit, ProjectRunPurpose.Audit, "reviewer-agent", "reviewer"));
                list.Add(new ProjectRunEnded(Id, at, audit, ProjectRunOutcome.Ended, 0, "{}", CostUsd: 0.02m));
                list.Add(new AuditRecorded(Id, at, audit, [new AuditVerdict(reopened, false, "missing test", 0.4), new AuditVerdict($"t{i}", true, "ok", 0.9)]));
                Attempt(reopened, 3, green: true, interrupted: false);
            }
        }

        list.Add(new ProjectReportWritten(Id, at, "/data/projects/report.md"));
        while (list.Count < Events - 1)
        {
            list.Add(new ProjectStartRequested(Id, at)); // changes nothing while active
        }

        list.Add(new ProjectCompleted(Id, at));
        return list;
    }

    [Fact]
    public void Ten_thousand_events_replay_to_the_state_they_describe()
    {
        var journal = Journal();
        Assert.Equal(Events, journal.Count);

        var s = Play(null, [.. journal]);

        Assert.Equal((ProjectStatus.Completed, (long)Events, Tasks), (s.Status, s.Events, s.Tasks.Count));
        Assert.All(s.Tasks, t => Assert.Equal(ProjectTaskStatus.Completed, t.Status));
        Assert.Equal(Enumerable.Range(1, Tasks).Select(i => $"t{i}"), s.Tasks.Select(t => t.Id)); // the plan's order kept
        Assert.Equal((11, 10), (s.TaskListVersion, s.Audits)); // the plan's version 1, +1 for each of the 10 audits (each reopened a task)

        // attempts: 1, +1 for every 5th task, +1 for each task an audit reopened (t1, t101, … t901)
        for (var i = 1; i <= Tasks; i++)
        {
            var t = s.Task($"t{i}")!;
            var expected = 1 + (i % 5 == 0 ? 1 : 0) + (i % 100 == 1 ? 1 : 0);
            Assert.Equal(expected, t.Attempts.Count);
            var last = t.Attempts[^1];
            Assert.Equal(("passed", true, $"c-t{i}-{last.Number}"), (last.Verdict, last.Committed, last.Commit));
            Assert.Equal($"r-t{i}-{last.Number}{(i % 7 == 0 && last.Number == 1 ? "b" : string.Empty)}", last.RunId);
            Assert.Equal(i % 7 == 0 ? 1 : 0, t.Attempts[0].Interruptions);
            Assert.Equal(i % 100 == 1 ? 1 : 0, t.Reopened);
        }

        Assert.Contains("audit 1: incomplete (0.4): missing test", s.Task("t1")!.Notes);
        Assert.Contains("audit 1: complete (0.9): ok", s.Task("t100")!.Notes);
        Assert.Equal(0.4, s.Task("t501")!.Confidence);
        Assert.Equal("failed: gates failed", s.Task("t5")!.Attempts[0].Verdict);
        Assert.Contains("attempt 1: failed: gates failed", s.Task("t5")!.Notes);

        // runs: the plan, 10 audits, and every run of every attempt (an interruption's second run too)
        var taskRuns = Tasks + (Tasks / 5) + (Tasks / 100) + (Tasks / 7);
        Assert.Equal(1 + 10 + taskRuns, s.Runs.Count);
        Assert.Equal(s.Runs.Select(r => r.RunId).Distinct().Count(), s.Runs.Count);
        Assert.Equal(0.02m, s.Runs.Single(r => r.RunId == "audit-3").CostUsd);
        Assert.Equal(0.01m, s.Runs.Single(r => r.RunId == "r-t14-1b").CostUsd);
        Assert.Equal(0.001m, s.Runs.Single(r => r.RunId == "r-t14-1").CostUsd);
        var expectedCost = (Tasks + (Tasks / 5) + (Tasks / 100)) * 0.01m + (Tasks / 7) * 0.001m + 10 * 0.02m;
        Assert.Equal(expectedCost, s.CostUsd);
        Assert.Equal(s.CostUsd, s.Runs.Sum(r => r.CostUsd));
        Assert.Equal((Tasks + (Tasks / 5) + (Tasks / 100)) * 100L, s.InputTokens);
    }

    [Fact]
    public void A_replay_from_a_snapshot_taken_half_way_ends_in_the_same_state()
    {
        var journal = Journal();
        var half = Play(null, [.. journal.Take(Events / 2)]);
        using var system = ActorSystem.Create("replay", ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"))));
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)system);
        var back = (ProjectState)serializer.FromBinary(serializer.ToBinary(half), serializer.Manifest(half));

        var direct = Play(half, [.. journal.Skip(Events / 2)]);
        var resumed = Play(back, [.. journal.Skip(Events / 2)]);

        Assert.Equal(Json(direct), Json(resumed));
        Assert.Equal(Json(Play(null, [.. journal])), Json(direct));
    }

    private static string Json(ProjectState s) => System.Text.Json.JsonSerializer.Serialize(s, DarkFactoryJson.Options);
}
