using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// A TestKit on a real one-node Akka.NET cluster (Akka.Remote on 127.0.0.1, the in-memory journal) that joins itself
/// with the given roles; a test awaits <see cref="UntilUpAsync"/> before it uses the cluster.
/// </summary>
public abstract class OneNodeClusterSpec : TestKit
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    protected OneNodeClusterSpec(ITestOutputHelper output, params string[] roles)
        : base($$"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.cluster.roles = [{{string.Join(", ", roles.Select(r => $"\"{r}\""))}}]
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """, output: output)
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
    }

    /// <summary>Until this node is an Up member of its cluster.</summary>
    protected Task UntilUpAsync()
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        return AwaitConditionAsync(() => Task.FromResult(cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up), Wait);
    }
}
