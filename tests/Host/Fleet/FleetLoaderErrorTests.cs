using DarkFactory.Host.Fleet;
using DarkFactory.Messages.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

public sealed class FleetLoaderErrorTests
{
    [Fact]
    public void Malformed_yaml_is_one_error_at_the_parser_position()
    {
        const string yaml = "version: 1\nagents:\n  - name: a\n    layer: [core\n";
        var result = Load(yaml);

        Assert.Null(result.Fleet);
        var e = Assert.Single(result.Diagnostics);
        Assert.True(e.IsError);
        Assert.StartsWith("invalid YAML", e.Message, StringComparison.Ordinal);
        Assert.True(e.Line >= 4, e.ToString());
    }

    [Fact]
    public void Bad_indentation_is_reported_with_its_line()
    {
        const string yaml = "version: 1\nagents:\n  - name: a\n   layer: core\n";
        var e = Assert.Single(Load(yaml).Diagnostics);
        Assert.True(e.IsError);
        Assert.Equal(4, e.Line);
    }

    [Fact]
    public void Missing_file_is_one_error_naming_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), "df-no-such-dir", "fleet.yaml");
        var result = FleetLoader.LoadFile(path);

        Assert.False(result.Ok);
        var e = Assert.Single(result.Diagnostics);
        Assert.True(e.IsError);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_agent_key_suggests_the_closest_one()
    {
        var yaml = Agent("shedule: \"0 * * * *\"");
        var e = AssertError(Load(yaml), yaml, "agents[0].shedule", "shedule");
        Assert.Equal("unknown key 'shedule' (did you mean 'schedule'?)", e.Message);
    }

    [Theory]
    [InlineData("versoin: 1\nagents: []\n", "versoin", "versoin", "(did you mean 'version'?)")]
    [InlineData("layers:\n  core:\n    backof: {}\n", "layers.core.backof", "backof", "(did you mean 'backoff'?)")]
    [InlineData("layers:\n  growht: {}\n", "layers.growht", "growht", "(did you mean 'growth'?)")]
    [InlineData("nightwatch:\n  thresholds: { minor: 0.1, fatal: 0.9 }\n", "nightwatch.thresholds.fatal", "fatal", "unknown key 'fatal'")]
    [InlineData("compound_review:\n  forge: { kind: github, owner: me }\n", "compound_review.forge.owner", "owner", "unknown key 'owner'")]
    [InlineData("providers:\n  - name: anthropic\n    modle: x\n", "providers[0].modle", "modle", "(did you mean 'model'?)")]
    public void Unknown_keys_are_errors_at_every_level(string yaml, string field, string marker, string message)
    {
        var e = AssertError(Load(yaml), yaml, field, marker, message);
        Assert.StartsWith("unknown key", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("max_runtime: [1, 2]", "agents[0].max_runtime", "[1, 2]", "expected a duration")]
    [InlineData("queue_limit: ten", "agents[0].queue_limit", "ten", "expected an integer, got 'ten'")]
    [InlineData("capabilities: review", "agents[0].capabilities", "review", "expected a list of strings")]
    [InlineData("limits: 5", "agents[0].limits", "5", "expected a map, got '5'")]
    [InlineData("log: 16MiB", "agents[0].log", "16MiB", "expected a map")]
    [InlineData("log: { max_sise: 1MiB }", "agents[0].log.max_sise", "max_sise", "(did you mean 'max_size'?)")]
    [InlineData("autostart: maybe", "agents[0].autostart", "maybe", "expected true or false")]
    [InlineData("env: [A]", "agents[0].env", "[A]", "expected a map, got a list")]
    [InlineData("task: { text: hi }", "agents[0].task", "{ text", "expected a string, got a map")]
    public void Wrong_types_are_reported_at_the_value(string extra, string field, string marker, string message)
    {
        var yaml = Agent(extra);
        AssertError(Load(yaml), yaml, field, marker, message);
    }

    [Fact]
    public void Empty_list_items_are_errors()
    {
        const string yaml = "agents:\n  -\n  - name: b\n    layer: core\n    command: [true]\n";
        var e = Assert.Single(Load(yaml).Diagnostics, d => d.IsError);
        Assert.Equal("agents[0]", e.Field);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void Top_level_wrong_types_are_errors()
    {
        const string yaml = "agents: { name: a }\n";
        AssertError(Load(yaml), yaml, "agents", "{ name", "expected a list, got a map");
    }

    [Theory]
    [InlineData("  - layer: core\n    cli: codex\n", "agents[0].name", "missing required field 'name'")]
    [InlineData("  - name: a\n    cli: codex\n", "agents[0].layer", "missing required field 'layer'")]
    [InlineData("  - name: a\n    layer: core\n", "agents[0].cli", "missing required field 'cli'")]
    public void Missing_required_fields_point_at_the_agent(string agent, string field, string message)
    {
        var yaml = "agents:\n" + agent;
        var result = Load(yaml);
        var e = Assert.Single(result.Diagnostics, d => d.IsError);
        Assert.Equal((field, 2, 5), (e.Field, e.Line, e.Column));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_agent_names_point_at_the_second_and_name_the_first_line()
    {
        var yaml = Agent() + "  - name: a\n    layer: growth\n    cli: command\n    command: [true]\n";
        var e = AssertError(Load(yaml), yaml, "agents[1].name", "a\n    layer: growth");
        Assert.Equal("duplicate agent name 'a' (first defined at line 3)", e.Message);
    }

    [Theory]
    [InlineData("Bad_Name")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234")]
    public void Agent_names_must_match_the_pattern(string name)
    {
        var yaml = $"agents:\n  - name: \"{name}\"\n    layer: core\n    command: [true]\n";
        AssertError(Load(yaml), yaml, "agents[0].name", $"\"{name}\"", "invalid agent name");
    }

    [Fact]
    public void Unknown_layer_is_an_error()
    {
        var yaml = "agents:\n  - name: a\n    layer: crust\n    command: [true]\n";
        AssertError(Load(yaml), yaml, "agents[0].layer", "crust", "expected one of: safety, core, growth");
    }

    [Fact]
    public void Unknown_cli_is_an_error_with_a_suggestion()
    {
        var yaml = "agents:\n  - name: a\n    layer: core\n    cli: cluade\n";
        AssertError(Load(yaml), yaml, "agents[0].cli", "cluade", "unknown cli 'cluade' (did you mean 'claude'?)");
    }

    [Fact]
    public void Cli_command_needs_a_command_list()
    {
        var yaml = "agents:\n  - name: a\n    layer: core\n    cli: command\n";
        AssertError(Load(yaml), yaml, "agents[0].cli", "command\n", "needs a non-empty 'command' list");

        var empty = "agents:\n  - name: a\n    layer: core\n    cli: command\n    command: []\n";
        AssertError(Load(empty), empty, "agents[0].command", "[]", "must not be an empty list");
    }

    [Fact]
    public void Unknown_provider_in_agent_and_routing_rule()
    {
        const string yaml = """
            providers:
              - name: anthropic
            routing:
              - keywords: [review]
                provider: antropik
            agents:
              - name: a
                layer: growth
                cli: claude
                provider: openai
            """;
        var result = Load(yaml);
        AssertError(result, yaml, "routing[0].provider", "antropik", "unknown provider 'antropik' (did you mean 'anthropic'?)");
        AssertError(result, yaml, "agents[0].provider", "openai", "unknown provider 'openai'");
    }

    [Fact]
    public void Duplicate_provider_names_are_errors()
    {
        const string yaml = "providers:\n  - name: openai\n  - name: google\n  - name: \"openai\"\n";
        AssertError(Load(yaml), yaml, "providers[2].name", "\"openai\"", "duplicate provider name 'openai' (first defined at line 2)");
    }

    [Fact]
    public void Provider_without_a_cli_is_an_error_unless_the_name_is_well_known()
    {
        const string yaml = "providers:\n  - name: mistral\n";
        var e = Assert.Single(Load(yaml).Diagnostics, d => d.IsError);
        Assert.Equal(("providers[0].cli", 2, 5), (e.Field, e.Line, e.Column));
    }

    [Theory]
    [InlineData("* * *", "expected 5 fields")]
    [InlineData("61 * * * *", "invalid cron expression '61 * * * *': ")]
    [InlineData("0 0 25 * * * *", "got 7")]
    public void Bad_cron_expressions_are_errors(string cron, string message)
    {
        var yaml = Agent($"schedule: \"{cron}\"");
        AssertError(Load(yaml), yaml, "agents[0].schedule", $"\"{cron}\"", message);
    }

    [Theory]
    [InlineData("*/5 * * * *")]
    [InlineData("30 */5 * * * *")]
    [InlineData("@daily")]
    [InlineData("0 2 * * MON-FRI")]
    public void Good_cron_expressions_with_and_without_seconds(string cron) =>
        AssertValid(Load(Agent($"schedule: \"{cron}\"")));

    [Fact]
    public void Cron_errors_carry_cronos_message()
    {
        var yaml = Agent("schedule: \"61 * * * *\"");
        var e = Assert.Single(Load(yaml).Diagnostics, d => d.IsError);
        Assert.True(e.Message.Length > "invalid cron expression '61 * * * *': ".Length, e.Message);
    }

    [Fact]
    public void Unknown_timezone_is_an_error()
    {
        var yaml = Agent("timezone: Mars/Olympus_Mons");
        AssertError(Load(yaml), yaml, "agents[0].timezone", "Mars/", "unknown time zone 'Mars/Olympus_Mons'");
        AssertValid(Load(Agent("timezone: America/New_York")));
    }

    [Theory]
    [InlineData("max_runtime: 5 minutes", "agents[0].max_runtime", "5 minutes", "expected a duration")]
    [InlineData("grace: 10x", "agents[0].grace", "10x", "expected a duration")]
    [InlineData("min_uptime: soon", "agents[0].min_uptime", "soon", "expected a duration")]
    [InlineData("limits:\n  memory: 12 parsecs", "agents[0].limits.memory", "12 parsecs", "expected a size")]
    [InlineData("log: { max_size: 99999999999TiB }", "agents[0].log.max_size", "99999999999TiB", "expected a size")]
    [InlineData("log: { max_size: lots }", "agents[0].log.max_size", "lots", "expected a size")]
    [InlineData("log: { keep: 99999999999 }", "agents[0].log.keep", "99999999999", "expected an integer")]
    [InlineData("log: { keep: 1.5 }", "agents[0].log.keep", "1.5", "expected an integer")]
    public void Bad_durations_and_sizes_are_errors(string extra, string field, string marker, string message)
    {
        var yaml = Agent(extra);
        AssertError(Load(yaml), yaml, field, marker, message);
    }

    [Theory]
    [InlineData("limits:\n  memory: 100KiB", "agents[0].limits.memory", "100KiB", "at least 1MiB")]
    [InlineData("limits:\n  open_files: 4", "agents[0].limits.open_files", "4\n", "at least 8")]
    [InlineData("limits:\n  cpu_seconds: 0", "agents[0].limits.cpu_seconds", "0\n", "must be positive")]
    [InlineData("max_runtime: 0s", "agents[0].max_runtime", "0s", "positive")]
    [InlineData("grace: -1s", "agents[0].grace", "-1s", "must not be negative")]
    [InlineData("result_grace: 0s", "agents[0].result_grace", "0s", "must be a positive duration")]
    [InlineData("min_uptime: -1s", "agents[0].min_uptime", "-1s", "must not be negative")]
    [InlineData("log: { max_size: 1KiB }", "agents[0].log.max_size", "1KiB", "at least 64KiB")]
    [InlineData("log: { max_size: 0 }", "agents[0].log.max_size", "0 }", "at least 64KiB")]
    [InlineData("log: { max_size: -1MiB }", "agents[0].log.max_size", "-1MiB", "at least 64KiB")]
    [InlineData("log: { max_size: 2TiB }", "agents[0].log.max_size", "2TiB", "at most 1TiB")]
    [InlineData("log: { keep: -1 }", "agents[0].log.keep", "-1", "between 0 and 1000")]
    [InlineData("log: { keep: 1001 }", "agents[0].log.keep", "1001", "between 0 and 1000")]
    [InlineData("queue_limit: 0", "agents[0].queue_limit", "0\n", "at least 1")]
    [InlineData("catch_up_limit: -2", "agents[0].catch_up_limit", "-2", "at least 1")]
    [InlineData("jitter: -5s", "agents[0].jitter", "-5s", "must not be negative")]
    public void Impossible_agent_limits_are_errors(string extra, string field, string marker, string message)
    {
        var yaml = Agent(extra);
        AssertError(Load(yaml), yaml, field, marker, message);
    }

    [Theory]
    [InlineData("layers:\n  core:\n    backoff: { min: 2m, max: 1m }\n", "layers.core.backoff.min", "2m", "backoff min (2m) is greater than max (1m)")]
    [InlineData("layers:\n  core:\n    backoff: { jitter: 1.5 }\n", "layers.core.backoff.jitter", "1.5", "between 0 and 1")]
    [InlineData("layers:\n  safety:\n    max_restarts: -1\n", "layers.safety.max_restarts", "-1", "must not be negative")]
    [InlineData("layers:\n  growth:\n    within: 0s\n", "layers.growth.within", "0s", "positive")]
    [InlineData("layers:\n  growth:\n    quarantine_after: 0\n", "layers.growth.quarantine_after", "0\n", "at least 1")]
    [InlineData("providers:\n  - name: openai\n    priority: -1\n", "providers[0].priority", "-1", "must not be negative")]
    [InlineData("providers:\n  - name: openai\n    prices: { output_per_million: -3 }\n", "providers[0].prices.output_per_million", "-3", "must not be negative")]
    [InlineData("providers:\n  - name: openai\n    limits: { budget_per_day: -10 }\n", "providers[0].limits.budget_per_day", "-10", "must not be negative")]
    [InlineData("providers:\n  - name: openai\n    limits: { requests_per_minute: 0 }\n", "providers[0].limits.requests_per_minute", "0 }", "must be positive")]
    [InlineData("limits:\n  max_concurrent_runs: 0\n", "limits.max_concurrent_runs", "0\n", "must be positive")]
    [InlineData("limits:\n  max_concurent_runs: 2\n", "limits.max_concurent_runs", "max_concurent_runs", "did you mean 'max_concurrent_runs'")]
    [InlineData("nightwatch:\n  thresholds: { moderate: 0.05 }\n", "nightwatch.thresholds.moderate", "0.05", "strictly ascending: moderate (0.05) is not above minor (0.1)")]
    [InlineData("nightwatch:\n  thresholds: { critical: 1.5 }\n", "nightwatch.thresholds.critical", "1.5", "must be in (0, 1]")]
    [InlineData("nightwatch:\n  loop_repeats: 1\n", "nightwatch.loop_repeats", "1\n", "at least 2")]
    [InlineData("nightwatch:\n  weights: { errors: -0.5 }\n", "nightwatch.weights.errors", "-0.5", "must not be negative")]
    [InlineData("nightwatch:\n  rate_limit_patterns: ['(unclosed']\n", "nightwatch.rate_limit_patterns[0]", "'(unclosed'", "invalid regular expression")]
    [InlineData("nightwatch:\n  error_patterns: ['ok', '[x']\n", "nightwatch.error_patterns[1]", "'[x'", "invalid regular expression")]
    [InlineData("nightwatch:\n  weights: { eror: 1 }\n", "nightwatch.weights.eror", "eror", "did you mean 'errors'")]
    [InlineData("nightwatch:\n  hysteresis: 0.6\n", "nightwatch.hysteresis", "0.6", "[0, 0.5)")]
    [InlineData("nightwatch:\n  max_burn_per_hour: 0\n", "nightwatch.max_burn_per_hour", "0", "positive")]
    [InlineData("compound_review:\n  max_duration: 0s\n", "compound_review.max_duration", "0s", "positive")]
    [InlineData("compound_review:\n  catch_up: all\n", "compound_review.catch_up", "all", "expected one of: skip, once")]
    [InlineData("compound_review:\n  gates:\n    - name: g\n      command: [true]\n      timeout: 0s\n", "compound_review.gates[0].timeout", "0s", "positive")]
    public void Impossible_layer_provider_and_nightwatch_values_are_errors(string yaml, string field, string marker, string message) =>
        AssertError(Load(yaml), yaml, field, marker, message);

    [Theory]
    [InlineData("overlap: sometimes", "agents[0].overlap", "sometimes", "expected one of: skip, queue, replace")]
    [InlineData("catch_up: never", "agents[0].catch_up", "never", "expected one of: skip, once, all")]
    [InlineData("restart: always", "agents[0].restart", "always", "expected one of: permanent, transient, temporary")]
    public void Enum_values_are_checked(string extra, string field, string marker, string message)
    {
        var yaml = Agent(extra);
        AssertError(Load(yaml), yaml, field, marker, message);
    }

    [Theory]
    [InlineData("", null, CatchUpPolicy.Once)]
    [InlineData("  agent: a\n  catch_up: skip\n", "a", CatchUpPolicy.Skip)]
    [InlineData("  catch_up: once\n", null, CatchUpPolicy.Once)]
    public void Compound_review_agent_is_optional_and_catch_up_defaults_to_once(string keys, string? agent, CatchUpPolicy catchUp)
    {
        var result = Load(Agent() + "compound_review:\n  schedule: \"0 2 * * *\"\n" + keys);
        AssertValid(result);
        Assert.Equal((agent, catchUp), (result.Fleet!.CompoundReview.Agent, result.Fleet.CompoundReview.CatchUp));
    }

    [Theory]
    [InlineData("one_for_one", StrategyKind.OneForOne)]
    [InlineData("one-for-one", StrategyKind.OneForOne)]
    [InlineData("one_for_all", StrategyKind.OneForAll)]
    [InlineData("one-for-all", StrategyKind.OneForAll)]
    public void Strategy_accepts_both_spellings(string spelling, StrategyKind expected)
    {
        var result = Load($"layers:\n  core:\n    strategy: {spelling}\n");
        AssertValid(result);
        Assert.Equal(expected, result.Fleet!.Layer(LayerName.Core).Strategy);
    }

    [Fact]
    public void Unknown_strategy_is_an_error()
    {
        const string yaml = "layers:\n  core:\n    strategy: rest_for_one\n";
        AssertError(Load(yaml), yaml, "layers.core.strategy", "rest_for_one", "expected one of: one_for_one, one_for_all");
    }

    [Fact]
    public void Version_other_than_1_is_an_error()
    {
        const string yaml = "version: 2\nagents: []\n";
        AssertError(Load(yaml), yaml, "version", "2", "unsupported version 2");
    }

    [Fact]
    public void Gates_need_a_name_and_a_command()
    {
        const string yaml = "compound_review:\n  gates:\n    - command: make test\n    - name: lint\n";
        var result = Load(yaml);
        var errors = result.Diagnostics.Where(d => d.IsError).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Equal(("compound_review.gates[0].name", 3, 7), (errors[0].Field, errors[0].Line, errors[0].Column));
        Assert.Equal(("compound_review.gates[1].command", 4, 7), (errors[1].Field, errors[1].Line, errors[1].Column));
    }

    [Fact]
    public void Compound_review_agent_must_exist()
    {
        var yaml = Agent() + "compound_review:\n  agent: reviewer\n";
        AssertError(Load(yaml), yaml, "compound_review.agent", "reviewer", "unknown agent 'reviewer'");
    }

    [Fact]
    public void All_errors_are_collected_in_document_order()
    {
        const string yaml = """
            version: 3
            agents:
              - name: A
                layer: core
                cli: command
                command: [true]
                shedule: "* * * * *"
              - name: b
                layer: nowhere
                cli: codex
                max_runtime: -1s
            """;
        var errors = Load(yaml).Diagnostics.Where(d => d.IsError).Select(d => d.Field).ToList();
        Assert.Equal(["version", "agents[0].name", "agents[0].shedule", "agents[1].layer", "agents[1].max_runtime"], errors);
    }
}
