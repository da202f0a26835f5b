using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Processes;

public sealed class LaunchPlannerTests
{
    private static readonly DaemonContext Daemon = new("df-test", Path.GetTempPath());

    private static readonly Dictionary<string, string?> Parent = new()
    {
        ["PATH"] = "/usr/bin:/bin",
        ["HOME"] = "/home/op",
        ["LC_ALL"] = "C.UTF-8",
        ["AWS_SECRET_ACCESS_KEY"] = "do-not-leak",
        ["GH_TOKEN"] = "ghp_secretvalue123",
    };

    private static AgentSpec Spec(Dictionary<string, EnvValue>? env = null, ResourceLimits? limits = null) => new()
    {
        Name = "worker",
        Command = ["bash", "-c", "true"],
        Env = env ?? [],
        Limits = limits ?? new ResourceLimits(),
        Workdir = Path.GetTempPath(),
    };

    [Fact]
    public void The_child_sees_only_allowlisted_variables_and_its_own()
    {
        var secrets = new List<string>();
        var plan = LaunchPlanner.Plan(Spec(new() { ["MODE"] = EnvValue.Literal("fast") }), ["bash", "-c", "true"], "fix it", "r1", Daemon, Parent, _ => null, secrets);

        Assert.Equal("/usr/bin:/bin", plan.Environment["PATH"]);
        Assert.Equal("C.UTF-8", plan.Environment["LC_ALL"]);
        Assert.Equal("fast", plan.Environment["MODE"]);
        Assert.Equal("fix it", plan.Environment["DF_TASK"]);
        Assert.Equal("df-test/worker/r1", plan.Environment[ProcessTree.RunMarker]);
        Assert.False(plan.Environment.ContainsKey("AWS_SECRET_ACCESS_KEY"));
        Assert.False(plan.Environment.ContainsKey("GH_TOKEN"));
        Assert.Empty(secrets);
    }

    [Fact]
    public void Secrets_come_from_the_environment_or_files_and_are_registered_for_redaction()
    {
        var secrets = new List<string>();
        var env = new Dictionary<string, EnvValue>
        {
            ["GITHUB_TOKEN"] = new() { FromEnv = "GH_TOKEN" },
            ["DB_PASSWORD"] = new() { FromFile = "/run/secrets/db" },
        };
        var plan = LaunchPlanner.Plan(Spec(env), ["x"], null, "r1", Daemon, Parent, f => f == "/run/secrets/db" ? "hunter22\n" : null, secrets);

        Assert.Equal("ghp_secretvalue123", plan.Environment["GITHUB_TOKEN"]);
        Assert.Equal("hunter22", plan.Environment["DB_PASSWORD"]);
        Assert.Equal(["ghp_secretvalue123", "hunter22"], secrets);
    }

    [Fact]
    public void A_missing_secret_makes_the_agent_misconfigured_with_a_clear_reason()
    {
        var env = new Dictionary<string, EnvValue> { ["API_KEY"] = new() { FromEnv = "NOT_SET_ANYWHERE" } };
        var e = Assert.Throws<AgentMisconfiguredException>(() => LaunchPlanner.Plan(Spec(env), ["x"], null, "r1", Daemon, Parent, _ => null, new List<string>()));
        Assert.Equal("env.API_KEY: environment variable NOT_SET_ANYWHERE is not set", e.Reason);
    }

    [Fact]
    public void Runs_under_setsid_and_applies_resource_limits_with_prlimit()
    {
        var limits = new ResourceLimits { CpuSeconds = 60, OpenFiles = 256, MemoryBytes = 512L * 1024 * 1024 };
        var plan = LaunchPlanner.Plan(Spec(limits: limits), ["bash", "-c", "true"], null, "r1", Daemon, Parent, _ => null, new List<string>());

        Assert.Equal("setsid", Path.GetFileName(plan.FileName));
        Assert.Equal("prlimit", Path.GetFileName(plan.Arguments[0]));
        Assert.Equal(["--cpu=60", "--nofile=256:256", "--data=536870912", "--", "bash", "-c", "true"], plan.Arguments.Skip(1));
    }

    [Fact]
    public void A_missing_working_directory_is_a_misconfiguration()
    {
        var spec = Spec() with { Workdir = "/does/not/exist" };
        var e = Assert.Throws<AgentMisconfiguredException>(() => LaunchPlanner.Plan(spec, ["x"], null, "r1", Daemon, Parent, _ => null, new List<string>()));
        Assert.Contains("/does/not/exist", e.Reason);
    }
}
