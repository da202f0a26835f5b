using System.Net;
using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>The compound review through the real daemon and the real `df review` commands, on a real repository with a day of history.</summary>
[Collection("daemon")]
public sealed class ReviewEndToEndTests : IDisposable
{
    private readonly GitFixture _git = new();

    public ReviewEndToEndTests() => _git.DayOfHistory(DateTimeOffset.UtcNow);

    private string Fleet(string mode = "fix", string extra = "", string gates = "") => $"""
        version: 1
        agents:
          - name: fixer
            layer: growth
            command: ["{DaemonProcess.Agent("review-fix.sh")}", "{mode}"]
            grace: 2s
        compound_review:
          repo: {_git.Repo}
          agent: fixer
          max_duration: 5m
        {extra}
          gates:
            - name: has-review
              command: test -s REVIEW.md
        {gates}
        """;

    [Fact]
    public async Task Review_run_wait_json_ends_in_a_dry_run_report_and_list_and_show_agree()
    {
        // issue 15, findings 5 and 9: a gate that leaves a detached child holding its output ends with its own
        // process (2 s), the child is killed then, and the gates step lasts as long as its gates did
        var nap = Random.Shared.Next(200_000, 900_000);
        await using var daemon = new DaemonProcess(Fleet(gates: $$"""
                - name: detaches
                  command: ["bash", "-c", "(setsid sleep {{nap}} &); sleep 2"]
            """));
        await daemon.StartAsync();

        var run = await daemon.Json("review", "run", "--wait", "--json");
        Assert.True(run.GetProperty("status").GetString() == "completed", run.ToString() + "\n" + daemon.Output);
        var id = run.GetProperty("id").GetString()!;
        Assert.Equal(["scan", "assign", "agent", "gates", "dry_run"], run.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.All(run.GetProperty("steps").EnumerateArray(), s =>
        {
            Assert.Equal("completed", s.GetProperty("status").GetString());
            Assert.True(s.TryGetProperty("started_at", out _));
            Assert.True(s.TryGetProperty("ended_at", out _));
        });
        var gates = run.GetProperty("gates").EnumerateArray().ToList();
        Assert.Contains(gates, g => g.GetProperty("name").GetString() == "has-review" && g.GetProperty("passed").GetBoolean() && g.GetProperty("exit_code").GetInt32() == 0);
        var detached = gates.Single(g => g.GetProperty("name").GetString() == "detaches");
        Assert.True(detached.GetProperty("passed").GetBoolean(), detached.ToString());
        Assert.InRange(detached.GetProperty("duration_ms").GetInt64(), 1_900, 15_000);
        var gatesStep = run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "gates");
        var stepLasted = gatesStep.GetProperty("ended_at").GetDateTimeOffset() - gatesStep.GetProperty("started_at").GetDateTimeOffset();
        Assert.True(stepLasted >= TimeSpan.FromMilliseconds(1_900) && stepLasted < TimeSpan.FromSeconds(30), $"gates step lasted {stepLasted}: {gatesStep}");
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc"), d => ReadCmdline(d) == $"sleep {nap}");
        var report = run.GetProperty("report_path").GetString()!;
        Assert.StartsWith(daemon.DataDir, report);
        Assert.Contains("create_prs is off", File.ReadAllText(report));
        Assert.False(run.TryGetProperty("pr_url", out _));
        Assert.Equal(["main"], _git.RemoteBranches());

        var list = await daemon.Json("review", "list", "--json");
        Assert.Equal(id, list.EnumerateArray().Single().GetProperty("id").GetString());
        var show = await daemon.Json("review", "show", id, "--json");
        Assert.Equal(JsonSerializer.Serialize(run), JsonSerializer.Serialize(show));

        var (exit, stdout, _) = await daemon.Df("review", "show", id);
        Assert.Equal(0, exit);
        Assert.Contains("dry_run", stdout);

        using var http = daemon.Client();
        var missing = await http.GetAsync("/api/reviews/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no review with id 'nope'", await missing.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await daemon.Client(withToken: false).GetAsync("/api/reviews")).StatusCode);
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Without_an_agent_the_router_picks_one_and_review_run_wait_shows_each_step_as_it_happens_plain_when_piped()
    {
        // compound_review.agent absent: the router's best fit by capabilities (an AI agent whose command is scripted)
        await using var daemon = new DaemonProcess($"""
            version: 1
            agents:
              - name: painter
                layer: growth
                cli: claude
                command: ["{DaemonProcess.Agent("review-fix.sh")}", "slowfix"]
                capabilities: [frontend]
              - name: reviewer
                layer: growth
                cli: claude
                command: ["{DaemonProcess.Agent("review-fix.sh")}", "slowfix"]
                capabilities: [review]
                grace: 2s
            compound_review:
              repo: {_git.Repo}
              max_duration: 5m
              gates:
                - name: has-review
                  command: test -s REVIEW.md
            """);
        await daemon.StartAsync();

        var (exit, stdout, stderr) = await daemon.Df("review", "run", "--wait");

        Assert.True(exit == 0, stdout + stderr + daemon.Output);
        Assert.DoesNotContain("\u001b", stdout); // piped: plain text
        var lines = stdout.Split('\n');
        int At(string what, string status) => Array.FindIndex(lines, l => l.Length > 10 && l[10..].StartsWith($"{what,-8} {status}", StringComparison.Ordinal));
        Assert.True(At("review", "started") >= 0, stdout);
        Assert.True(At("scan", "completed") > At("review", "started"), stdout);
        Assert.True(At("finding", "revert") > At("scan", "completed"), stdout);
        Assert.True(At("agent", "reviewer") > At("assign", "completed"), stdout);
        Assert.Contains("router: best fit by capabilities [review]", lines[At("agent", "reviewer")]);
        Assert.True(At("agent", "running") > At("assign", "completed"), stdout);
        Assert.True(At("agent", "completed") > At("agent", "running"), stdout);
        Assert.True(At("gates", "completed") > At("agent", "completed"), stdout);
        Assert.True(At("dry_run", "completed") > At("gates", "completed"), stdout);
        Assert.True(At("review", "completed") > At("dry_run", "completed"), stdout);
        Assert.Contains("agent    reviewer (router: best fit", stdout);

        // --json: the answer alone on stdout, the progress on stderr
        var (_, json, progress) = await daemon.Df("review", "run", "--wait", "--json");
        var review = JsonSerializer.Deserialize<JsonElement>(json);
        Assert.Equal("reviewer", review.GetProperty("agent").GetString());
        Assert.StartsWith("router: best fit", review.GetProperty("agent_chosen_by").GetString());
        Assert.Contains("dry_run  completed", progress);
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    private static string ReadCmdline(string procDir)
    {
        try
        {
            return File.ReadAllText(Path.Combine(procDir, "cmdline")).Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    public void Dispose() => _git.Dispose();
}
