using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// Where a cluster singleton runs as a node sees the gossip (<see cref="SingletonSite"/>, pure), and the node's face for it
/// (<see cref="SingletonFace"/>): a read is answered at once while the singleton's node is unreachable or downed, within
/// the bound when the singleton does not answer, and passed through otherwise; commands go to the proxy untouched.
/// </summary>
public sealed class SingletonFaceSpec(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static MemberFacts Member(string node, string status = "up", bool reachable = true, params string[] roles) =>
        new($"akka.tcp://dark-factory@127.0.0.1:{4050 + node[^1] - '0'}", [.. (roles.Length == 0 ? ["control", "agents"] : roles), "node:" + node], status, reachable);

    [Fact]
    public void The_singleton_runs_on_the_oldest_member_of_its_role_that_holds_it()
    {
        // joining members hold nothing; a member without the role is passed over
        var site = SingletonSite.Locate([Member("n4", "joining"), Member("n1", roles: "agents"), Member("n2"), Member("n3")], "control");

        Assert.Equal(new SingletonSite("n2", "up", true), site);
        Assert.Null(site.Refusal("scheduler", "control"));
        Assert.Equal("n1", SingletonSite.Locate([Member("n1", roles: "agents"), Member("n2")], role: null).Node);
    }

    [Fact]
    public void A_read_is_refused_while_the_singletons_node_is_unreachable_or_downed_or_no_member_of_its_role_is_up()
    {
        var unreachable = SingletonSite.Locate([Member("n1", reachable: false), Member("n2")], "control").Refusal("scheduler", "control");
        var downed = SingletonSite.Locate([Member("n1", "down"), Member("n2")], "control").Refusal("compound-review", "control");
        var none = SingletonSite.Locate([Member("n1", "joining")], "control").Refusal("scheduler", "control");

        Assert.Equal(new SingletonUnavailable("scheduler", "n1", "the scheduler singleton is moving from node n1, which this node does not reach; try again in a few seconds", 5), unreachable);
        Assert.Equal(new SingletonUnavailable("compound-review", "n1", "the compound-review singleton is moving from node n1, which was downed; try again in a few seconds", 5), downed);
        Assert.Equal(new SingletonUnavailable("scheduler", null, "no node of role control is up to run the scheduler singleton; try again once one has joined", 5), none);
    }

    [Fact]
    public async Task A_read_while_the_singletons_node_is_unreachable_is_answered_at_once_and_not_sent()
    {
        var proxy = CreateTestProbe();
        var face = Sys.ActorOf(SingletonFace.Props(proxy.Ref, "scheduler", "control", () => new SingletonSite("n1", "up", false), TimeSpan.FromMinutes(1)));

        face.Tell(new GetSchedule(), TestActor);
        var refusal = await ExpectMsgAsync<SingletonUnavailable>(Wait);

        Assert.Equal(("scheduler", "n1", 5), (refusal.Singleton, refusal.From, refusal.RetryAfterSeconds));
        face.Tell(new RunReview(), TestActor); // a command is never answered for the singleton: the proxy's first message
        Assert.IsType<RunReview>(await proxy.ExpectMsgAsync<object>(Wait));
        Assert.Equal(TestActor, proxy.LastSender);
    }

    [Fact]
    public async Task A_read_the_singleton_answers_passes_through_and_one_it_leaves_unanswered_ends_after_the_bound()
    {
        var proxy = CreateTestProbe();
        var face = Sys.ActorOf(SingletonFace.Props(proxy.Ref, "compound-review", "control", () => new SingletonSite("n2", "up", true), TimeSpan.FromMilliseconds(500)));

        face.Tell(new GetReviews(3), TestActor);
        Assert.Equal(new GetReviews(3), await proxy.ExpectMsgAsync<GetReviews>(Wait));
        proxy.Reply(new ReviewsSnapshot([]));
        Assert.Empty((await ExpectMsgAsync<ReviewsSnapshot>(Wait)).Reviews);

        face.Tell(new GetReview("r1"), TestActor);
        await proxy.ExpectMsgAsync<GetReview>(Wait); // and no answer
        var silent = await ExpectMsgAsync<SingletonUnavailable>(Wait);
        Assert.Equal(new SingletonUnavailable("compound-review", "n2", "the compound-review singleton on node n2 did not answer within 0.5 s (it may be moving to another node); try again in a few seconds", 5), silent);
    }
}
