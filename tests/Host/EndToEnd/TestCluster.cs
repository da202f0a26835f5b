using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// <c>df up --node</c> processes n1..nN (not started) on 127.0.0.1 sharing one PostgreSQL database, n1 the seed, with
/// failure detection tuned through DF_HOCON (acceptable-heartbeat-pause 2 s, the given split-brain stable-after), mutual
/// TLS on the cluster port (by default as a user gets it, each node's key in the shared database; with
/// <c>sharedSecret</c> one DF_CLUSTER_SECRET for the cluster); and
/// what the cluster tests read from them. Disposing stops every node and deletes the HOCON's directory.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly string _dir;

    private TestCluster(string dir, int[] ports, List<DaemonProcess> nodes) => (_dir, Ports, Nodes) = (dir, ports, nodes);

    public int[] Ports { get; }

    public List<DaemonProcess> Nodes { get; }

    public static TestCluster Create(string fleet, string connectionString, string stableAfter, int count = 3, bool sharedSecret = false)
    {
        var dir = Directory.CreateTempSubdirectory("df-cluster-").FullName;
        var hocon = Path.Combine(dir, "fast.conf");
        File.WriteAllText(hocon, $"""
            akka.cluster.split-brain-resolver.stable-after = {stableAfter}
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 2s
            """);
        var ports = FreePorts(count);
        var nodes = new List<DaemonProcess>();
        for (var i = 0; i < count; i++)
        {
            var node = new DaemonProcess(fleet);
            nodes.Add(node);
            node.Environment["DF_HOCON"] = hocon;
            node.Environment["DF_CLUSTER_SECRET"] = sharedSecret ? "df-test-cluster-" + Path.GetFileName(dir) : ""; // the operator's secret, or none: the nodes' keys in the store
            node.UpArguments.AddRange(["--node", $"n{i + 1}", "--cluster-port", ports[i].ToString(), "--seed", $"127.0.0.1:{ports[0]}", "--postgres", connectionString]);
        }

        return new TestCluster(dir, ports, nodes);
    }

    /// <summary>
    /// Starts n1, n2, … in turn (n1 first: the seed, and the oldest member, where the singletons run; a node that starts
    /// before its seed listens is gated for 5 s) and waits until every node lists all of them up.
    /// </summary>
    public async Task StartAsync(TimeSpan timeout)
    {
        foreach (var node in Nodes)
        {
            await node.StartAsync();
        }

        await AllUpAsync(timeout);
    }

    /// <summary>Waits until every node's <c>df nodes</c> lists all of them up.</summary>
    public async Task AllUpAsync(TimeSpan timeout)
    {
        foreach (var node in Nodes)
        {
            await node.UntilAsync(async () => Members(await node.Json("nodes", "--json")).Count(m => m.Status == "up") == Nodes.Count, timeout, $"{Nodes.Count} members up in df nodes");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    /// <summary><c>df agents --json</c> on <paramref name="node"/>, by agent name (in the answer's order).</summary>
    public static async Task<Dictionary<string, JsonElement>> ListedAgents(DaemonProcess node) =>
        (await node.Json("agents", "--json")).EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!, a => a);

    public sealed record Member(string Node, string Address, string[] Roles, string Status, string[] Agents);

    public static List<Member> Members(JsonElement view) =>
        [.. view.GetProperty("members").EnumerateArray().Select(m => new Member(
            m.GetProperty("node").GetString()!,
            m.GetProperty("address").GetString()!,
            [.. m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!)],
            m.GetProperty("status").GetString()!,
            [.. m.GetProperty("agents").EnumerateArray().Select(a => a.GetString()!)]))];

    /// <summary>The nodes (their index in <paramref name="nodes"/>) that run <paramref name="agent"/> now (run markers in /proc).</summary>
    public static List<int> Holders(IReadOnlyList<DaemonProcess> nodes, string agent) =>
        [.. nodes.Select((n, i) => (n, i)).Where(x => x.n.AgentProcesses(agent).Count > 0).Select(x => x.i)];

    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
