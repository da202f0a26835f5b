using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Projects;
using Xunit;
using Xunit.Abstractions;
using static DarkFactory.Actors.Tests.Projects.ProjectSpecs;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>
/// Projects end to end inside one actor system: the real factory, fleet and layers, personas played by
/// tests/agents/persona.sh as real processes in the project's real git worktree, real gates, and a mock GitHub.
/// </summary>
public sealed class ProjectActorSpec : TestKit, IDisposable
{
    private readonly TempDaemon _daemon = new();
    private readonly GitFixture _git = new();
    private readonly ProjectSpecs _specs = new();
    private int _factories;

    public ProjectActorSpec(ITestOutputHelper output)
        : base(Config(), output: output)
    {
        _git.DayOfHistory(DateTimeOffset.UtcNow);
    }

    private static string Config() => $$"""
        akka.loglevel = INFO
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        {{File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"))}}
        """;

    private IActorRef Factory(FleetSpec fleet)
    {
        var env = new Dictionary<string, string?>(DarkFactory.Actors.Supervision.LayerServices.CurrentEnvironment()) { ["DF_TEST_GH_TOKEN"] = "gh-test-token" };
        var factory = Sys.ActorOf(TreeRoot.Props(_daemon.Node(env)), "factory-" + ++_factories);
        factory.Tell(new ApplyFleet(fleet));
        return factory;
    }

    private async Task<ProjectCommandResult> Command(IActorRef factory, object command) => await factory.Ask<ProjectCommandResult>(command, Wait);

    private async Task<(IActorRef Factory, string Id)> Started(FleetSpec fleet, string name = "auth-hardening", TimeSpan? maxRuntime = null)
    {
        var factory = Factory(fleet);
        var id = await Init(factory, ProjectSpecs.Init(_git.Repo, name, maxRuntime));
        var started = await Command(factory, new StartProject(id));
        Assert.True(started.Ok, started.Message);
        return (factory, id);
    }

    [Fact]
    public async Task A_project_goes_from_its_description_to_a_completed_task_list_with_green_gates_and_a_report()
    {
        var (factory, id) = await Started(_specs.Fleet(_git.Repo));
        var view = await Ended(factory, id);

        Assert.True(view.Status == ProjectStatus.Completed, view.Error);
        Assert.Equal(new ProjectTaskCounts(2, 0, 0, 0, 2, 0), view.Tasks);
        Assert.StartsWith("df/auth-hardening/", view.WorkBranch);
        Assert.Equal(["t1", "t2"], _specs.Runs()); // each task ran once

        var tasks = await Tasks(factory, id);
        Assert.Equal(["Add rate limiting", "Test the limit"], tasks.Select(t => t.Title));
        Assert.Equal(["t1"], tasks[1].Dependencies);
        Assert.All(tasks, t =>
        {
            var attempt = Assert.Single(t.Attempts);
            Assert.Equal(0, attempt.ExitCode);
            Assert.NotNull(attempt.Commit);
            Assert.All(attempt.Gates, g => Assert.True(g.Passed, g.Name));
            Assert.Equal(0.9, t.Confidence);
        });
        Assert.Equal(["worktree-paths", "no-secrets", "tests"], tasks[0].Attempts[0].Gates.Select(g => g.Name));
        Assert.Equal(["worktree-paths", "no-secrets", "has-test"], tasks[1].Attempts[0].Gates.Select(g => g.Name));
        Assert.Equal($"engineer-cmd@{id}", tasks[0].Attempts[0].Agent);

        // the work is on the project's branch in its worktree, committed by the daemon; the user's checkout is untouched; nothing was pushed
        Assert.True(File.Exists(Path.Combine(view.Worktree, "t1.txt")));
        Assert.False(File.Exists(Path.Combine(_git.Repo, "t1.txt")));
        Assert.Equal(string.Empty, GitFixture.Run(_git.Repo, "status", "--porcelain").Trim());
        Assert.Equal(["main"], _git.RemoteBranches());
        var log = GitFixture.Run(_git.Repo, "log", "--format=%B", "main.." + view.WorkBranch);
        Assert.Contains($"DF-Attempt: {id}/t1/1", log);
        Assert.Contains($"DF-Attempt: {id}/t2/1", log);

        // every run worked in the worktree, with its ids in its environment, and could not push
        var state = await StateOf(factory, id);
        var message = state.Tasks[0].Attempts[0].FinalMessage!;
        Assert.Contains($"cwd: {view.Worktree} project: {id} task: t1", message);
        Assert.Contains("push: refused", message);
        Assert.Contains($"cwd: {view.Worktree} project: {id} task: t2", state.Tasks[1].Attempts[0].FinalMessage);

        // the tester's run was handed the engineer's work
        var handoff = state.Tasks[1].Attempts[0].Handoff!;
        Assert.Equal(("engineer", state.Tasks[0].Attempts[0].RunId), (handoff.FromPersona, handoff.FromRunId));
        Assert.Contains("t1.txt", handoff.ChangedFiles!);

        var report = File.ReadAllText(view.ReportPath!);
        Assert.Contains($"# Project auth-hardening ({id})", report);
        Assert.Contains("| t1 | Add rate limiting | engineer | completed | 1 | 0.9 |", report);
        Assert.Equal(1, state.Audits);
    }

