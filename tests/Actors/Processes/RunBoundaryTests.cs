using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Processes;

/// <summary>
/// Issue 14, finding 5: a run's private HOME and TMPDIR live outside the daemon's data directory (a run that
/// walks up from them must not reach the token or the database), and a run gets an API token of its own,
/// never the operator's.
/// </summary>
public sealed class RunBoundaryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("df-runroot-").FullName;
    private readonly string _data = Directory.CreateTempSubdirectory("df-data-").FullName;

    private static readonly Dictionary<string, string?> Parent = new() { ["PATH"] = "/usr/bin:/bin", ["HOME"] = "/home/op" };

    private static AgentSpec Spec(string? workdir = null) => new() { Name = "worker", Command = ["true"], Workdir = workdir };

    [Fact]
    public void A_run_directory_is_outside_the_data_directory_and_is_the_runs_home_and_default_workdir()
    {
        var daemon = new DaemonContext("df-x", _data) { TempRoot = Path.Combine(_root, "df-x") };
        var plan = LaunchPlanner.Plan(Spec(), ["true"], null, "r1", daemon, Parent, _ => null, new List<string>());

        var run = Path.Combine(_root, "df-x", "worker", "r1");
        Assert.Equal(run, plan.TempDirectory);
        Assert.Equal(run, plan.Environment["TMPDIR"]);
        Assert.Equal(run, plan.Environment["HOME"]);
        Assert.Equal(run, plan.WorkingDirectory);
        Assert.False(plan.TempDirectory!.StartsWith(_data, StringComparison.Ordinal));
    }

    [Fact]
    public void The_default_run_root_is_not_in_the_data_directory()
    {
        var env = new Dictionary<string, string?>();
        Assert.Equal(Path.Combine(Path.GetTempPath(), $"df-runs-{RunDirectories.GetEuid()}", "df-y"), RunDirectories.Root("df-y", env));
        env["XDG_RUNTIME_DIR"] = _root;
        Assert.Equal(Path.Combine(_root, "darkfactory", "df-y"), RunDirectories.Root("df-y", env));
        env[RunDirectories.OverrideVariable] = "/srv/runs";
        Assert.Equal("/srv/runs", RunDirectories.Root("df-y", env));
        Assert.DoesNotContain(_data, new DaemonContext("df-z", _data).TempRoot);
    }

    [Fact]
    public void Prepare_makes_the_root_owner_only_empties_it_and_refuses_a_symbolic_link()
    {
        var root = Path.Combine(_root, "runs", "df-a");
        Directory.CreateDirectory(Path.Combine(root, "old-agent", "old-run"));
        File.WriteAllText(Path.Combine(root, "old-agent", "old-run", "left.txt"), "x");

        RunDirectories.Prepare(root);

        Assert.Empty(Directory.EnumerateFileSystemEntries(root));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(root));
        Assert.Equal(RunDirectories.GetEuid(), RunDirectories.Owner(root));

        var link = Path.Combine(_root, "runs", "df-link");
        Directory.CreateSymbolicLink(link, Path.Combine(_root, "elsewhere"));
        var error = Assert.Throws<IOException>(() => RunDirectories.Prepare(link));
        Assert.Contains("symbolic link", error.Message);
        Assert.Contains(RunDirectories.OverrideVariable, error.Message);
    }

    [Fact]
    public void A_run_gets_the_api_url_and_a_token_of_its_own_registered_for_redaction()
    {
        var api = RunApi.FromOperatorToken("operator-token-0123456789abcdef");
        api.Url = "http://127.0.0.1:7780";
        var daemon = new DaemonContext("df-x", _data) { TempRoot = _root, Api = api };
        var secrets = new List<string>();

        var plan = LaunchPlanner.Plan(Spec(), ["true"], null, "r42", daemon, Parent, _ => null, secrets);

        var token = plan.Environment[RunApi.TokenVariable];
        Assert.Equal("http://127.0.0.1:7780", plan.Environment[RunApi.UrlVariable]);
        Assert.Equal(new RunPrincipal("worker", "r42"), api.Verify(token));
        Assert.Contains(token, secrets);
        Assert.DoesNotContain("operator-token-0123456789abcdef", plan.Environment.Values);
    }

    [Fact]
    public void A_run_token_cannot_be_forged_or_moved_to_another_run()
    {
        var api = RunApi.FromOperatorToken("operator-token-0123456789abcdef");
        var token = api.Mint("scanner", "r1");
        var parts = token.Split('.');

        Assert.Equal(new RunPrincipal("scanner", "r1"), api.Verify(token));
        Assert.Null(api.Verify(string.Join('.', parts[0], parts[1], "r2", parts[3]))); // another run id, same mac
        Assert.Null(api.Verify(token[..^1] + (token[^1] == 'A' ? 'B' : 'A')));
        Assert.Null(api.Verify(RunApi.FromOperatorToken("another-operator-token-xxxxxxxx").Mint("scanner", "r1")));
        Assert.Null(api.Verify("operator-token-0123456789abcdef"));
        Assert.Null(api.Verify("dfr1.%%%.r1.x"));
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_data, recursive: true);
    }
}
