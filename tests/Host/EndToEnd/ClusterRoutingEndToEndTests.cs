using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 17: what a user asks of any node reaches the node that runs the agent. Two real <c>df up --node</c> processes
/// on PostgreSQL, every request made on n1 about an agent pinned to n2: <c>df agents NAME</c> (its node and state),
/// <c>df logs</c> (n2's log file, tail) and <c>df logs -f</c> (its new lines), <c>df stop/start/run/restart</c> (the
/// agent stops and starts on n2, never on n1); an agent placed on no node is refused naming why; and a follower on n1 is
/// told when n2 dies (SIGKILL): its stream ends with a <c>df:</c> line naming n2, not a hang, and <c>df logs -f</c> exits 3.
/// <c>df history</c> on n1 is n2's record of the agent; of an agent placed on no node, the store's. n1's event stream shows n2's lifecycle events with <c>node</c>.
/// </summary>
[Collection("daemon")]
public sealed class ClusterRoutingEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string Fleet => $"""
        version: 1
        cluster:
          split_brain: keep-oldest
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [agents] {"}"}
            - {"{"} name: n3, roles: [agents] {"}"}
        agents:
          - name: far
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            node: n2
          - name: lost
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "1"]
            restart: permanent
            autostart: true
            node: n3
        """;

    [PostgresFact]
    public async Task Reads_and_commands_on_one_node_reach_the_node_that_runs_the_agent_and_a_follower_is_told_when_it_dies()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet, database.ConnectionString!, stableAfter: "30s", count: 2);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        await cluster.StartAsync(Wait);
        await n2.UntilAsync(() => Task.FromResult(n2.AgentProcesses("far").Count > 0), Wait, "far running on n2");

        // df agents NAME on n1: the agent n2 runs, with its node
        var far = await n1.Json("agents", "far", "--json");
        Assert.Equal("n2", far.GetProperty("node").GetString());
        Assert.Equal("running", far.GetProperty("state").GetString());
        var (missingExit, _, missingErr) = await n1.Df("agents", "nobody");
        Assert.Equal(1, missingExit);
        Assert.Contains("no agent named 'nobody'", missingErr, StringComparison.Ordinal);

        // df logs on n1: the tail of n2's log file (n1 has none)
        string[] tail = [];
        await n1.UntilAsync(async () =>
        {
            var (logsExit, logs, logsErr) = await n1.Df("logs", "far", "-n", "3");
            Assert.True(logsExit == 0, logsErr);
            tail = [.. logs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("tick ", StringComparison.Ordinal))];
            return tail.Length == 3;
        }, Wait, "far's last 3 lines read on n1");
        Assert.All(tail, line => Assert.Matches("^tick [0-9]+$", line));
        Assert.False(File.Exists(Path.Combine(n1.DataDir, "logs", "far.log")));

        // df logs -f on n1: new lines as n2 writes them
        using var http = n1.Client();
        http.Timeout = Timeout.InfiniteTimeSpan;
        using var follow = await http.GetAsync("/api/agents/far/logs?tail=0&follow=true", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, follow.StatusCode);
        Assert.Equal("n2", follow.Headers.GetValues("X-DF-Node").Single());
        using var reader = new StreamReader(await follow.Content.ReadAsStreamAsync());
        var followed = new StringBuilder();
        async Task<string?> NextLine()
        {
            using var timeout = new CancellationTokenSource(Wait);
            var line = await reader.ReadLineAsync(timeout.Token);
            followed.AppendLine(line);
            return line;
        }

        Assert.StartsWith("tick ", await NextLine(), StringComparison.Ordinal);

        // commands on n1 act on n2, and n1's event stream shows n2's lifecycle events with their node
        using var events = await http.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead);
        using var eventReader = new StreamReader(await events.Content.ReadAsStreamAsync());
        await NextEvent(eventReader, _ => true, "ready");
        var stop = await n1.Df("stop", "far");
        Assert.Equal(0, stop.Exit);
        await n2.UntilAsync(() => Task.FromResult(n2.AgentProcesses("far").Count == 0), Wait, "far stopped on n2 by df stop on n1");
        await NextEvent(eventReader, data => data.Contains("\"agent\":\"far\"", StringComparison.Ordinal) && data.Contains("\"kind\":\"stopped\"", StringComparison.Ordinal) && data.Contains("\"node\":\"n2\"", StringComparison.Ordinal), "agent-lifecycle");
        var run = await n1.Df("run", "far", "--task", "from n1");
        Assert.Equal(0, run.Exit);
        Assert.NotEmpty(run.Stdout.Trim()); // its run id
        await n2.UntilAsync(() => Task.FromResult(n2.AgentProcesses("far").Count > 0), Wait, "far running on n2 after df run on n1");
        var again = await n1.Df("start", "far");
        Assert.Equal(1, again.Exit);
        Assert.Contains("already", again.Stderr + again.Stdout, StringComparison.OrdinalIgnoreCase);
        var restart = await n1.Df("restart", "far", "--json");
        Assert.Equal(0, restart.Exit);
        Assert.Equal("restarting", JsonSerializer.Deserialize<JsonElement>(restart.Stdout).GetProperty("outcome").GetString());
        await n2.UntilAsync(async () => (await n1.Json("agents", "far", "--json")).GetProperty("state").GetString() == "running", Wait, "far running again");
        Assert.Empty(n1.AgentProcesses("far"));

        // df history on n1: the record n2 keeps of the agent it runs (asked of n2, typed), the same as n2's own answer
        var remote = await n1.Json("history", "far", "--json", "--limit", "500");
        var own = await n2.Json("history", "far", "--json", "--limit", "500");
        Assert.Equal(own.GetRawText(), remote.GetRawText());
        Assert.Contains(remote.EnumerateArray(), e => e.GetProperty("kind").GetString() == "stopped");
        using (var historyResponse = await http.GetAsync("/api/agents/far/history"))
        {
            Assert.Equal(HttpStatusCode.OK, historyResponse.StatusCode);
            Assert.Equal("n2", historyResponse.Headers.GetValues("X-DF-Node").Single());
        }

        // placed on no node: its history is read from the store (it never ran: none)
        Assert.Empty((await n1.Json("history", "lost", "--json")).EnumerateArray());

        // an agent placed on no node: refused, naming why
        var lost = await n1.Df("stop", "lost");
        Assert.Equal(1, lost.Exit);
        Assert.Contains("agent 'lost' is placed on no node: pinned to node n3, which is not up", lost.Stderr + lost.Stdout, StringComparison.Ordinal);
        var lostLogs = await n1.Df("logs", "lost");
        Assert.NotEqual(0, lostLogs.Exit);
        Assert.Contains("pinned to node n3, which is not up", lostLogs.Stderr, StringComparison.Ordinal);

        // and df logs -f on n1, the command line, following far
        using var cli = n1.StartDf("logs", "far", "-f", "-n", "1");
        var cliLines = new List<string>();
        var cliStreaming = new TaskCompletionSource();
        cli.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (cliLines)
                {
                    cliLines.Add(line);
                }

                cliStreaming.TrySetResult();
            }
        };
        cli.BeginOutputReadLine();
        var cliErr = cli.StandardError.ReadToEndAsync();
        await cliStreaming.Task.WaitAsync(Wait);

        // n2 dies without its shutdown: the follower on n1 is told, its stream ends
        n2.KillHard();
        string? last = null;
        while (await NextLine() is { } line)
        {
            last = line;
        }

        Assert.NotNull(last);
        Assert.StartsWith("df: ", last, StringComparison.Ordinal);
        Assert.Contains("node n2", last, StringComparison.Ordinal);
        Assert.Contains("tick ", followed.ToString(), StringComparison.Ordinal);

        // the command line's follower exits 3 (documented), its last line saying why
        using (var cliExit = new CancellationTokenSource(Wait))
        {
            await cli.WaitForExitAsync(cliExit.Token);
        }

        Assert.True(cli.ExitCode == 3, $"df logs -f exited {cli.ExitCode}: {await cliErr}");
        lock (cliLines)
        {
            Assert.StartsWith("df: ", cliLines[^1], StringComparison.Ordinal);
            Assert.Contains("node n2", cliLines[^1], StringComparison.Ordinal);
        }
    }

    /// <summary>The name of the next SSE event (of <paramref name="name"/>, when given) whose data matches.</summary>
    private static async Task<string> NextEvent(StreamReader reader, Func<string, bool> matches, string? name = null)
    {
        using var timeout = new CancellationTokenSource(Wait);
        string? current = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                current = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && current is not null && (name is null || current == name) && matches(line[6..]))
            {
                return current;
            }
        }

        throw new InvalidOperationException("the event stream ended");
    }
}