    [Fact]
    public async Task A_gate_that_fails_once_passes_after_its_feedback_in_the_handoff()
    {
        var (factory, id) = await Started(_specs.Fleet(_git.Repo, tests: "test -f FIXED || { echo 'expected FIXED'; exit 1; }"));
        var view = await Ended(factory, id);

        Assert.True(view.Status == ProjectStatus.Completed, view.Error);
        Assert.Equal(["t1", "t1", "t2"], _specs.Runs());
        var t1 = (await StateOf(factory, id)).Tasks[0];
        Assert.Equal(2, t1.Attempts.Count);
        Assert.Equal("failed: gates failed: tests (exit 1, expected 0)", t1.Attempts[0].Verdict);
        Assert.Equal("passed", t1.Attempts[1].Verdict);
        var handoff = t1.Attempts[1].Handoff!;
        Assert.Equal("attempt 1 failed: gates failed: tests (exit 1, expected 0)", handoff.Reason);
        Assert.Contains("expected FIXED", handoff.Gates!.Single(g => g.Name == "tests").Output);
        Assert.Contains("fixed what the gate said", t1.Attempts[1].FinalMessage);
        Assert.Contains("attempt 1: failed: gates failed: tests", t1.Notes);
    }

    [Fact]
    public async Task A_task_that_fails_max_attempts_times_is_blocked_and_what_depends_on_it_waits()
    {
        var (factory, id) = await Started(_specs.Fleet(_git.Repo, tests: "echo 'never good enough'; exit 1", maxAttempts: 2));
        var view = await Ended(factory, id);

        Assert.Equal(ProjectStatus.Failed, view.Status);
        Assert.Equal("no task can run: blocked t1; waiting for them: t2", view.Error);
        Assert.Equal(["t1", "t1"], _specs.Runs());
        var tasks = await Tasks(factory, id);
        Assert.Equal((ProjectTaskStatus.Blocked, ProjectTaskStatus.Pending), (tasks[0].Status, tasks[1].Status));
    }

    [Fact]
    public async Task An_audit_that_finds_a_task_incomplete_reopens_it_with_its_evidence()
    {
        _specs.Answer("audit-1.json", """{"tasks": [{"id": "t1", "complete": false, "evidence": "nothing limits /login yet", "confidence": 0.2}, {"id": "t2", "complete": true, "evidence": "ok", "confidence": 0.8}]}""");
        var (factory, id) = await Started(_specs.Fleet(_git.Repo));
        var view = await Ended(factory, id);

        Assert.True(view.Status == ProjectStatus.Completed, view.Error);
        Assert.Equal(["t1", "t2", "t1"], _specs.Runs());
        var state = await StateOf(factory, id);
        var t1 = state.Tasks[0];
        Assert.Equal((1, 2, 2), (t1.Reopened, t1.Attempts.Count, state.Audits));
        Assert.Contains("audit 1: incomplete (0.2): nothing limits /login yet", t1.Notes);
        Assert.Contains("nothing limits /login yet", t1.Attempts[1].Handoff!.Reason);
        Assert.Equal(2, state.TaskListVersion);
        Assert.Equal(0.9, t1.Confidence);
    }

