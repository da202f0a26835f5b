using System.Security.Cryptography;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using DarkFactory.Host.Cluster;
using DarkFactory.Host.Daemon;
using DarkFactory.Host.Tests.EndToEnd;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary>
/// The cluster port's TLS without an operator's secret (the default): each node's own key, the public halves in the
/// cluster's PostgreSQL. Attacked with real Akka.Remote systems on 127.0.0.1 and a real database: a node whose key the
/// store holds reaches the target, also one that wrote it after the target started; a process with a key of its own, a
/// key written under another cluster's name, or plain TCP reaches nothing. And the node's key file: made once, reused,
/// owner-only; a damaged one refused with its path; a store that cannot be reached refuses the start with the reason.
/// </summary>
public sealed class ClusterStoreTlsTests : IDisposable
{
    private const string Cluster = "dark-factory";
    private static readonly TimeSpan Refused = TimeSpan.FromSeconds(3);
    private readonly List<ActorSystem> _systems = [];
    private readonly List<string> _directories = [];
    private DateTimeOffset _now = DateTimeOffset.UnixEpoch;

    [PostgresFact]
    public async Task Nodes_whose_keys_the_store_holds_reach_each_other_and_nothing_else_does()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        var keys = new ClusterKeys(database.ConnectionString!, Cluster);
        var target = Start(Node(keys, "n1"));
        target.ActorOf(Props.Create(() => new Echo()), "echo");
        var port = ((ExtendedActorSystem)target).Provider.DefaultAddress.Port!.Value;
        var path = $"akka.ssl.tcp://target@127.0.0.1:{port}/user/echo";

        var peer = Start(Node(keys, "n2"));
        Assert.Equal("n2", await Ping(peer, path, "n2"));

        // a key of its own that no node wrote; a key written under another cluster's name; no certificate at all
        var stranger = Start(ClusterTls.ForNode(ECDsa.Create(ECCurve.NamedCurves.nistP256), Trusting(keys)));
        await Assert.ThrowsAsync<ActorNotFoundException>(() => stranger.ActorSelection(path).ResolveOne(Refused));
        var neighbour = Start(Node(new ClusterKeys(database.ConnectionString!, "another-cluster"), "n9"));
        await Assert.ThrowsAsync<ActorNotFoundException>(() => neighbour.ActorSelection(path).ResolveOne(Refused));
        var plain = Start(null);
        await Assert.ThrowsAsync<ActorNotFoundException>(() => plain.ActorSelection(path.Replace("akka.ssl.tcp", "akka.tcp", StringComparison.Ordinal)).ResolveOne(Refused));

        // a node that joins later: its key is read when it first knocks (once the last read is an interval old)
        _now += ClusterTrust.ReloadInterval;
        var late = Start(Node(keys, "n3"));
        Assert.Equal("n3", await Ping(late, path, "n3"));
        Assert.Equal(["n2", "n3"], await Echo.Seen(target));
        Assert.Equal(3, keys.Read().Count); // n1, n2, n3: public keys only
    }

    [PostgresFact]
    public async Task A_node_start_writes_its_public_key_once_and_keeps_its_key_in_its_data_directory()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        var data = DataDir();
        var node = new ClusterNodeOptions("n1", 4053, []);
        var (first, error) = ClusterTrust.Prepare(node, data, database.ConnectionString!, Cluster, secret: null);
        Assert.Null(error);
        Assert.Equal("store", first!.Source);
        var (again, _) = ClusterTrust.Prepare(node, data, database.ConnectionString!, Cluster, secret: "");
        Assert.Equal(first.PublicKey, again!.PublicKey); // the same key after a restart
        var stored = Assert.Single(new ClusterKeys(database.ConnectionString!, Cluster).Read());
        Assert.Equal(first.PublicKey, stored);

        var file = Path.Combine(data.Path, DataDirectory.ClusterKeyFile);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.DoesNotContain(File.ReadAllText(file), Convert.ToBase64String(stored)); // the file is the private key, the store the public half

        var (secret, _) = ClusterTrust.Prepare(node, data, database.ConnectionString!, Cluster, secret: "0123456789abcdef-the-cluster");
        Assert.Equal("secret", secret!.Source);
    }

    [Fact]
    public void A_damaged_key_file_and_an_unreachable_store_refuse_the_start_naming_what_is_wrong()
    {
        var data = DataDir();
        var file = Path.Combine(data.Path, DataDirectory.ClusterKeyFile);
        File.WriteAllText(file, "-----BEGIN EC PRIVATE KEY-----\nbroken\n-----END EC PRIVATE KEY-----\n");
        var node = new ClusterNodeOptions("n1", 4053, []);
        var (tls, error) = ClusterTrust.Prepare(node, data, "Host=127.0.0.1;Port=1;Database=none", Cluster, secret: null, storeWait: TimeSpan.Zero);
        Assert.Null(tls);
        Assert.StartsWith(file + " holds no usable key", error);

        File.Delete(file);
        (tls, error) = ClusterTrust.Prepare(node, data, "Host=127.0.0.1;Port=1;Database=none;Timeout=1", Cluster, secret: null, storeWait: TimeSpan.Zero);
        Assert.Null(tls);
        Assert.StartsWith("the cluster's PostgreSQL did not take node n1's public key for the cluster port's TLS:", error);
        Assert.EndsWith("(check --postgres; or give every node the same DF_CLUSTER_SECRET)", error);
    }

    private ClusterTls Node(ClusterKeys keys, string name)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var tls = ClusterTls.ForNode(key, Trusting(keys));
        keys.Write(name, tls.PublicKey);
        return tls;
    }

    private TrustedKeys Trusting(ClusterKeys keys) => new(keys.Read, () => _now, ClusterTrust.ReloadInterval);

    private static async Task<string> Ping(ActorSystem from, string path, string text)
    {
        var echo = await from.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(20));
        return await echo.Ask<string>(text, TimeSpan.FromSeconds(10));
    }

    private DataDirectory DataDir()
    {
        var dir = Directory.CreateTempSubdirectory("df-cluster-key-").FullName;
        _directories.Add(dir);
        var data = new DataDirectory(dir);
        data.Create();
        return data;
    }

    private ActorSystem Start(ClusterTls? tls)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.loglevel = WARNING
            {{(tls is null ? "" : ClusterTls.Hocon)}}
            """);
        var setup = BootstrapSetup.Create().WithConfig(config);
        var system = tls is null ? ActorSystem.Create("target", setup) : ActorSystem.Create("target", setup.And(tls.Setup()));
        _systems.Add(system);
        return system;
    }

    public void Dispose()
    {
        foreach (var system in _systems)
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }

        foreach (var dir in _directories)
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class Echo : ReceiveActor
    {
        private readonly List<string> _seen = [];

        public Echo()
        {
            Receive<string>(m =>
            {
                _seen.Add(m);
                Sender.Tell(m);
            });
            Receive<Seen>(_ => Sender.Tell(_seen.ToArray()));
        }

        public static Task<string[]> Seen(ActorSystem system) =>
            system.ActorSelection("/user/echo").Ask<string[]>(new Seen(), TimeSpan.FromSeconds(5));
    }

    private sealed record Seen;
}
