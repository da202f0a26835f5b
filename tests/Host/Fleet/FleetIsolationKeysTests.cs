using DarkFactory.Messages.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

/// <summary>fleet.yaml <c>agents[].isolation</c> and <c>agents[].gates</c> (issue 13: every AI run that edits code works in a worktree).</summary>
public sealed class FleetIsolationKeysTests : IDisposable
{
    private readonly string _plain = Directory.CreateTempSubdirectory("df-plain-").FullName;
    private readonly string _repo = Directory.CreateTempSubdirectory("df-repo-").FullName;

    public FleetIsolationKeysTests() => Directory.CreateDirectory(Path.Combine(_repo, ".git"));

    private static string Ai(string name, string extra = "") =>
        "version: 1\n" +
        "agents:\n" +
        $"  - name: {name}\n" +
        "    layer: growth\n" +
        "    cli: claude\n" +
        "    restart: temporary\n" +
        string.Concat(extra.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l + "\n"));

    [Fact]
    public void Isolation_and_gates_are_read_and_the_default_follows_the_kind_of_agent()
    {
        var yaml = Ai("coder", $"workdir: {_repo}\nisolation: worktree\ngates:\n  - name: tests\n    command: make test\n    timeout: 2m");
        var result = Load(yaml);

        AssertValid(result);
        var coder = result.Fleet!.Agents[0];
        Assert.Equal(IsolationMode.Worktree, coder.Isolation);
        var gate = Assert.Single(coder.Gates);
        Assert.Equal(("tests", TimeSpan.FromMinutes(2)), (gate.Name, gate.Timeout));
        Assert.Equal(["sh", "-c", "make test"], gate.Command);

        Assert.True(Load(Ai("coder")).Fleet!.Agents[0].Isolated()); // an AI CLI: a worktree
        Assert.False(Load(Agent()).Fleet!.Agents[0].Isolated()); // a plain command: in place
        Assert.True(Load(Agent("isolation: worktree\nworkdir: " + _repo)).Fleet!.Agents[0].Isolated());
    }

    [Fact]
    public void Isolation_none_on_an_AI_agent_is_a_warning_at_its_position()
    {
        var yaml = Ai("coder", "isolation: none");
        var result = Load(yaml);

        Assert.True(result.Ok);
        var warning = Assert.Single(result.Diagnostics, d => d.Field == "agents[0].isolation");
        Assert.False(warning.IsError);
        Assert.Equal(Pos(yaml, "none"), (warning.Line, warning.Column));
        Assert.Contains("edits its workdir in place", warning.Message);
        Assert.DoesNotContain(Load(Agent("isolation: none")).Diagnostics, d => d.Field == "agents[0].isolation"); // a plain command: its operator's choice
    }

    [Fact]
    public void Isolation_worktree_outside_a_git_repository_is_an_error_at_its_position()
    {
        var yaml = Ai("coder", $"workdir: {_plain}\nisolation: worktree");

        AssertError(Load(yaml), yaml, "agents[0].isolation", "worktree", "needs a git repository");
    }

    [Fact]
    public void A_bad_isolation_value_is_an_error()
    {
        var yaml = Ai("coder", "isolation: container");

        AssertError(Load(yaml), yaml, "agents[0].isolation", "container");
    }

    [Fact]
    public void Gates_on_an_agent_that_is_not_isolated_are_a_warning()
    {
        var yaml = Agent("gates:\n  - name: t\n    command: [true]");

        var warning = Assert.Single(Load(yaml).Diagnostics, d => d.Field == "agents[0].gates");
        Assert.Contains("not isolated", warning.Message);
    }

    public void Dispose()
    {
        Directory.Delete(_plain, recursive: true);
        Directory.Delete(_repo, recursive: true);
    }
}