    [Fact]
    public async Task An_invalid_plan_is_retried_once_with_its_error_and_a_second_one_fails_the_project()
    {
        _specs.Answer("plan-1.json", "I could not decide.");
        var (factory, id) = await Started(_specs.Fleet(_git.Repo));
        var view = await Ended(factory, id);
        Assert.True(view.Status == ProjectStatus.Completed, view.Error);

        _specs.Answer("plan-3.json", "still nothing");
        _specs.Answer("plan-4.json", """{"tasks": [{"title": "x", "persona": "designer"}]}""");
        var second = await Init(factory, ProjectSpecs.Init(_git.Repo, "second"));
        await Command(factory, new StartProject(second));
        view = await Ended(factory, second);

        Assert.Equal(ProjectStatus.Failed, view.Status);
        Assert.Equal("the planner's answer was invalid 2 times; the last: tasks[0].persona: 'designer' is not one of the project's personas (engineer, tester)", view.Error);
    }

    [Fact]
    public async Task Bad_input_gets_a_clear_error_and_changes_nothing()
    {
        var factory = Factory(_specs.Fleet(_git.Repo));
        var id = await Init(factory, ProjectSpecs.Init(_git.Repo));
        var worktrees = Directory.GetDirectories(Path.GetDirectoryName((await View(factory, id)).Worktree)!);
        var branches = GitFixture.Run(_git.Repo, "branch", "--list");

        (InitProject Init, string Error)[] cases =
        [
            (ProjectSpecs.Init(_git.Repo, "other") with { Personas = ["engineer", "designer"] }, "persona: 'designer' is not in projects.personas_dir"),
            (ProjectSpecs.Init(_git.Root, "other"), $"repo: {_git.Root} is not a git repository"),
            (ProjectSpecs.Init(Path.Combine(_git.Root, "nowhere"), "other"), "does not exist"),
            (ProjectSpecs.Init(_git.Repo, "other") with { BaseBranch = "develop" }, "base: branch 'develop' does not exist"),
            (ProjectSpecs.Init(_git.Repo, "Auth-Hardening"), "name: a project named 'Auth-Hardening' exists already"),
            (ProjectSpecs.Init(_git.Repo, "other", TimeSpan.Zero), "max_runtime: 00:00:00 is not a duration above 0"),
            (ProjectSpecs.Init(_git.Repo, "other") with { Description = " " }, "description: empty"),
        ];
        foreach (var (init, error) in cases)
        {
            var result = await Command(factory, init);
            Assert.False(result.Ok);
            Assert.Equal(ProjectCommandOutcome.Invalid, result.Outcome);
            Assert.Contains(error, result.Message);
        }

        Assert.Single((await factory.Ask<ProjectsList>(new GetProjects(), Wait)).Projects);
        Assert.Equal(worktrees, Directory.GetDirectories(Path.GetDirectoryName((await View(factory, id)).Worktree)!));
        Assert.Equal(branches, GitFixture.Run(_git.Repo, "branch", "--list"));
        Assert.Equal(ProjectCommandOutcome.NotFound, (await Command(factory, new StartProject("p-nothere"))).Outcome);

        // a completed project cannot be started again
        await Command(factory, new StartProject("auth-hardening"));
        Assert.Equal(ProjectStatus.Completed, (await Ended(factory, id)).Status);
        var again = await Command(factory, new StartProject(id));
        Assert.Equal((false, ProjectCommandOutcome.Refused), (again.Ok, again.Outcome));
        Assert.Contains("is completed", again.Message);
    }

