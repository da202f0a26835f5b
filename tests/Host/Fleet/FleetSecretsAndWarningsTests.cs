using DarkFactory.Messages.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

public sealed class FleetSecretsAndWarningsTests
{
    private const string SecretsMessage = "secrets must not be written in fleet.yaml: use {from_env: VAR} or {from_file: PATH}";

    [Theory]
    [InlineData("GITHUB_TOKEN")]
    [InlineData("client_secret")]
    [InlineData("DB_PASSWORD")]
    [InlineData("OPENAI_API_KEY")]
    [InlineData("ServiceApiKey")]
    [InlineData("SIGNING_KEY")]
    public void Literal_values_of_secret_looking_keys_are_errors(string key)
    {
        var yaml = Agent($"env:\n  {key}: not-a-real-value");
        var e = AssertError(Load(yaml), yaml, $"agents[0].env.{key}", "not-a-real-value");
        Assert.Equal(SecretsMessage, e.Message);
    }

    [Theory]
    [InlineData("KEYBOARD_LAYOUT")]
    [InlineData("LOG_LEVEL")]
    [InlineData("MONKEY")]
    public void Literal_values_of_ordinary_keys_are_fine(string key) =>
        AssertValid(Load(Agent($"env:\n  {key}: value")));

    [Fact]
    public void Secrets_may_come_from_the_environment_or_a_file()
    {
        var result = Load(Agent("env:\n  GITHUB_TOKEN: { from_env: GH_TOKEN }\n  DB_PASSWORD: { from_file: /run/secrets/db }"));
        AssertValid(result);
        var env = result.Fleet!.Agents[0].Env;
        Assert.Equal("GH_TOKEN", env["GITHUB_TOKEN"].FromEnv);
        Assert.Equal("/run/secrets/db", env["DB_PASSWORD"].FromFile);
    }

    [Fact]
    public void Env_keys_must_be_variable_names()
    {
        var yaml = Agent("env:\n  1BAD-NAME: x");
        AssertError(Load(yaml), yaml, "agents[0].env.1BAD-NAME", "1BAD-NAME", "not a valid environment variable name");
    }

    [Fact]
    public void Env_secret_maps_need_exactly_one_source()
    {
        var yaml = Agent("env:\n  X: { from_env: A, from_file: b }");
        AssertError(Load(yaml), yaml, "agents[0].env.X", "{ from_env", "exactly one of from_env or from_file");

        var typo = Agent("env:\n  X: { from_evn: A }");
        AssertError(Load(typo), typo, "agents[0].env.X.from_evn", "from_evn", "(did you mean 'from_env'?)");
    }

    [Fact]
    public void Not_installed_ai_cli_is_a_warning_with_the_install_command()
    {
        const string yaml = "agents:\n  - name: reviewer\n    layer: growth\n    cli: claude\n";
        var checkedBinaries = new List<string>();
        var result = Load(yaml, bin =>
        {
            checkedBinaries.Add(bin);
            return false;
        });

        Assert.True(result.Ok);
        var w = Assert.Single(result.Diagnostics);
        Assert.Equal(DiagnosticSeverity.Warning, w.Severity);
        Assert.Equal(("agents[0].cli", 4, 10), (w.Field, w.Line, w.Column));
        Assert.Equal(
            "CLI 'claude' is not installed: the agent will be reported unavailable; install it with: npm install -g @anthropic-ai/claude-code",
            w.Message);
        Assert.Equal(["claude"], checkedBinaries);
    }

    [Fact]
    public void Installed_ai_cli_gives_no_warning() =>
        Assert.Empty(Load("agents:\n  - name: r\n    layer: growth\n    cli: gemini\n", bin => bin == "gemini").Diagnostics);

    [Fact]
    public void Command_not_on_path_is_a_warning()
    {
        const string yaml = "agents:\n  - name: a\n    layer: core\n    command: [frobnicate, --all]\n";
        var result = Load(yaml, _ => false);

        Assert.True(result.Ok);
        var w = Assert.Single(result.Diagnostics);
        Assert.Equal((DiagnosticSeverity.Warning, "agents[0].command", 4, 14), (w.Severity, w.Field, w.Line, w.Column));
        Assert.Contains("'frobnicate' was not found", w.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Relative_command_next_to_the_fleet_file_is_found()
    {
        var dir = Directory.CreateTempSubdirectory("df-fleet-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "agents"));
            File.WriteAllText(Path.Combine(dir.FullName, "agents", "job.sh"), "#!/bin/sh\n");
            var fleetFile = Path.Combine(dir.FullName, "fleet.yaml");
            File.WriteAllText(fleetFile, "agents:\n  - name: job\n    layer: core\n    command: [agents/job.sh]\n");

            var result = DarkFactory.Host.Fleet.FleetLoader.LoadFile(fleetFile, _ => false);

            Assert.True(result.Ok);
            Assert.Empty(result.Diagnostics);
            Assert.Equal(Path.Combine(dir.FullName, "agents", "job.sh"), result.Fleet!.Agents[0].Command[0]);
            Assert.Equal(dir.FullName, result.Fleet.Agents[0].Workdir);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Permanent_ai_agent_is_warned_about()
    {
        const string yaml = "agents:\n  - name: sentinel\n    layer: safety\n    cli: codex\n";
        var w = Assert.Single(Load(yaml).Diagnostics);
        Assert.Equal((DiagnosticSeverity.Warning, "agents[0].layer"), (w.Severity, w.Field));
        Assert.Contains("restarted permanently", w.Message, StringComparison.Ordinal);
    }
}
