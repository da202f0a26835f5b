using System.Text.RegularExpressions;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Host.Tests.EndToEnd;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Tests.Deploy;

/// <summary>
/// docker-compose.yml and the Dockerfile stay valid and describe the intended topology (there is no
/// Docker engine here), and the daemon service's environment runs the same configuration as processes.
/// </summary>
[Collection("daemon")]
public sealed partial class ComposeTests
{
    private static readonly string Root = DaemonProcess.RepoRoot();

    /// <summary>Every environment variable the daemon reads from its environment (beyond PATH and the like).</summary>
    private static readonly HashSet<string> DaemonVariables = ["DF_POSTGRES", "DF_DATA_DIR", "DF_WORKTREES", "GITHUB_TOKEN", .. ReviewOverrides.Names, .. ProviderKeys()];

    /// <summary>The default fleet's provider keys (providers[].api_key_env): compose passes each from the host's environment.</summary>
    internal static IReadOnlyList<string> ProviderKeys() =>
        DarkFactory.Host.Fleet.FleetLoader.LoadFile(Path.Combine(Root, "fleet.yaml")).Fleet!.Providers.Select(p => p.ApiKeyEnv).OfType<string>().ToList();

    private static YamlMappingNode Compose()
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Root, "docker-compose.yml"));
        stream.Load(reader);
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static YamlMappingNode Map(YamlNode node, string key) => (YamlMappingNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)];

    private static string Scalar(YamlNode node, string key) => ((YamlScalarNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)]).Value!;

    private static IReadOnlyList<string> Sequence(YamlNode node, string key) =>
        ((YamlSequenceNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)]).Children.Select(n => ((YamlScalarNode)n).Value!).ToList();

    private static Dictionary<string, string> Environment(YamlNode service) =>
        Map(service, "environment").Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!);

    [Fact]
    public void The_cluster_profile_runs_three_nodes_of_one_cluster_on_the_same_postgres_each_with_its_own_data()
    {
        var compose = Compose();
        var services = Map(compose, "services");
        var volumes = Map(compose, "volumes").Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet();
        var daemon = Map(services, "daemon");
        var ports = new HashSet<string>(Sequence(daemon, "ports"));
        foreach (var name in new[] { "n1", "n2", "n3" })
        {
            var node = Map(services, name);
            Assert.Equal(["cluster"], Sequence(node, "profiles")); // the single daemon stays the default
            Assert.Equal("service_healthy", Scalar(Map(Map(node, "depends_on"), "postgres"), "condition"));
            Assert.Equal(Environment(daemon)["DF_POSTGRES"], Environment(node)["DF_POSTGRES"]);
            Assert.DoesNotContain(Environment(node).Keys, k => !DaemonVariables.Contains(k) && k != DarkFactory.Host.Cluster.ClusterTls.Variable);
            Assert.Equal("${DF_CLUSTER_SECRET:-}", Environment(node)[DarkFactory.Host.Cluster.ClusterTls.Variable]); // the nodes' mutual TLS, from .env

            // the command a node runs: the daemon's, plus the cluster options, which df up's own check accepts
            var command = Sequence(node, "command");
            string Value(string option) => command[command.ToList().IndexOf(option) + 1];
            Assert.Equal("up", command[0]);
            Assert.Equal(name, Value("--node"));
            Assert.Equal(name, Value("--cluster-host")); // bound and reached by its service name on the compose network
            var seeds = command.Select((a, i) => (a, i)).Where(p => p.a == "--seed").Select(p => command[p.i + 1]).ToList();
            Assert.Equal(["n1:4053", "n2:4053"], seeds);
            var options = new DarkFactory.Host.Cluster.ClusterNodeOptions(name, int.Parse(Value("--cluster-port"), System.Globalization.CultureInfo.InvariantCulture), seeds, Value("--cluster-host"));
            Assert.Null(options.Refusal(new DarkFactory.Host.Daemon.PersistenceSetup("PostgreSQL.15", Environment(node)["DF_POSTGRES"])));

            // node-local data and worktrees; the API on the host's loopback, one port each
            var mounts = Sequence(node, "volumes").Select(v => v.Split(':')).ToDictionary(p => p[1], p => p[0]);
            Assert.Equal($"{name}-data", mounts[Environment(node)["DF_DATA_DIR"]]);
            Assert.Equal($"{name}-worktrees", mounts[Environment(node)["DF_WORKTREES"]]);
            Assert.Subset(volumes, new HashSet<string> { $"{name}-data", $"{name}-worktrees" });
            var port = Assert.Single(Sequence(node, "ports"));
            Assert.StartsWith("127.0.0.1:", port);
            Assert.True(ports.Add(port), $"{name} publishes {port} twice");
        }
    }

    [Fact]
    public void Compose_runs_the_daemon_against_postgres_with_persistent_volumes_configured_by_environment()
    {
        var compose = Compose();
        var services = Map(compose, "services");
        var volumes = Map(compose, "volumes").Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet();
        var postgres = Map(services, "postgres");
        var daemon = Map(services, "daemon");

        Assert.StartsWith("postgres:", Scalar(postgres, "image"));
        Assert.Contains("pgdata:/var/lib/postgresql/data", Sequence(postgres, "volumes"));
        Assert.Contains("pg_isready", string.Join(' ', Sequence(Map(postgres, "healthcheck"), "test")));
        Assert.Equal("service_healthy", Scalar(Map(Map(daemon, "depends_on"), "postgres"), "condition"));
        Assert.Equal("Dockerfile", Scalar(Map(daemon, "build"), "dockerfile"));

        var env = Environment(daemon);
        Assert.DoesNotContain(env.Keys, k => !DaemonVariables.Contains(k));
        Assert.Matches("^Host=postgres;Port=5432;.*Database=darkfactory$", env["DF_POSTGRES"]);
        Assert.Contains("GITHUB_TOKEN", env.Keys);
        Assert.All(ProviderKeys(), key => Assert.Equal($"${{{key}:-}}", env[key]));
        Assert.Contains("DF_FORGE_BASE_URL", env.Keys);

        // the database, the data directory and the worktrees live in named volumes; the repository is mounted
        var mounts = Sequence(daemon, "volumes").ToDictionary(v => v[(v.LastIndexOf(':') + 1)..], v => v[..v.LastIndexOf(':')]);
        Assert.Equal("data", mounts[env["DF_DATA_DIR"]]);
        Assert.Equal("worktrees", mounts[env["DF_WORKTREES"]]);
        Assert.True(mounts.ContainsKey(env["DF_REVIEW_REPO"]));
        Assert.Subset(volumes, new HashSet<string> { "pgdata", "data", "worktrees" });

        // the API reaches the host's loopback only, on the port the image listens on
        var port = Assert.Single(Sequence(daemon, "ports"));
        Assert.StartsWith("127.0.0.1:", port);
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        Assert.Contains($"EXPOSE {port.Split(':')[^1]}", dockerfile);
        Assert.Contains($"\"--listen\", \"0.0.0.0:{port.Split(':')[^1]}\"", dockerfile);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/df.dll\"]", dockerfile);
        Assert.Contains($"DF_DATA_DIR={env["DF_DATA_DIR"]}", dockerfile);
        Assert.Contains($"DF_WORKTREES={env["DF_WORKTREES"]}", dockerfile);
        Assert.Contains("src/Host/DarkFactory.Host.csproj", dockerfile);
        Assert.True(File.Exists(Path.Combine(Root, "src/Host/DarkFactory.Host.csproj")));
    }

    [Fact]
    public async Task The_daemon_service_environment_runs_a_review_to_a_PR_as_processes()
    {
        using var git = new GitFixture();
        git.DayOfHistory(DateTimeOffset.UtcNow);
        await using var github = await MockGitHub.StartAsync();
        var postgres = System.Environment.GetEnvironmentVariable("DF_TEST_POSTGRES");
        await using var database = await TestDatabase.CreateAsync(string.IsNullOrEmpty(postgres) ? "sqlite" : "postgres");
        var fleet = $"""
            version: 1
            agents:
              - name: fixer
                layer: growth
                command: ["{DaemonProcess.Agent("review-fix.sh")}", "fix"]
            compound_review:
              agent: fixer
              gates:
                - name: has-review
                  command: test -s REVIEW.md
            """;
        await using var daemon = new DaemonProcess(fleet);

        // the compose file's values, with the host's stand-ins for its volumes, database and forge
        var variables = new Dictionary<string, string>
        {
            ["DF_POSTGRES_PASSWORD"] = "unused",
            ["DF_REVIEW_CREATE_PRS"] = "true",
            ["DF_FORGE_BASE_URL"] = github.BaseUrl,
            ["DF_FORGE_REPOSITORY"] = "acme/widgets",
            ["GITHUB_TOKEN"] = "compose-token",
        };
        var paths = new Dictionary<string, string>
        {
            ["/var/lib/darkfactory-worktrees"] = Path.Combine(daemon.Root, "worktrees"),
            ["/var/lib/darkfactory"] = daemon.DataDir,
            ["/srv/repo"] = git.Repo,
        };
        foreach (var (key, raw) in Environment(Map(Map(Compose(), "services"), "daemon")))
        {
            var value = Interpolation().Replace(raw, m => variables.GetValueOrDefault(m.Groups[1].Value) ?? m.Groups[2].Value);
            value = paths.GetValueOrDefault(value) ?? value;
            if (key == "DF_POSTGRES")
            {
                if (database.ConnectionString is null)
                {
                    continue; // no PostgreSQL here: the embedded store
                }

                value = database.ConnectionString;
            }

            daemon.Environment[key] = value;
        }

        await daemon.StartAsync();
        var review = await daemon.Json("review", "run", "--wait", "--json");
        Assert.True(review.GetProperty("status").GetString() == "completed", review + "\n" + daemon.Output);
        Assert.StartsWith("https://github.example/acme/widgets/pull/", review.GetProperty("pr_url").GetString());
        Assert.StartsWith(Path.Combine(daemon.Root, "worktrees"), review.GetProperty("worktree").GetString());
        Assert.Equal("Bearer compose-token", github.Requests.Last().Authorization);
        Assert.Contains(review.GetProperty("branch").GetString(), git.RemoteBranches());
        Assert.DoesNotContain("compose-token", daemon.Output);
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    [GeneratedRegex(@"\$\{([A-Z_]+)(?::-([^}]*))?\}")]
    private static partial Regex Interpolation();
}