    [Fact]
    public async Task Pause_stops_the_run_and_resume_continues_the_same_attempt()
    {
        _specs.Sleep(120);
        var (factory, id) = await Started(_specs.Fleet(_git.Repo));
        await Until(factory, id, v => v.CurrentRun is { Purpose: ProjectRunPurpose.Task });
        await AwaitConditionAsync(() => Task.FromResult(_specs.Runs().Count == 1), Wait);

        var paused = await Command(factory, new PauseProject(id));
        Assert.Equal(ProjectCommandOutcome.Paused, paused.Outcome);
        var view = await Until(factory, id, v => v.CurrentRun is null);
        Assert.Equal(ProjectStatus.Paused, view.Status);
        var used = view.RuntimeUsed;
        var interrupted = (await StateOf(factory, id)).Tasks[0].Attempts.Single();
        Assert.Equal((1, null), (interrupted.Interruptions, interrupted.EndedAt));

        _specs.Wake();
        var resumed = await Command(factory, new ResumeProject(id));
        Assert.Equal(ProjectCommandOutcome.Resumed, resumed.Outcome);
        view = await Ended(factory, id);

        Assert.True(view.Status == ProjectStatus.Completed, view.Error);
        var t1 = (await StateOf(factory, id)).Tasks[0];
        var attempt = Assert.Single(t1.Attempts); // the same attempt, continued in a new run
        Assert.NotEqual(interrupted.RunId, attempt.RunId);
        Assert.Equal("passed", attempt.Verdict);
        Assert.Equal(["t1", "t1", "t2"], _specs.Runs());
        Assert.True(view.RuntimeUsed >= used);
    }

    [Fact]
    public async Task Past_its_max_runtime_a_project_times_out_and_resume_with_extend_continues_it()
    {
        _specs.Sleep(120);
        var (factory, id) = await Started(_specs.Fleet(_git.Repo), maxRuntime: TimeSpan.FromSeconds(3));
        var view = await Ended(factory, id);

        Assert.Equal(ProjectStatus.Timeout, view.Status);
        await Until(factory, id, v => v.CurrentRun is null);
        var refused = await Command(factory, new ResumeProject(id));
        Assert.Equal((false, ProjectCommandOutcome.Refused), (refused.Ok, refused.Outcome));
        Assert.Contains("--extend", refused.Message);

        _specs.Wake();
        var resumed = await Command(factory, new ResumeProject(id, TimeSpan.FromHours(1)));
        Assert.True(resumed.Ok, resumed.Message);
        view = await Ended(factory, id);

        Assert.True(view.Status == ProjectStatus.Completed, view.Error);
        Assert.Equal(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(3), view.MaxRuntime);
        Assert.Single((await StateOf(factory, id)).Tasks[0].Attempts);
    }

    [Fact]
    public async Task Projects_beyond_the_concurrency_wait_queued_until_a_slot_is_free()
    {
        _specs.Sleep(2);
        var (factory, first) = await Started(_specs.Fleet(_git.Repo, concurrency: 1));
        var second = await Init(factory, ProjectSpecs.Init(_git.Repo, "second"));
        var queued = await Command(factory, new StartProject(second));

        Assert.Equal(ProjectCommandOutcome.Queued, queued.Outcome);
        Assert.True(queued.Project!.Queued);
        Assert.Equal(ProjectStatus.Initializing, (await View(factory, second)).Status);

        var a = await Ended(factory, first);
        var b = await Ended(factory, second);
        Assert.True(a.Status == ProjectStatus.Completed, a.Error);
        Assert.True(b.Status == ProjectStatus.Completed, b.Error);
        Assert.True(b.StartedAt >= a.EndedAt, $"second started {b.StartedAt:O}, first ended {a.EndedAt:O}");
    }

