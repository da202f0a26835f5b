using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using DarkFactory.Host.Cluster;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary>
/// The cluster port's mutual TLS, attacked the way a local process without the secret would: real Akka.Remote actor
/// systems on 127.0.0.1, one holding an actor; a system with the same secret reaches it, one with another secret, one
/// with plain TCP and one whose certificate has another key behind the same name reach nothing.
/// </summary>
public sealed class ClusterTlsTests : IDisposable
{
    private const string Secret = "0123456789abcdef-the-cluster";
    private static readonly TimeSpan Refused = TimeSpan.FromSeconds(3);
    private readonly List<ActorSystem> _systems = [];

    [Fact]
    public void The_same_secret_gives_every_node_the_same_key_and_another_secret_another()
    {
        var (a, _) = ClusterTls.From(Secret);
        var (b, _) = ClusterTls.From("  " + Secret + "\n"); // as a file or an env line may carry it
        var (other, _) = ClusterTls.From(Secret + "!");
        Assert.True(a!.Certificate.HasPrivateKey);
        Assert.True(a.Accepts(b!.Certificate));
        Assert.False(a.Accepts(other!.Certificate));
        Assert.False(a.Accepts(null));
        Assert.Equal((null, null), ClusterTls.From(null));
        Assert.Equal((null, null), ClusterTls.From("")); // docker-compose's ${DF_CLUSTER_SECRET:-} when it is not set
        var (none, error) = ClusterTls.From("short-secret");
        Assert.Null(none);
        Assert.Equal("DF_CLUSTER_SECRET is too short: use at least 16 characters (for example: openssl rand -hex 32), the same on every node", error);
    }

    [Fact]
    public async Task A_node_with_the_secret_reaches_another_and_a_process_without_it_reaches_nothing()
    {
        var (tls, _) = ClusterTls.From(Secret);
        var target = Start("target", tls);
        target.ActorOf(Props.Create(() => new Echo()), "echo");
        var port = ((ExtendedActorSystem)target).Provider.DefaultAddress.Port!.Value;
        var path = $"akka.ssl.tcp://target@127.0.0.1:{port}/user/echo";

        // a node of the cluster: the handshake passes both ways, the message goes through
        var peer = Start("target", ClusterTls.From(Secret).Tls);
        var echo = await peer.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(20));
        Assert.Equal("ping", await echo.Ask<string>("ping", TimeSpan.FromSeconds(10)));

        // another secret, plain TCP (no certificate at all): refused at the handshake, nothing delivered
        var wrong = Start("target", ClusterTls.From("another-secret-of-16+").Tls);
        await Assert.ThrowsAsync<ActorNotFoundException>(() => wrong.ActorSelection(path).ResolveOne(Refused));
        var plain = Start("target", null);
        await Assert.ThrowsAsync<ActorNotFoundException>(() => plain.ActorSelection(path.Replace("akka.ssl.tcp", "akka.tcp", StringComparison.Ordinal)).ResolveOne(Refused));
        Assert.Equal(1, Echo.Seen); // only the node's ping reached it
    }

    private ActorSystem Start(string name, ClusterTls? tls)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.loglevel = WARNING
            {{(tls is null ? "" : ClusterTls.Hocon)}}
            """);
        var setup = BootstrapSetup.Create().WithConfig(config);
        var system = tls is null ? ActorSystem.Create(name, setup) : ActorSystem.Create(name, setup.And(tls.Setup()));
        _systems.Add(system);
        return system;
    }

    public void Dispose()
    {
        foreach (var system in _systems)
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }
    }

    private sealed class Echo : ReceiveActor
    {
        public static int Seen;

        public Echo() => Receive<string>(m =>
        {
            Interlocked.Increment(ref Seen);
            Sender.Tell(m);
        });
    }
}
