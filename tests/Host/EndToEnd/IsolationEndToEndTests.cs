using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// A real daemon and an agent with <c>isolation: worktree</c> (issue 13): <c>df run</c> starts it, the hostile
/// scripted agent (tests/agents/isolation-attack.sh) works in its worktree, sandboxed where the machine allows it; the
/// user's checkout stays as it was and <c>df branches</c> lists the branch with the daemon's commit and gate results.
/// </summary>
[Collection("daemon")]
public sealed class IsolationEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly GitFixture _git = new();

    public IsolationEndToEndTests()
    {
        _git.Commit(DateTimeOffset.UtcNow.AddHours(-1), "Initial import", ("README.md", "# demo\n"));
        GitFixture.Run(_git.Repo, "push", "-q", "origin", "main");
    }

    private string Fleet() => $"""
        version: 1
        agents:
          - name: attacker
            layer: growth
            command: ["{DaemonProcess.Agent("isolation-attack.sh")}"]
            workdir: {_git.Repo}
            isolation: worktree
            restart: temporary
            grace: 2s
            gates:
              - name: has-feature
                command: [test, -f, feature.txt]
        """;

    [Fact]
    public async Task Df_run_of_an_isolated_agent_leaves_a_listed_branch_and_the_checkout_untouched()
    {
        var readme = File.ReadAllBytes(Path.Combine(_git.Repo, "README.md"));
        await using var daemon = new DaemonProcess(Fleet());
        await daemon.StartAsync();

        Assert.Equal(0, (await daemon.Df("run", "attacker")).Exit);
        JsonElement branches = default;
        await DaemonProcess.Until(async () => (branches = await daemon.Json("branches", "--json")).GetArrayLength() > 0, Wait, "the run's branch");

        var branch = Assert.Single(branches.EnumerateArray());
        Assert.Equal("attacker", branch.GetProperty("agent").GetString());
        Assert.StartsWith("df/attacker/", branch.GetProperty("branch").GetString());
        Assert.Equal(2, branch.GetProperty("commits").GetInt32());
        Assert.Equal(["README.md", "feature.txt", "late.txt"], branch.GetProperty("files_changed").EnumerateArray().Select(f => f.GetString()!).Order(StringComparer.Ordinal));
        Assert.True(branch.GetProperty("gates_passed").GetBoolean(), branch.ToString());
        Assert.Contains(branch.GetProperty("run_id").GetString()!, GitFixture.Run(_git.Repo, "log", "-1", "--format=%B", branch.GetProperty("branch").GetString()!));

        Assert.Equal(readme, File.ReadAllBytes(Path.Combine(_git.Repo, "README.md")));
        Assert.Equal("", GitFixture.Run(_git.Repo, "status", "--porcelain").Trim());
        Assert.Equal(["main"], _git.RemoteBranches());

        var table = await daemon.Df("branches", "--agent", "attacker");
        Assert.Contains(branch.GetProperty("branch").GetString()!, table.Stdout, StringComparison.Ordinal);
        Assert.Contains("passed", table.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, (await daemon.Df("branches", "--agent", "nobody")).Exit);

        // deleted (merged and cleaned up by the user): it leaves the list
        GitFixture.Run(_git.Repo, "branch", "-D", branch.GetProperty("branch").GetString()!);
        Assert.Equal(0, (await daemon.Json("branches", "--json")).GetArrayLength());
    }

    public void Dispose() => _git.Dispose();
}
