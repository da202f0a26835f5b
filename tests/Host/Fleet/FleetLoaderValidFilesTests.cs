using DarkFactory.Host.Fleet;
using DarkFactory.Messages.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

public sealed class FleetLoaderValidFilesTests
{
    [Fact]
    public void Minimal_file_is_valid_with_defaults()
    {
        const string yaml = """
            version: 1
            agents:
              - name: ticker
                layer: safety
                cli: command
                command: ["bash", "-c", "while true; do echo tick; sleep 1; done"]
            """;
        var result = Load(yaml);

        AssertValid(result);
        Assert.Empty(result.Diagnostics);
        var fleet = result.Fleet!;
        var ticker = Assert.Single(fleet.Agents);
        Assert.Equal("ticker", ticker.Name);
        Assert.Equal(LayerName.Safety, ticker.Layer);
        Assert.Equal(["bash", "-c", "while true; do echo tick; sleep 1; done"], ticker.Command);
        Assert.Equal(3, ticker.SourceLine);
        Assert.Null(ticker.Restart);
        Assert.Null(ticker.Autostart);
        Assert.Equal(Directory.GetCurrentDirectory(), ticker.Workdir);
        Assert.Equal(3, fleet.Layers.Count);
        Assert.Equal(LayerSpec.Default(LayerName.Growth), fleet.Layer(LayerName.Growth));
        Assert.Equal(new NightwatchSpec().Thresholds, fleet.Nightwatch.Thresholds);
        Assert.Equal(Path.GetFullPath(FileName), fleet.SourcePath);
    }

    [Fact]
    public void Default_fleet_yaml_is_valid_with_13_agents_across_3_layers()
    {
        var root = RepoRoot();
        var path = Path.Combine(root, "fleet.yaml");
        Assert.StartsWith("# yaml-language-server: $schema=./fleet.schema.json", File.ReadLines(path).First(), StringComparison.Ordinal);

        var result = FleetLoader.LoadFile(path, _ => true);

        AssertValid(result);
        Assert.Empty(result.Diagnostics); // with every CLI installed there is nothing to warn about
        var fleet = result.Fleet!;
        Assert.Equal(13, fleet.Agents.Count);
        Assert.Equal(3, fleet.Agents.Select(a => a.Layer).Distinct().Count());
        Assert.All(fleet.Agents.Where(a => a.Layer == LayerName.Growth), a => Assert.Null(a.Schedule));
        Assert.All(
            fleet.Agents.Where(a => a.Cli != CliCatalog.Command),
            a => Assert.NotEqual(RestartType.Permanent, a.Restart ?? fleet.Layer(a.Layer).DefaultRestart));
        Assert.All(fleet.Agents.Where(a => a.Cli == CliCatalog.Command), a =>
        {
            Assert.True(Path.IsPathRooted(a.Command[0]), a.Command[0]);
            Assert.True(File.Exists(a.Command[0]), a.Command[0]);
        });
        Assert.Equal(["anthropic", "google", "openai", "opencode"], fleet.Providers.Select(p => p.Name).Order());
        Assert.False(fleet.CompoundReview.CreatePrs);
        Assert.Equal("compound-reviewer", fleet.CompoundReview.Agent);
        Assert.Contains(fleet.Routing, r => r.Cli == CliCatalog.Codex && r.Keywords.Contains("CVE"));
        Assert.Contains(fleet.Routing, r => r.Cli == CliCatalog.Claude && r.Keywords.Contains("review"));
    }

    [Fact]
    public void Default_fleet_warns_only_about_missing_ai_clis_when_none_is_installed()
    {
        var result = FleetLoader.LoadFile(Path.Combine(RepoRoot(), "fleet.yaml"), bin => bin is "bash" or "sh" or "dotnet");

        AssertValid(result);
        Assert.All(result.Diagnostics, d =>
        {
            Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
            Assert.Contains("is not installed", d.Message, StringComparison.Ordinal);
        });
        Assert.Equal(7, result.Diagnostics.Count);
    }

