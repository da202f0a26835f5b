using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Adapters.Tests;

/// <summary>What each adapter makes of a run: argv, environment, config files, the provider's key as a secret.</summary>
public sealed class AdapterPlanTests : IDisposable
{
    /// <summary>A run's config files, without its task file (every run with a task has one).</summary>
    private static IReadOnlyList<RunFile> ConfigFiles(LaunchPlan plan) =>
        plan.Files.Where(f => Path.GetFileName(f.Path) != LaunchPlanner.TaskFileName).ToList();

    private const string Key = "sk-test-0123456789abcdef";
    private readonly DaemonContext _daemon = new("dft-plan", Directory.CreateTempSubdirectory("df-plan-").FullName);

    private readonly Dictionary<string, string?> _env = new(StringComparer.Ordinal)
    {
        ["PATH"] = "/usr/bin:/bin",
        ["HOME"] = "/home/operator",
        ["MOCK_KEY"] = Key,
    };

    public void Dispose() => Directory.Delete(_daemon.DataDirectory, recursive: true);

    private static ProviderSpec Provider(string cli, string? baseUrl = "http://127.0.0.1:9999", string? model = "m-1") =>
        new() { Name = "p-" + cli, Cli = cli, BaseUrl = baseUrl, ApiKeyEnv = "MOCK_KEY", Model = model };

    private static AgentSpec Agent(string cli) => new() { Name = "a-" + cli, Cli = cli, Task = "fix the bug" };

    private (RunLaunch Launch, List<string> Secrets) Plan(string cli, ProviderSpec? provider = null, string? model = null)
    {
        var secrets = new List<string>();
        var launch = CliAdapters.Plan(Agent(cli), null, provider ?? Provider(cli), model, "r1", _daemon, _env, _ => null, secrets);
        return (launch, secrets);
    }

    private static string Env(RunLaunch launch, string name) =>
        launch.Plan.Environment.TryGetValue(name, out var v) ? v : throw new Xunit.Sdk.XunitException($"{name} not set; have {string.Join(", ", launch.Plan.Environment.Keys)}");

