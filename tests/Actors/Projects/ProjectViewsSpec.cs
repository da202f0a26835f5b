using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Projects;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>
/// The projects' read model after a restart: queries wait until every journaled project has reported; a project
/// whose actor is still recovering when the wait runs out is answered "recovering" (the API's 503), never
/// unknown (404) — a client polling a slow restart must not conclude the project is gone. Virtual time.
/// </summary>
public sealed class ProjectViewsSpec(ITestOutputHelper output) : TestKit("""akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """, output)
{
    private readonly ManualClock _clock = new(ProjectStateTests.At);

    private static ProjectState State(string id) => new() { Created = ProjectStateTests.Created() with { ProjectId = id, Name = "name-" + id } };

    [Fact]
    public async Task Queries_wait_for_every_expected_project_then_answer()
    {
        var views = Sys.ActorOf(ProjectViewsActor.Props(_clock));
        views.Tell(new ProjectsExpected(["p-a", "p-b"]));
        views.Tell(new ProjectStateChanged(State("p-a")));
        views.Tell(new GetProject("p-a"), TestActor);
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // p-b has not reported: the query waits

        views.Tell(new ProjectStateChanged(State("p-b")));
        var found = await ExpectMsgAsync<ProjectFound>();
        Assert.Equal("p-a", found.View?.Id);
        Assert.False(found.Recovering);
    }

    [Fact]
    public async Task A_project_still_recovering_after_the_wait_is_answered_recovering_and_an_unknown_one_not_found()
    {
        var views = Sys.ActorOf(ProjectViewsActor.Props(_clock));
        views.Tell(new ProjectsExpected(["p-a", "p-slow"]));
        views.Tell(new ProjectStateChanged(State("p-a")));
        views.Tell(new GetProjectTasks("p-slow"), TestActor);
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        ((TestScheduler)Sys.Scheduler).Advance(ProjectViewsActor.ReadyAfter);
        var slow = await ExpectMsgAsync<ProjectTasksFound>();
        Assert.Null(slow.Tasks);
        Assert.True(slow.Recovering);

        views.Tell(new GetProjectState("p-gone"), TestActor);
        var gone = await ExpectMsgAsync<ProjectStateFound>();
        Assert.Null(gone.State);
        Assert.False(gone.Recovering);

        views.Tell(new GetProject("name-p-a"), TestActor); // by name
        Assert.Equal("p-a", (await ExpectMsgAsync<ProjectFound>()).View?.Id);

        // the slow one reports at last: answered from then on
        views.Tell(new ProjectStateChanged(State("p-slow")));
        views.Tell(new GetProject("p-slow"), TestActor);
        var late = await ExpectMsgAsync<ProjectFound>();
        Assert.Equal("p-slow", late.View?.Id);
        Assert.False(late.Recovering);
    }
}