    [Fact]
    public async Task With_create_pr_a_completed_project_opens_one_pull_request_on_the_forge()
    {
        await using var github = await MockGitHub.StartAsync();
        var (factory, id) = await Started(_specs.Fleet(_git.Repo, createPr: true, forgeUrl: github.BaseUrl));
        var view = await Ended(factory, id);

        Assert.True(view.Status == ProjectStatus.Completed, view.Error);
        Assert.Equal("https://github.example/acme/shop/pull/42", view.PrUrl);
        Assert.Contains(view.WorkBranch, _git.RemoteBranches()); // pushed by the daemon from the repository, not by an agent
        Assert.Equal(1, github.CreatedFor(view.WorkBranch));
        var post = github.Requests.Single(r => r.Method == "POST");
        Assert.Equal("Bearer gh-test-token", post.Authorization);
        Assert.Contains("t1 Add rate limiting", post.Body);
    }

    [Fact]
    public async Task A_project_whose_daemon_died_mid_run_resumes_where_its_journal_stopped_and_runs_no_completed_task_again()
    {
        var fleet = _specs.Fleet(_git.Repo);
        _specs.Sleep(120, "t2"); // before the start: t2 may begin the moment t1 completes
        var (factory, id) = await Started(fleet);
        await Until(factory, id, v => v.Tasks.Completed == 1);
        await AwaitConditionAsync(() => Task.FromResult(_specs.Runs().Count == 2), Wait); // t2 is running

        // the daemon dies: its actors and processes are gone, nothing recorded the run's end (the projects go
        // first: stopping the tree stops the run, and a project still alive would record that end)
        var projects = await Sys.ActorSelection(factory.Path / "projects").ResolveOne(Wait);
        await projects.GracefulStop(Wait);
        await factory.GracefulStop(Wait);
        _specs.Wake();
        var restarted = Factory(fleet);
        var view = await Ended(restarted, id);

        Assert.True(view.Status == ProjectStatus.Completed, view.Error);
        Assert.Equal(["t1", "t2", "t2"], _specs.Runs()); // t1 was not run again; t2's attempt continued
        var state = await StateOf(restarted, id);
        Assert.Single(state.Tasks[1].Attempts);
        Assert.Equal(1, state.Tasks[1].Attempts[0].Interruptions);
        var log = GitFixture.Run(_git.Repo, "log", "--format=%s", "main.." + view.WorkBranch).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, log.Length); // one commit per attempt
    }

    [Theory]
    [InlineData("plan")]
    [InlineData("gates")]
    public async Task A_project_whose_daemon_died_during_a_step_does_that_step_again_and_runs_no_task_or_commit_twice(string step)
    {
        // the planner, or the engineer's tests gate, waits while its sleep file is there (after leaving a mark that it began)
        var state = _specs.State;
        var fleet = _specs.Fleet(_git.Repo, tests: $"if [ -f '{state}/gates-sleep' ]; then touch '{state}/gates-started'; sleep 120; fi; test -f t1.txt");
        File.WriteAllText(Path.Combine(state, step + "-sleep"), "120");
        var (factory, id) = await Started(fleet);
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(Path.Combine(state, step + "-started"))), Wait);

        // the daemon dies in the middle of the step
        await factory.GracefulStop(Wait);
        File.Delete(Path.Combine(state, step + "-sleep"));
        var restarted = Factory(fleet);
        var view = await Ended(restarted, id);

        Assert.True(view.Status == ProjectStatus.Completed, view.Error);
        Assert.Equal(["t1", "t2"], _specs.Runs()); // no task ran twice
        var log = GitFixture.Run(_git.Repo, "log", "--format=%s", "main.." + view.WorkBranch).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, log.Length); // one commit per task
        var tasks = await Tasks(restarted, id);
        Assert.All(tasks, t => Assert.All(Assert.Single(t.Attempts).Gates, g => Assert.True(g.Passed, g.Name)));
    }

    public new void Dispose()
    {
        _specs.Dispose();
        _daemon.Dispose();
        _git.Dispose();
        base.Dispose();
    }
}
