using System.Text;
using Akka.Actor;
using DarkFactory.Actors.Cluster;
using DarkFactory.Actors.Output;
using DarkFactory.Host.Cluster;
using DarkFactory.Messages.Cluster;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary>
/// Where a request about an agent goes on a cluster node (<see cref="AgentOwner.Find"/>), and <c>df logs</c> of an agent
/// another node runs (<see cref="RemoteLogs"/>): the tail then what is appended, pulled one page at a time (a slow reader
/// never has two pages asked), and a typed end when the node goes away, the agent moves or the node stops answering.
/// The pages come from a real file through <see cref="LogPages"/>, as the owning node's reader answers them.
/// </summary>
public sealed class RemoteLogsTests : IDisposable
{
    private static readonly MemberFacts N1 = new("akka.tcp://df@127.0.0.1:4053", ["control", "node:n1"], "up", true);
    private static readonly MemberFacts N2 = new("akka.tcp://df@127.0.0.1:4054", ["agents", "node:n2"], "up", true);
    private static readonly Placement Placed = new(3, [AgentPlacement.On("a", "n2"), AgentPlacement.On("b", "n1"), new AgentPlacement("c", null, "pinned to node n4, which is not up")]);
    private static readonly AgentOwner OnN2 = new(OwnerKind.Remote, "n2", N2.Address);

    private readonly string _dir = Directory.CreateTempSubdirectory("df-remote-logs-").FullName;

    [Fact]
    public void An_agent_is_found_here_on_a_reachable_node_or_nowhere_with_the_reason()
    {
        Assert.Equal(AgentOwner.Here, AgentOwner.Find("n1", Placed, "b", [N1, N2]));
        Assert.Equal(OnN2, AgentOwner.Find("n1", Placed, "a", [N1, N2]));

        var unplaced = AgentOwner.Find("n1", Placed, "c", [N1, N2]);
        Assert.Equal(OwnerKind.Unplaced, unplaced.Kind);
        Assert.Equal("agent 'c' is placed on no node: pinned to node n4, which is not up", unplaced.Reason);
        Assert.Equal("agent 'a' is placed on no node yet: no placement has reached node n1", AgentOwner.Find("n1", null, "a", [N1, N2]).Reason);
        Assert.Equal(OwnerKind.Unplaced, AgentOwner.Find("n1", Placed, "new", [N1, N2]).Kind);

        var unreachable = AgentOwner.Find("n1", Placed, "a", [N1, N2 with { Reachable = false }]);
        Assert.Equal(OwnerKind.Unreachable, unreachable.Kind);
        Assert.Equal("agent 'a' runs on node n2, which node n1 does not reach (unreachable)", unreachable.Reason);
        Assert.Equal("agent 'a' runs on node n2, which is leaving", AgentOwner.Find("n1", Placed, "a", [N1, N2 with { Status = "leaving" }]).Reason);
        Assert.Equal("agent 'a' runs on node n2, which is not a member now", AgentOwner.Find("n1", Placed, "a", [N1]).Reason);
    }

    [Fact]
    public async Task The_tail_then_the_appended_lines_are_copied_one_page_at_a_time_and_the_end_is_typed_when_the_node_goes_away()
    {
        var path = Path.Combine(_dir, "a.log");
        await File.WriteAllTextAsync(path, string.Concat(Enumerable.Range(1, 5000).Select(i => $"old {i}\n")));
        var owner = OnN2;
        var asked = 0;
        var inFlight = 0;
        var maxInFlight = 0;
        var copied = new StringBuilder();
        var appended = false;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var ended = await RemoteLogs.CopyAsync(
            owner,
            "a",
            tail: 3000,
            follow: true,
            async (read, _) =>
            {
                maxInFlight = Math.Max(maxInFlight, Interlocked.Increment(ref inFlight));
                asked++;
                await Task.Yield();
                var page = LogPages.Read(read.Agent, path, read.From, read.Tail, 1024);
                Interlocked.Decrement(ref inFlight);
                return page;
            },
            () => copied.ToString().Contains("new 2\n", StringComparison.Ordinal) ? owner with { Kind = OwnerKind.Unreachable, Reason = "agent 'a' runs on node n2, which node n1 does not reach (unreachable)" } : owner,
            async chunk =>
            {
                await Task.Delay(1); // a slow client: the next page is asked only after this one is written
                copied.Append(Encoding.UTF8.GetString(chunk.Span));
                if (!appended && copied.ToString().EndsWith("old 5000\n", StringComparison.Ordinal))
                {
                    appended = true;
                    await File.AppendAllTextAsync(path, "new 1\nnew 2\n");
                }
            },
            cancel.Token);

        Assert.Equal(new LogFollowEnded(LogEndReason.NodeUnreachable, "agent 'a' runs on node n2, which node n1 does not reach (unreachable)"), ended);
        Assert.Equal(string.Concat(Enumerable.Range(2001, 3000).Select(i => $"old {i}\n")) + "new 1\nnew 2\n", copied.ToString());
        Assert.Equal(1, maxInFlight);
        Assert.True(asked > 20, $"{asked} pages of at most 1 KiB");
    }

    [Fact]
    public async Task Without_follow_the_copy_stops_at_the_logs_end_when_asked_and_a_silent_node_or_a_move_ends_it_typed()
    {
        var path = Path.Combine(_dir, "a.log");
        await File.WriteAllTextAsync(path, "one\ntwo\nthree\n");
        var copied = new StringBuilder();
        var owner = OnN2;

        Assert.Null(await RemoteLogs.CopyAsync(owner, "a", 2, false, (r, _) => Task.FromResult(LogPages.Read(r.Agent, path, r.From, r.Tail, 4)), () => owner, c =>
        {
            copied.Append(Encoding.UTF8.GetString(c.Span));
            return Task.CompletedTask;
        }, CancellationToken.None));
        Assert.Equal("two\nthree\n", copied.ToString());

        var silent = await RemoteLogs.CopyAsync(owner, "a", 2, true, (_, _) => Task.FromException<LogPage>(new AskTimeoutException("no answer")), () => owner, _ => Task.CompletedTask, CancellationToken.None);
        Assert.Equal(new LogFollowEnded(LogEndReason.NoAnswer, "node n2 did not answer within 5 s"), silent);

        var refused = await RemoteLogs.CopyAsync(owner, "a", 2, true, (r, _) => Task.FromResult(LogPage.Refusal(r.Agent, "no agent named 'a' in this node's fleet")), () => owner, _ => Task.CompletedTask, CancellationToken.None);
        Assert.Equal(LogEndReason.Refused, refused!.Reason);
        Assert.Equal("node n2: no agent named 'a' in this node's fleet", refused.Detail);

        Assert.Equal(new LogFollowEnded(LogEndReason.Moved, "the agent moved from node n2 to node n3: follow it again"), RemoteLogs.Check(owner, owner with { Node = "n3" }));
        Assert.Equal(new LogFollowEnded(LogEndReason.Moved, "the agent moved from node n2 to this node: follow it again"), RemoteLogs.Check(owner, AgentOwner.Here));
        Assert.Equal(LogEndReason.Unplaced, RemoteLogs.Check(owner, new AgentOwner(OwnerKind.Unplaced, Reason: "x"))!.Reason);
        Assert.Null(RemoteLogs.Check(owner, owner));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