    [Fact]
    public void Layers_merge_given_keys_over_the_defaults()
    {
        const string yaml = """
            layers:
              core:
                strategy: one-for-all
                backoff: { max: 2m }
            agents: []
            """;
        var fleet = Load(yaml).Fleet!;

        var core = fleet.Layer(LayerName.Core);
        Assert.Equal(StrategyKind.OneForAll, core.Strategy);
        Assert.Equal(TimeSpan.FromMinutes(2), core.Backoff.Max);
        Assert.Equal(new BackoffSpec().Min, core.Backoff.Min);
        Assert.Equal(RestartType.Transient, core.DefaultRestart);
        Assert.Equal(RestartType.Permanent, fleet.Layer(LayerName.Safety).DefaultRestart);
    }

    [Fact]
    public void Agent_fields_are_read_and_paths_resolved()
    {
        var yaml = """
            providers:
              - name: anthropic
            agents:
              - name: worker-1
                layer: growth
                cli: claude
                provider: anthropic
                workdir: sub/dir
                schedule: "*/10 * * * * *"
                timezone: Europe/Berlin
                restart: transient
                autostart: false
                limits: { memory: 512MiB, cpu_seconds: 90, open_files: 1024 }
                max_runtime: 1h30m
                grace: 500ms
                min_uptime: 3s
                log: { max_size: 256MiB, keep: 0 }
                overlap: queue
                queue_limit: 2
                catch_up: all
                catch_up_limit: 5
                jitter: 1m
                env:
                  PLAIN: hello
                  GH_TOKEN: { from_env: GITHUB_TOKEN }
                  DB_PASSWORD: { from_file: secrets/db }
              - name: script
                layer: core
                command: ./scripts/run.sh --fast
              - name: relative
                layer: core
                command: [scripts/run.sh, --fast]
            compound_review:
              gates:
                - name: lint
                  command: make lint
            """;
        var result = Load(yaml);
        AssertValid(result);
        var fleet = result.Fleet!;
        var cwd = Directory.GetCurrentDirectory();

        var w = fleet.Agents[0];
        Assert.Equal(CliCatalog.Claude, w.Cli);
        Assert.Equal(Path.Combine(cwd, "sub", "dir"), w.Workdir);
        Assert.Equal(RestartType.Transient, w.Restart);
        Assert.False(w.Autostart);
        Assert.Equal(512 * Sizes.MiB, w.Limits.MemoryBytes);
        Assert.Equal(90, w.Limits.CpuSeconds);
        Assert.Equal(1024, w.Limits.OpenFiles);
        Assert.Equal(TimeSpan.FromMinutes(90), w.MaxRuntime);
        Assert.Equal(TimeSpan.FromMilliseconds(500), w.Grace);
        Assert.Equal(TimeSpan.FromSeconds(3), w.MinUptime);
        Assert.Equal(new LogRetention { MaxBytes = 256 * Sizes.MiB, Keep = 0 }, w.Log);
        Assert.Equal(new LogRetention { MaxBytes = 16 * Sizes.MiB, Keep = 3 }, fleet.Agents[1].Log);
        Assert.Equal(AgentSpec.DefaultMinUptime, fleet.Agents[1].MinUptime);
        Assert.Equal(TimeSpan.FromSeconds(1), AgentSpec.DefaultMinUptime);
        Assert.Equal(OverlapPolicy.Queue, w.Overlap);
        Assert.Equal(CatchUpPolicy.All, w.CatchUp);
        Assert.Equal((2, 5), (w.QueueLimit, w.CatchUpLimit));
        Assert.Equal(TimeSpan.FromMinutes(1), w.Jitter);
        Assert.Equal("hello", w.Env["PLAIN"].Value);
        Assert.Equal("GITHUB_TOKEN", w.Env["GH_TOKEN"].FromEnv);
        Assert.Equal(Path.Combine(cwd, "secrets", "db"), w.Env["DB_PASSWORD"].FromFile);
        Assert.True(w.Env["DB_PASSWORD"].IsSecret);

        Assert.Equal(CliCatalog.Command, fleet.Agents[1].Cli);
        Assert.Equal(["sh", "-c", "./scripts/run.sh --fast"], fleet.Agents[1].Command);
        Assert.Equal([Path.Combine(cwd, "scripts", "run.sh"), "--fast"], fleet.Agents[2].Command);
        Assert.Equal(["sh", "-c", "make lint"], fleet.CompoundReview.Gates[0].Command);
        Assert.Equal(CliCatalog.Claude, fleet.Providers[0].Cli); // inferred from the well-known name
    }
}