    [Fact]
    public void Claude_gets_its_endpoint_without_v1_the_key_quiet_settings_and_its_own_home()
    {
        var (launch, secrets) = Plan(CliCatalog.Claude, Provider(CliCatalog.Claude, "http://127.0.0.1:9999/v1/"));

        Assert.Equal(["claude", "-p", "fix the bug", "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits", "--model", "m-1"], launch.Plan.Arguments.Skip(launch.Plan.Arguments.Count - 10));
        Assert.Equal("http://127.0.0.1:9999", Env(launch, "ANTHROPIC_BASE_URL"));
        Assert.Equal(Key, Env(launch, "ANTHROPIC_API_KEY"));
        Assert.Equal("1", Env(launch, "DISABLE_TELEMETRY"));
        Assert.Equal("1", Env(launch, "DISABLE_AUTOUPDATER"));
        Assert.Equal("1", Env(launch, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"));
        Assert.StartsWith(launch.Plan.TempDirectory!, Env(launch, "HOME"), StringComparison.Ordinal);
        Assert.Contains(Key, secrets);
        Assert.Null(launch.Plan.Stdin);
        Assert.Equal(("p-claude", "m-1"), (launch.Provider, launch.Model));
        Assert.DoesNotContain("MOCK_KEY", launch.Plan.Environment.Keys); // not inherited: only the CLI's own variable carries it
    }

    [Fact]
    public void Claude_runs_acceptEdits_with_the_agents_allowed_tools_one_rule_per_argument()
    {
        var agent = Agent(CliCatalog.Claude) with { AllowedTools = ["Bash(git:*)", "Bash(dotnet test:*)"] };
        var launch = CliAdapters.Plan(agent, null, Provider(CliCatalog.Claude), null, "r1", _daemon, _env, _ => null, []);

        var argv = launch.Plan.Arguments.ToList();
        Assert.Equal("acceptEdits", argv[argv.IndexOf("--permission-mode") + 1]);
        Assert.Equal(["--allowedTools", "Bash(git:*)", "Bash(dotnet test:*)", "--model"], argv.Skip(argv.IndexOf("--allowedTools")).Take(4));
        Assert.False(launch.Plan.Environment.ContainsKey("IS_SANDBOX"));
    }

    [Theory]
    [InlineData(true, "1")]
    [InlineData(false, null)]
    public void Claude_bypass_runs_bypassPermissions_and_tells_claude_it_is_sandboxed_only_as_root(bool asRoot, string? isSandbox)
    {
        var agent = Agent(CliCatalog.Claude) with { PermissionMode = PermissionMode.Bypass };
        var context = new AdapterContext(agent, "fix the bug", "m-1", new ResolvedProvider("p", "http://127.0.0.1:9999", Key), _daemon.TempRoot) { AsRoot = asRoot };
        var adapter = CliAdapters.For(CliCatalog.Claude)!;

        var argv = adapter.Argv(context);
        Assert.Equal("bypassPermissions", argv[argv.ToList().IndexOf("--permission-mode") + 1]);
        Assert.DoesNotContain("--dangerously-skip-permissions", argv);
        Assert.Equal(isSandbox, adapter.Configure(context).Environment.GetValueOrDefault("IS_SANDBOX"));
    }

    [Fact]
    public void Bypass_maps_to_codex_full_access_and_gemini_yolo()
    {
        var codex = CliAdapters.Plan(Agent(CliCatalog.Codex) with { PermissionMode = PermissionMode.Bypass }, null, Provider(CliCatalog.Codex), null, "r1", _daemon, _env, _ => null, []);
        Assert.Contains("sandbox_mode = \"danger-full-access\"", Assert.Single(ConfigFiles(codex.Plan)).Content);
        var gemini = CliAdapters.Plan(Agent(CliCatalog.Gemini) with { PermissionMode = PermissionMode.Bypass }, null, Provider(CliCatalog.Gemini), null, "r1", _daemon, _env, _ => null, []);
        Assert.Equal("yolo", gemini.Plan.Arguments[gemini.Plan.Arguments.ToList().IndexOf("--approval-mode") + 1]);

        var defaults = CliAdapters.Plan(Agent(CliCatalog.Codex), null, Provider(CliCatalog.Codex), null, "r1", _daemon, _env, _ => null, []);
        Assert.Contains("sandbox_mode = \"workspace-write\"", Assert.Single(ConfigFiles(defaults.Plan)).Content);
    }

    [Fact]
    public void Codex_gets_a_config_toml_in_its_own_CODEX_HOME_pointing_at_base_url_v1()
    {
        var (launch, _) = Plan(CliCatalog.Codex);

        var home = Env(launch, "CODEX_HOME");
        Assert.StartsWith(launch.Plan.TempDirectory!, home, StringComparison.Ordinal);
        var config = Assert.Single(ConfigFiles(launch.Plan));
        Assert.Equal(Path.Combine(home, "config.toml"), config.Path);
        Assert.Contains("base_url = \"http://127.0.0.1:9999/v1\"", config.Content);
        Assert.Contains("model_provider = \"df\"", config.Content);
        Assert.Contains("model = \"m-1\"", config.Content);
        Assert.Contains("env_key = \"OPENAI_API_KEY\"", config.Content);
        Assert.Contains("check_for_update_on_startup = false", config.Content);
        Assert.DoesNotContain(Key, config.Content); // the key only ever travels in the environment
        Assert.Equal(Key, Env(launch, "OPENAI_API_KEY"));
        Assert.Equal(["codex", "exec", "--json", "--skip-git-repo-check", "-m", "m-1", "fix the bug"], launch.Plan.Arguments.Skip(launch.Plan.Arguments.Count - 7));
    }

    [Fact]
    public void OpenCode_gets_an_openai_compatible_provider_in_its_config_and_the_model_as_df_slash_model()
    {
        var (launch, _) = Plan(CliCatalog.OpenCode);

        var config = Assert.Single(ConfigFiles(launch.Plan));
        Assert.Equal(Path.Combine(Env(launch, "XDG_CONFIG_HOME"), "opencode", "opencode.json"), config.Path);
        Assert.Contains("\"baseURL\":\"http://127.0.0.1:9999/v1\"", config.Content);
        Assert.Contains("\"apiKey\":\"{env:OPENAI_API_KEY}\"", config.Content);
        Assert.Contains("\"autoupdate\":false", config.Content);
        Assert.DoesNotContain(Key, config.Content);
        Assert.Equal("1", Env(launch, "OPENCODE_DISABLE_MODELS_FETCH"));
        Assert.Contains("df/m-1", launch.Plan.Arguments);
        Assert.Equal("fix the bug", launch.Plan.Arguments[^1]);
    }

    [Fact]
    public void Gemini_gets_api_key_auth_in_settings_and_its_endpoint_in_the_environment()
    {
        var (launch, _) = Plan(CliCatalog.Gemini);

        var settings = Assert.Single(ConfigFiles(launch.Plan));
        Assert.Equal(Path.Combine(Env(launch, "HOME"), ".gemini", "settings.json"), settings.Path);
        Assert.Contains("\"selectedType\":\"gemini-api-key\"", settings.Content);
        Assert.Contains("\"enableAutoUpdate\":false", settings.Content);
        Assert.Equal("http://127.0.0.1:9999", Env(launch, "GOOGLE_GEMINI_BASE_URL"));
        Assert.Equal(Key, Env(launch, "GEMINI_API_KEY"));
        Assert.Equal("true", Env(launch, "GEMINI_CLI_TRUST_WORKSPACE"));
        Assert.Contains("-m", launch.Plan.Arguments);
    }

    [Fact]
    public void A_provider_key_variable_that_is_not_set_makes_the_agent_misconfigured_naming_the_variable()
    {
        _env.Remove("MOCK_KEY");

        var e = Assert.Throws<AgentMisconfiguredException>(() => Plan(CliCatalog.Claude));

        Assert.Contains("MOCK_KEY", e.Reason);
        Assert.Contains("p-claude", e.Reason);
    }

    [Fact]
    public void The_agents_model_wins_over_the_providers()
    {
        var (launch, _) = Plan(CliCatalog.Claude, model: "agent-model");

        Assert.Equal("agent-model", launch.Model);
        Assert.Contains("agent-model", launch.Plan.Arguments);
    }

    [Fact]
    public void Without_a_provider_the_cli_keeps_the_operators_home_and_login()
    {
        var secrets = new List<string>();
        var launch = CliAdapters.Plan(Agent(CliCatalog.Claude), null, null, null, "r1", _daemon, _env, _ => null, secrets);

        Assert.Equal("/home/operator", launch.Plan.Environment["HOME"]);
        Assert.False(launch.Plan.Environment.ContainsKey("ANTHROPIC_BASE_URL"));
        Assert.Equal("1", launch.Plan.Environment["DISABLE_TELEMETRY"]);
        Assert.Empty(secrets);
    }

    [Fact]
    public void A_declared_command_overrides_the_argv_but_keeps_the_provider_environment_and_parser()
    {
        var spec = Agent(CliCatalog.Claude) with { Command = ["/opt/fake-claude", "--x"] };
        var launch = CliAdapters.Plan(spec, null, Provider(CliCatalog.Claude), null, "r1", _daemon, _env, _ => null, new List<string>());

        Assert.Equal(["/opt/fake-claude", "--x"], launch.Plan.Arguments.Skip(launch.Plan.Arguments.Count - 2));
        Assert.Equal(Key, launch.Plan.Environment["ANTHROPIC_API_KEY"]);
        Assert.IsType<ClaudeAdapter>(launch.Adapter);
    }

    [Fact]
    public void Plain_commands_are_untouched_text_with_the_task_on_stdin()
    {
        var spec = new AgentSpec { Name = "cmd", Command = ["/bin/echo", "hi"], Task = "t" };
        var launch = CliAdapters.Plan(spec, null, null, null, "r1", _daemon, _env, _ => null, new List<string>());

        Assert.Null(launch.Adapter);
        Assert.Equal("t", launch.Plan.Stdin);
        Assert.Empty(ConfigFiles(launch.Plan)); // only the task file (DF_TASK_FILE)
        Assert.Equal(LaunchPlanner.TaskFileName, Path.GetFileName(Assert.Single(launch.Plan.Files).Path));
        Assert.Equal(Messages.Agents.OutputKind.Text, CliAdapters.Classifier(CliCatalog.Command)(Messages.Agents.OutputStream.Stdout, "{\"type\":\"result\"}"));
    }

    [Fact]
    public void The_provider_of_an_agent_is_the_named_one_else_the_preferred_one_of_its_cli()
    {
        ProviderSpec[] providers =
        [
            new() { Name = "a1", Cli = CliCatalog.Claude, Priority = 50 },
            new() { Name = "a0", Cli = CliCatalog.Claude, Priority = 10 },
            new() { Name = "o", Cli = CliCatalog.Codex },
        ];

        Assert.Equal("a0", CliAdapters.ProviderFor(Agent(CliCatalog.Claude), providers)?.Name);
        Assert.Equal("a1", CliAdapters.ProviderFor(Agent(CliCatalog.Claude) with { Provider = "a1" }, providers)?.Name);
        Assert.Null(CliAdapters.ProviderFor(Agent(CliCatalog.Gemini), providers));
        Assert.Null(CliAdapters.ProviderFor(new AgentSpec { Name = "c" }, providers));
    }

    [Fact]
    public void Resolved_provider_never_prints_its_key()
    {
        Assert.DoesNotContain(Key, new ResolvedProvider("p", null, Key).ToString());
    }

    /// <summary>
    /// A project task's retry names the earlier run and its CLI session: the session's conversation is restored and the
    /// CLI resumes it (claude --resume ID, codex exec resume ID); only a kept conversation and an id shaped like one.
    /// </summary>
    [Theory]
    [InlineData(CliCatalog.Claude, "/usr/bin/setsid claude -p TASK --output-format stream-json --verbose --permission-mode acceptEdits --resume 3f1e2d4c-5b6a-4789-90ab-cdef01234567 --model m-1")]
    [InlineData(CliCatalog.Codex, "/usr/bin/setsid codex exec resume --json --skip-git-repo-check -m m-1 3f1e2d4c-5b6a-4789-90ab-cdef01234567 TASK")]
    public void A_retry_resumes_the_kept_conversation_of_the_run_it_names(string cli, string argv)
    {
        const string session = "3f1e2d4c-5b6a-4789-90ab-cdef01234567";
        var kept = Directory.CreateDirectory(RunSessions.KeepOf(LaunchPlanner.RunDirectory(_daemon, "a-" + cli, "r2"), "r1")).FullName;
        try
        {
            RunLaunch Start(SessionResume? resume) => CliAdapters.Plan(Agent(cli), "TASK", Provider(cli), null, "r2", _daemon, _env, _ => null, [], new SessionPlan(resume));

            var resumed = Start(new SessionResume("r1", session));
            Assert.Equal(argv, string.Join(' ', resumed.Plan.Argv.Select(a => a.StartsWith(LaunchPlanner.RunDirectory(_daemon, "a-" + cli, "r2"), StringComparison.Ordinal) ? "TASK" : a)));
            Assert.Equal(kept, resumed.Plan.Session!.Restore);
            Assert.StartsWith(LaunchPlanner.RunDirectory(_daemon, "a-" + cli, "r2"), resumed.Plan.Session.State, StringComparison.Ordinal);

            // a forged id (a flag), a run whose conversation was not kept, no resume at all: a fresh conversation, still kept at the end
            foreach (var fresh in new[] { Start(new SessionResume("r1", "--dangerously-skip-permissions")), Start(new SessionResume("r0", session)), Start(null) })
            {
                Assert.DoesNotContain("resume", fresh.Plan.Argv.Select(a => a.TrimStart('-')));
                Assert.Null(fresh.Plan.Session!.Restore);
            }

            // a run that is no project task's keeps nothing
            Assert.Null(CliAdapters.Plan(Agent(cli), "TASK", Provider(cli), null, "r2", _daemon, _env, _ => null, []).Plan.Session);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(Path.GetDirectoryName(kept)!)!, recursive: true);
        }
    }
}
