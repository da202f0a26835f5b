using System.Globalization;
using System.Text.RegularExpressions;
using Cronos;
using DarkFactory.Messages.Fleet;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>
/// Turns a YAML document into fleet records, field by field, with every structural problem (unknown keys,
/// wrong types, bad formats, impossible values) reported at its node. Cross-record rules (duplicates,
/// references, installed CLIs) are the validators' job; they run on what this builds.
/// </summary>
internal sealed partial class FleetReader(string file, string baseDirectory, FleetSourceMap map, List<FleetDiagnostic> diagnostics)
{
    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    public static partial Regex AgentName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    public static partial Regex EnvName();

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryName();

    private static readonly string[] SecretMarkers = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY"];

    /// <summary>Provider names whose CLI is obvious, so that <c>cli</c> may be left out.</summary>
    private static readonly Dictionary<string, string> ProviderDefaultCli = new(StringComparer.Ordinal)
    {
        ["anthropic"] = CliCatalog.Claude,
        ["openai"] = CliCatalog.Codex,
        ["google"] = CliCatalog.Gemini,
        ["gemini"] = CliCatalog.Gemini,
        ["opencode"] = CliCatalog.OpenCode,
    };

    public string BaseDirectory => baseDirectory;

    internal void Mark(string path, YamlNode node) => map.Mark(path, node);

    public static bool LooksLikeSecret(string envKey)
    {
        var k = envKey.ToUpperInvariant();
        return SecretMarkers.Any(k.Contains) || k.EndsWith("_KEY", StringComparison.Ordinal);
    }

    public FleetSpec Read(YamlNode root)
    {
        map.Mark("", root);
        var top = AsMap(root, "");
        if (top is null)
        {
            return new FleetSpec();
        }

        var f = Fields(top, "", FleetKeys.TopLevel);
        var version = f.Int("version");
        if (version is not null && version != 1)
        {
            f.Error("version", $"unsupported version {version} (this Dark Factory reads version 1)");
        }

        var spec = new FleetSpec
        {
            Version = 1,
            Layers = ReadLayers(f),
            Providers = f.Items("providers", ReadProvider),
            Routing = f.Items("routing", ReadRoutingRule),
            Agents = f.Items("agents", ReadAgent),
            Nightwatch = f.Has("nightwatch") ? ReadNightwatch(f.Node("nightwatch")!, "nightwatch") : new NightwatchSpec(),
            CompoundReview = f.Has("compound_review")
                ? ReadCompoundReview(f.Node("compound_review")!, "compound_review")
                : new CompoundReviewSpec { Repo = baseDirectory, Enabled = false }, // no section: no nightly review
            Router = f.Has("router") ? ReadRouter(f.Node("router")!, "router") : new RouterSpec(),
            Projects = f.Has("projects") ? ReadProjects(f.Node("projects")!, "projects") : new ProjectsSpec(),
            Cluster = f.Has("cluster") ? ReadCluster(f.Node("cluster")!, "cluster") : null,
            Limits = f.Node("limits") is { } limits ? ReadFleetLimits(limits, "limits") : new FleetLimits(),
        };
        if (!f.Has("agents"))
        {
            if (top.Children.Keys.All(k => k is YamlScalarNode { Value: "version" }))
            {
                // a file with nothing but `version: 1` is a half-written file, not a fleet of nothing
                Error(top, "agents", "the fleet file holds only `version`: no `agents:` section (write `agents: []` for a fleet with no agents)");
            }
            else
            {
                Warning(top, "agents", "the fleet declares no agents");
            }
        }

        return spec;
    }

    // ---------------------------------------------------------------- layers

    private IReadOnlyDictionary<LayerName, LayerSpec> ReadLayers(Fields top)
    {
        var result = LayerSpec.Defaults().ToDictionary(kv => kv.Key, kv => kv.Value);
        var node = top.Node("layers");
        if (node is null || AsMap(node, "layers") is not { } layersMap)
        {
            return result;
        }

        var f = Fields(layersMap, "layers", FleetKeys.LayerNames);
        foreach (var name in Enum.GetValues<LayerName>())
        {
            var key = name.ToString().ToLowerInvariant();
            if (f.Node(key) is { } layerNode)
            {
                result[name] = ReadLayer(name, layerNode, f.PathOf(key));
            }
        }

        return result;
    }

    private LayerSpec ReadLayer(LayerName name, YamlNode node, string path)
    {
        var d = LayerSpec.Default(name);
        if (AsMap(node, path) is not { } m)
        {
            return d;
        }

        var f = Fields(m, path, FleetKeys.Layer);
        var layer = d with
        {
            Strategy = f.Enum("strategy", Strategies) ?? d.Strategy,
            MaxRestarts = f.Int("max_restarts") ?? d.MaxRestarts,
            Within = f.Duration("within") ?? d.Within,
            Backoff = f.Node("backoff") is { } b ? ReadBackoff(b, f.PathOf("backoff")) : d.Backoff,
            QuarantineAfter = f.Int("quarantine_after") ?? d.QuarantineAfter,
            DefaultRestart = f.Enum("default_restart", RestartTypes) ?? d.DefaultRestart,
        };
        f.Require("max_restarts", layer.MaxRestarts >= 0, "max_restarts must not be negative");
        f.Require("within", layer.Within > TimeSpan.Zero, "within must be a positive duration");
        f.Require("quarantine_after", layer.QuarantineAfter >= 1, "quarantine_after must be at least 1");
        return layer;
    }

    private BackoffSpec ReadBackoff(YamlNode node, string path)
    {
        var d = new BackoffSpec();
        if (AsMap(node, path) is not { } m)
        {
            return d;
        }

        var f = Fields(m, path, FleetKeys.Backoff);
        var b = d with
        {
            Min = f.Duration("min") ?? d.Min,
            Max = f.Duration("max") ?? d.Max,
            Jitter = f.Double("jitter") ?? d.Jitter,
            ResetAfter = f.Duration("reset_after") ?? d.ResetAfter,
        };
        f.Require("min", b.Min >= TimeSpan.Zero, "min must not be negative");
        f.Require("max", b.Max >= TimeSpan.Zero, "max must not be negative (0s restarts at once)");
        f.Require("jitter", b.Jitter is >= 0 and <= 1, "jitter must be between 0 and 1");
        f.Require("reset_after", b.ResetAfter > TimeSpan.Zero, "reset_after must be a positive duration");
        if (b.Min > b.Max && b.Min >= TimeSpan.Zero && b.Max >= TimeSpan.Zero)
        {
            var at = f.Has("min") ? "min" : "max";
            f.Error(at, $"backoff min ({Durations.Format(b.Min)}) is greater than max ({Durations.Format(b.Max)})");
        }

        return b;
    }

    // ---------------------------------------------------------------- providers and routing

    private ProviderSpec? ReadProvider(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return null;
        }

        var f = Fields(m, path, FleetKeys.Provider);
        var name = f.String("name");
        if (name is null && !f.Has("name"))
        {
            f.Missing("name");
        }
        else if (name is not null && !AgentName().IsMatch(name))
        {
            f.Error("name", $"invalid provider name '{name}': use lowercase letters, digits and '-'");
        }

        var cli = f.String("cli");
        if (cli is null && name is not null && ProviderDefaultCli.TryGetValue(name, out var inferred))
        {
            cli = inferred;
        }
        else if (cli is null && !f.Has("cli") && name is not null)
        {
            f.Missing("cli", $"missing required field 'cli' (the CLI that talks to provider '{name}': claude, codex, opencode or gemini)");
        }
        else if (cli is not null)
        {
            CheckCli(f, "cli", cli, allowCommand: false);
        }

        var apiKeyEnv = f.String("api_key_env");
        if (apiKeyEnv is not null && !EnvName().IsMatch(apiKeyEnv))
        {
            f.Error("api_key_env", $"'{apiKeyEnv}' is not a valid environment variable name (api_key_env names the variable, it never holds the key)");
        }

        var baseUrl = f.String("base_url");
        CheckUrl(f, "base_url", baseUrl);

        var p = new ProviderSpec
        {
            Name = name ?? "",
            Cli = cli ?? "",
            Model = f.String("model"),
            BaseUrl = baseUrl,
            ApiKeyEnv = apiKeyEnv,
            Priority = f.Int("priority") ?? 100,
            Limits = f.Node("limits") is { } l ? ReadProviderLimits(l, f.PathOf("limits")) : new ProviderLimits(),
            Prices = f.Node("prices") is { } pr ? ReadPrices(pr, f.PathOf("prices")) : new ProviderPrices(),
        };
        f.Require("priority", p.Priority >= 0, "priority must not be negative");
        map.Bind(p, path);
        return p;
    }

    private ProviderLimits ReadProviderLimits(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return new ProviderLimits();
        }

        var f = Fields(m, path, FleetKeys.ProviderLimits);
        var l = new ProviderLimits
        {
            RequestsPerMinute = f.Int("requests_per_minute"),
            TokensPerMinute = f.Long("tokens_per_minute"),
            MaxConcurrent = f.Int("max_concurrent"),
            BudgetPerHour = f.Decimal("budget_per_hour"),
            BudgetPerDay = f.Decimal("budget_per_day"),
            BudgetPerMonth = f.Decimal("budget_per_month"),
            Credits = f.Decimal("credits"),
        };
        f.Require("requests_per_minute", l.RequestsPerMinute is null or > 0, "requests_per_minute must be positive");
        f.Require("tokens_per_minute", l.TokensPerMinute is null or > 0, "tokens_per_minute must be positive");
        f.Require("max_concurrent", l.MaxConcurrent is null or > 0, "max_concurrent must be positive");
        foreach (var (key, value) in new[] { ("budget_per_hour", l.BudgetPerHour), ("budget_per_day", l.BudgetPerDay), ("budget_per_month", l.BudgetPerMonth), ("credits", l.Credits) })
        {
            f.Require(key, value is null or >= 0, $"{key} must not be negative");
        }

        return l;
    }

    private FleetLimits ReadFleetLimits(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return new FleetLimits();
        }

        var f = Fields(m, path, FleetKeys.FleetLimits);
        var l = new FleetLimits { MaxConcurrentRuns = f.Int("max_concurrent_runs") };
        f.Require("max_concurrent_runs", l.MaxConcurrentRuns is null or > 0, "max_concurrent_runs must be positive");
        return l;
    }

    private ProviderPrices ReadPrices(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return new ProviderPrices();
        }

        var f = Fields(m, path, FleetKeys.ProviderPrices);
        var p = new ProviderPrices
        {
            InputPerMillion = f.Decimal("input_per_million") ?? 0,
            OutputPerMillion = f.Decimal("output_per_million") ?? 0,
            CachedInputPerMillion = f.Decimal("cached_input_per_million") ?? 0,
        };
        f.Require("input_per_million", p.InputPerMillion >= 0, "input_per_million must not be negative");
        f.Require("output_per_million", p.OutputPerMillion >= 0, "output_per_million must not be negative");
        f.Require("cached_input_per_million", p.CachedInputPerMillion >= 0, "cached_input_per_million must not be negative");
        return p;
    }

    private RoutingRuleSpec? ReadRoutingRule(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return null;
        }

        var f = Fields(m, path, FleetKeys.Routing);
        var rule = new RoutingRuleSpec
        {
            Keywords = f.StringList("keywords") ?? [],
            Capabilities = f.StringList("capabilities") ?? [],
            Cli = f.String("cli"),
            Provider = f.String("provider"),
            Model = f.String("model"),
        };
        if (rule.Cli is not null)
        {
            CheckCli(f, "cli", rule.Cli, allowCommand: false);
        }

        if (rule.Cli is null && rule.Provider is null && rule.Model is null && !f.Has("cli") && !f.Has("provider") && !f.Has("model"))
        {
            Error(m, path, "a routing rule must name a cli, a provider or a model to route to");
        }

        map.Bind(rule, path);
        return rule;
    }

    private RouterSpec ReadRouter(YamlNode node, string path)
    {
        var d = new RouterSpec();
        if (AsMap(node, path) is not { } m)
        {
            return d;
        }

        var f = Fields(m, path, FleetKeys.Router);
        var r = d with
        {
            Strategy = f.Enum("strategy", RoutingStrategies) ?? d.Strategy,
            PollingInterval = f.Duration("polling_interval") ?? d.PollingInterval,
            LimitBackoff = f.Duration("limit_backoff") ?? d.LimitBackoff,
            AvoidFor = f.Duration("avoid_for") ?? d.AvoidFor,
            OnBudgetExceeded = f.Enum("on_budget_exceeded", BudgetActions) ?? d.OnBudgetExceeded,
            Weights = f.Node("weights") is { } w ? ReadWeights(w, f.PathOf("weights")) : d.Weights,
        };
        if (f.Node("breaker") is { } breakerNode && AsMap(breakerNode, f.PathOf("breaker")) is { } bm)
        {
            var b = Fields(bm, f.PathOf("breaker"), FleetKeys.Breaker);
            r = r with
            {
                BreakerFailures = b.Int("failures") ?? d.BreakerFailures,
                BreakerOpenFor = b.Duration("open_for") ?? d.BreakerOpenFor,
            };
            b.Require("failures", r.BreakerFailures >= 1, "failures must be at least 1");
            b.Require("open_for", r.BreakerOpenFor > TimeSpan.Zero, "open_for must be a positive duration");
        }

        f.Require("polling_interval", r.PollingInterval > TimeSpan.Zero, "polling_interval must be a positive duration");
        f.Require("limit_backoff", r.LimitBackoff > TimeSpan.Zero, "limit_backoff must be a positive duration");
        f.Require("avoid_for", r.AvoidFor >= TimeSpan.Zero, "avoid_for must be a duration >= 0");
        map.Bind(r, path);
        return r;
    }

    private AgentBudget ReadAgentBudget(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return new AgentBudget();
        }

        var f = Fields(m, path, FleetKeys.AgentBudget);
        var b = new AgentBudget { PerHour = f.Decimal("per_hour"), PerDay = f.Decimal("per_day"), PerMonth = f.Decimal("per_month") };
        foreach (var (key, value) in new[] { ("per_hour", b.PerHour), ("per_day", b.PerDay), ("per_month", b.PerMonth) })
        {
            f.Require(key, value is null or >= 0, $"{key} must not be negative");
        }

        return b;
    }

    // ---------------------------------------------------------------- agents

    private AgentSpec? ReadAgent(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return null;
        }

        var f = Fields(m, path, FleetKeys.Agent);
        var name = f.String("name");
        if (name is null && !f.Has("name"))
        {
            f.Missing("name");
        }
        else if (name is not null && !AgentName().IsMatch(name))
        {
            f.Error("name", $"invalid agent name '{name}': use 1-63 lowercase letters, digits and '-', starting with a letter or digit");
        }

        var layer = f.Enum("layer", Layers);
        if (layer is null && !f.Has("layer"))
        {
            f.Missing("layer", "missing required field 'layer' (safety, core or growth)");
        }

        var command = f.Argv("command");
        var cli = f.String("cli");
        if (cli is null && !f.Has("cli"))
        {
            if (f.Has("command"))
            {
                cli = CliCatalog.Command;
            }
            else
            {
                f.Missing("cli", "missing required field 'cli' (claude, codex, opencode, gemini, or command with a 'command' list)");
            }
        }
        else if (cli is not null && CheckCli(f, "cli", cli, allowCommand: true) && cli == CliCatalog.Command
                 && (command is null || command.Count == 0) && !f.Has("command"))
        {
            f.Error("cli", "cli 'command' needs a non-empty 'command' list (the argv to run)");
        }

        if (command is { Count: > 0 } && command[0].Contains('/') && !Path.IsPathRooted(command[0]))
        {
            command = [Path.GetFullPath(Path.Combine(baseDirectory, command[0])), .. command.Skip(1)];
        }

        var schedule = f.String("schedule");
        CheckCron(f, "schedule", schedule);
        var timezone = f.String("timezone");
        CheckTimezone(f, "timezone", timezone);

        var workdir = f.String("workdir");
        workdir = workdir is null ? baseDirectory : Path.GetFullPath(Path.Combine(baseDirectory, workdir));

        var agent = new AgentSpec
        {
            Name = name ?? "",
            Layer = layer ?? LayerName.Growth,
            Cli = cli ?? CliCatalog.Command,
            Command = command ?? [],
            Task = f.String("task"),
            Schedule = schedule,
            Timezone = timezone ?? "UTC",
            Capabilities = f.StringList("capabilities") ?? [],
            Provider = f.String("provider"),
            Model = f.String("model"),
            Workdir = workdir,
            Env = f.Node("env") is { } env ? ReadEnv(env, f.PathOf("env")) : new Dictionary<string, EnvValue>(),
            Limits = f.Node("limits") is { } lim ? ReadResourceLimits(lim, f.PathOf("limits")) : new ResourceLimits(),
            MaxRuntime = f.Duration("max_runtime"),
            Restart = f.Enum("restart", RestartTypes),
            Grace = f.Duration("grace") ?? TimeSpan.FromSeconds(10),
            ResultGrace = f.Duration("result_grace") ?? AgentSpec.DefaultResultGrace,
            MinUptime = f.Duration("min_uptime") ?? AgentSpec.DefaultMinUptime,
            Node = ReadNodePin(f),
            Failover = f.Enum("failover", Failovers),
            Overlap = f.Enum("overlap", Overlaps) ?? OverlapPolicy.Skip,
            QueueLimit = f.Int("queue_limit") ?? 1,
            CatchUp = f.Enum("catch_up", CatchUps) ?? CatchUpPolicy.Once,
            CatchUpLimit = f.Int("catch_up_limit") ?? 3,
            Jitter = f.Duration("jitter") ?? TimeSpan.Zero,
            Autostart = f.Bool("autostart"),
            SourceLine = (int)m.Start.Line,
            Budget = f.Node("budget") is { } budget ? ReadAgentBudget(budget, f.PathOf("budget")) : new AgentBudget(),
            PermissionMode = f.Enum("permission_mode", PermissionModes) ?? PermissionMode.AcceptEdits,
            AllowedTools = f.StringList("allowed_tools") ?? [],
            Sandbox = f.Enum("sandbox", SandboxModes) ?? SandboxMode.Auto,
            Network = f.Enum("network", NetworkModes) ?? NetworkAccess.Open,
            Log = f.Node("log") is { } log ? ReadLogRetention(log, f.PathOf("log")) : new LogRetention(),
            Isolation = f.Enum("isolation", IsolationModes),
            Gates = f.Items("gates", ReadGate),
        };
        f.Require("network", agent.Network == NetworkAccess.Open || agent.Sandbox != SandboxMode.Off, "network: closed needs the sandbox; remove sandbox: off");
        f.Require("max_runtime", agent.MaxRuntime is null || agent.MaxRuntime > TimeSpan.Zero, "max_runtime must be a positive duration");
        f.Require("grace", agent.Grace >= TimeSpan.Zero, "grace must not be negative");
        f.Require("result_grace", agent.ResultGrace > TimeSpan.Zero, "result_grace must be a positive duration (how long a CLI may go on after its final result)");
        f.Require("min_uptime", agent.MinUptime >= TimeSpan.Zero, "min_uptime must not be negative");
        f.Require("queue_limit", agent.QueueLimit >= 1, "queue_limit must be at least 1");
        f.Require("catch_up_limit", agent.CatchUpLimit >= 1, "catch_up_limit must be at least 1");
        f.Require("jitter", agent.Jitter >= TimeSpan.Zero, "jitter must not be negative");
        map.Bind(agent, path);
        return agent;
    }

    private Dictionary<string, EnvValue> ReadEnv(YamlNode node, string path)
    {
        var result = new Dictionary<string, EnvValue>(StringComparer.Ordinal);
        if (AsMap(node, path) is not { } m)
        {
            return result;
        }

        foreach (var (k, v) in m.Children)
        {
            if (k is not YamlScalarNode { Value: { } key })
            {
                Error(k, path, "environment variable names must be strings");
                continue;
            }

            var p = $"{path}.{key}";
            map.Mark(p, v);
            if (!EnvName().IsMatch(key))
            {
                Error(k, p, $"'{key}' is not a valid environment variable name (letters, digits and '_', not starting with a digit)");
                continue;
            }

            if (v is YamlScalarNode s)
            {
                if (LooksLikeSecret(key))
                {
                    Error(v, p, "secrets must not be written in fleet.yaml: use {from_env: VAR} or {from_file: PATH}");
                    continue;
                }

                result[key] = EnvValue.Literal(IsNull(s) ? "" : s.Value ?? "");
                continue;
            }

            if (v is not YamlMappingNode vm)
            {
                Error(v, p, $"expected a string or {{from_env: VAR}} / {{from_file: PATH}}, got {Describe(v)}");
                continue;
            }

            var f = Fields(vm, p, FleetKeys.EnvValue);
            var fromEnv = f.String("from_env");
            var fromFile = f.String("from_file");
            if (f.Has("from_env") == f.Has("from_file"))
            {
                Error(vm, p, "give exactly one of from_env or from_file");
                continue;
            }

            if (fromEnv is not null && !EnvName().IsMatch(fromEnv))
            {
                f.Error("from_env", $"'{fromEnv}' is not a valid environment variable name");
                continue;
            }

            result[key] = new EnvValue
            {
                FromEnv = fromEnv,
                FromFile = fromFile is null ? null : Path.GetFullPath(Path.Combine(baseDirectory, fromFile)),
            };
        }

        return result;
    }

    private LogRetention ReadLogRetention(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return new LogRetention();
        }

        var f = Fields(m, path, FleetKeys.AgentLog);
        var l = new LogRetention
        {
            MaxBytes = f.Size("max_size") ?? LogRetention.DefaultMaxBytes,
            Keep = f.Int("keep") ?? LogRetention.DefaultKeep,
        };
        f.Require("max_size", l.MaxBytes >= LogRetention.MinMaxBytes, "max_size must be at least 64KiB");
        f.Require("max_size", l.MaxBytes <= LogRetention.MaxMaxBytes, "max_size must be at most 1TiB");
        f.Require("keep", l.Keep is >= 0 and <= 1000, "keep must be between 0 and 1000");
        return l;
    }

    private ResourceLimits ReadResourceLimits(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return new ResourceLimits();
        }

        var f = Fields(m, path, FleetKeys.AgentLimits);
        var cpu = f.Duration("cpu_seconds");
        var l = new ResourceLimits
        {
            MemoryBytes = f.Size("memory"),
            CpuSeconds = cpu is null ? null : (long)Math.Ceiling(cpu.Value.TotalSeconds),
            OpenFiles = f.Int("open_files"),
        };
        f.Require("memory", l.MemoryBytes is null or >= Sizes.MiB, "memory must be at least 1MiB");
        f.Require("cpu_seconds", l.CpuSeconds is null or > 0, "cpu_seconds must be positive");
        f.Require("open_files", l.OpenFiles is null or >= 8, "open_files must be at least 8");
        return l;
    }

    // ---------------------------------------------------------------- nightwatch and compound review

    private NightwatchSpec ReadNightwatch(YamlNode node, string path)
    {
        var d = new NightwatchSpec();
        if (AsMap(node, path) is not { } m)
        {
            return d;
        }

        var f = Fields(m, path, FleetKeys.Nightwatch);
        var webhook = f.String("escalation_webhook");
        CheckUrl(f, "escalation_webhook", webhook);
        var n = d with
        {
            Window = f.Duration("window") ?? d.Window,
            StallAfter = f.Duration("stall_after") ?? d.StallAfter,
            LoopRepeats = f.Int("loop_repeats") ?? d.LoopRepeats,
            Thresholds = f.Node("thresholds") is { } t ? ReadThresholds(t, f.PathOf("thresholds")) : d.Thresholds,
            Weights = f.Node("weights") is { } w ? ReadWeights(w, f.PathOf("weights"), NightwatchSpec.SignalNames) : d.Weights,
            Cooldown = f.Duration("cooldown") ?? d.Cooldown,
            EscalationWebhook = webhook,
            RateLimitPatterns = f.StringList("rate_limit_patterns") ?? d.RateLimitPatterns,
            ErrorPatterns = f.StringList("error_patterns") ?? d.ErrorPatterns,
            Hysteresis = f.Double("hysteresis") ?? d.Hysteresis,
            MaxBurnPerHour = f.Decimal("max_burn_per_hour") ?? d.MaxBurnPerHour,
            PauseFor = f.Duration("pause_for") ?? d.PauseFor,
        };
        f.Require("hysteresis", n.Hysteresis is >= 0 and < 0.5, "hysteresis must be in [0, 0.5)");
        f.Require("max_burn_per_hour", n.MaxBurnPerHour > 0, "max_burn_per_hour must be positive");
        f.Require("pause_for", n.PauseFor > TimeSpan.Zero, "pause_for must be a positive duration");
        f.Require("window", n.Window > TimeSpan.Zero, "window must be a positive duration");
        f.Require("stall_after", n.StallAfter > TimeSpan.Zero, "stall_after must be a positive duration");
        f.Require("loop_repeats", n.LoopRepeats >= 2, "loop_repeats must be at least 2");
        f.Require("cooldown", n.Cooldown >= TimeSpan.Zero, "cooldown must not be negative");
        foreach (var key in new[] { "rate_limit_patterns", "error_patterns" })
        {
            if (f.Node(key) is not YamlSequenceNode seq)
            {
                continue;
            }

            for (var i = 0; i < seq.Children.Count; i++)
            {
                if (seq.Children[i] is YamlScalarNode { Value: { } pattern } item)
                {
                    try
                    {
                        _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
                    }
                    catch (ArgumentException ex)
                    {
                        Error(item, $"{f.PathOf(key)}[{i}]", $"invalid regular expression: {ex.Message}");
                    }
                }
            }
        }

        return n;
    }

    private NightwatchThresholds ReadThresholds(YamlNode node, string path)
    {
        var d = new NightwatchThresholds();
        if (AsMap(node, path) is not { } m)
        {
            return d;
        }

        var f = Fields(m, path, FleetKeys.Thresholds);
        var t = d with
        {
            Minor = f.Double("minor") ?? d.Minor,
            Moderate = f.Double("moderate") ?? d.Moderate,
            Severe = f.Double("severe") ?? d.Severe,
            Critical = f.Double("critical") ?? d.Critical,
        };
        var levels = new[] { ("minor", t.Minor), ("moderate", t.Moderate), ("severe", t.Severe), ("critical", t.Critical) };
        var bad = false;
        foreach (var (key, value) in levels)
        {
            if (value is <= 0 or > 1)
            {
                f.Error(f.Has(key) ? key : null, $"threshold {key} ({Num(value)}) must be in (0, 1]");
                bad = true;
            }
        }

        for (var i = 1; i < levels.Length && !bad; i++)
        {
            var (prevKey, prev) = levels[i - 1];
            var (key, value) = levels[i];
            if (value <= prev)
            {
                var at = f.Has(key) ? key : f.Has(prevKey) ? prevKey : null;
                f.Error(at, $"thresholds must be strictly ascending: {key} ({Num(value)}) is not above {prevKey} ({Num(prev)})");
                break;
            }
        }

        return t;
    }

    /// <param name="names">The names the map may hold (null: any, e.g. provider names checked elsewhere).</param>
    private Dictionary<string, double> ReadWeights(YamlNode node, string path, IReadOnlyList<string>? names = null)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (AsMap(node, path) is not { } m)
        {
            return result;
        }

        foreach (var (k, v) in m.Children)
        {
            if (k is not YamlScalarNode { Value: { } key })
            {
                Error(k, path, "weight names must be strings");
                continue;
            }

            var p = $"{path}.{key}";
            map.Mark(p, v);
            if (names is not null && !names.Contains(key))
            {
                Error(k, p, $"unknown signal '{key}'{Suggest(key, names)} (signals: {string.Join(", ", names)})");
                continue;
            }

            if (ParseDouble(v, p) is { } w)
            {
                if (w < 0)
                {
                    Error(v, p, "weights must not be negative");
                }

                result[key] = w;
            }
        }

        return result;
    }

    private CompoundReviewSpec ReadCompoundReview(YamlNode node, string path)
    {
        var d = new CompoundReviewSpec { Repo = baseDirectory };
        if (AsMap(node, path) is not { } m)
        {
            return d;
        }

        var f = Fields(m, path, FleetKeys.CompoundReview);
        var schedule = f.String("schedule");
        CheckCron(f, "schedule", schedule);
        var timezone = f.String("timezone");
        CheckTimezone(f, "timezone", timezone);
        var repo = f.String("repo");
        var c = d with
        {
            Enabled = f.Bool("enabled") ?? d.Enabled,
            Schedule = schedule ?? d.Schedule,
            Timezone = timezone ?? d.Timezone,
            Repo = repo is null ? baseDirectory : Path.GetFullPath(Path.Combine(baseDirectory, repo)),
            BaseBranch = f.String("base_branch") ?? d.BaseBranch,
            Agent = f.String("agent"),
            Since = f.Duration("since") ?? d.Since,
            CatchUp = f.Enum("catch_up", ReviewCatchUps) ?? d.CatchUp,
            MaxDuration = f.Duration("max_duration") ?? d.MaxDuration,
            CreatePrs = f.Bool("create_prs") ?? d.CreatePrs,
            Remote = f.String("remote") ?? d.Remote,
            Forge = f.Node("forge") is { } forge ? ReadForge(forge, f.PathOf("forge")) : d.Forge,
            Gates = f.Items("gates", ReadGate),
        };
        f.Require("since", c.Since > TimeSpan.Zero, "since must be a positive duration");
        f.Require("max_duration", c.MaxDuration > TimeSpan.Zero, "max_duration must be a positive duration");
        f.Require("base_branch", c.BaseBranch.Length > 0, "base_branch must not be empty");
        f.Require("remote", c.Remote.Length > 0, "remote must not be empty");
        map.Bind(c, path);
        return c;
    }

    private ProjectsSpec ReadProjects(YamlNode node, string path)
    {
        var d = new ProjectsSpec();
        if (AsMap(node, path) is not { } m)
        {
            return d;
        }

        var f = Fields(m, path, FleetKeys.Projects);
        var worktreeRoot = f.String("worktree_root");
        var p = d with
        {
            PersonasDir = f.String("personas_dir") ?? d.PersonasDir,
            Planner = f.String("planner") ?? d.Planner,
            Auditor = f.String("auditor") ?? d.Auditor,
            MaxRuntime = f.Duration("max_runtime") ?? d.MaxRuntime,
            AuditInterval = f.Duration("audit_interval") ?? d.AuditInterval,
            Concurrency = f.Int("concurrency") ?? d.Concurrency,
            MaxAttempts = f.Int("max_attempts") ?? d.MaxAttempts,
            Repositories = f.Items("repositories", ReadProjectRepository),
            WorktreeRoot = worktreeRoot is null ? null : Path.GetFullPath(Path.Combine(baseDirectory, worktreeRoot)),
            CreatePr = f.Bool("create_pr") ?? d.CreatePr,
            Remote = f.String("remote") ?? d.Remote,
            Forge = f.Node("forge") is { } forge ? ReadForge(forge, f.PathOf("forge")) : d.Forge,
            CheckTimeout = f.Duration("check_timeout") ?? d.CheckTimeout,
        };
        f.Require("personas_dir", p.PersonasDir.Trim().Length > 0, "personas_dir must not be empty");
        f.Require("planner", p.Planner.Trim().Length > 0, "planner must name a persona");
        f.Require("auditor", p.Auditor.Trim().Length > 0, "auditor must name a persona");
        f.Require("max_runtime", p.MaxRuntime > TimeSpan.Zero, "max_runtime must be a positive duration");
        f.Require("audit_interval", p.AuditInterval > TimeSpan.Zero, "audit_interval must be a positive duration");
        f.Require("concurrency", p.Concurrency is >= 1 and <= 64, "concurrency must be between 1 and 64");
        f.Require("max_attempts", p.MaxAttempts is >= 1 and <= 20, "max_attempts must be between 1 and 20");
        f.Require("worktree_root", worktreeRoot is null || worktreeRoot.Trim().Length > 0, "worktree_root must not be empty");
        f.Require("remote", p.Remote.Length > 0, "remote must not be empty");
        f.Require("check_timeout", p.CheckTimeout > TimeSpan.Zero, "check_timeout must be a positive duration");
        p = p with
        {
            Repositories = [.. p.Repositories.Select(r => r with
            {
                Tests = r.Tests is null ? null : r.Tests with { Timeout = p.CheckTimeout },
                Lint = r.Lint is null ? null : r.Lint with { Timeout = p.CheckTimeout },
                Format = r.Format is null ? null : r.Format with { Timeout = p.CheckTimeout },
            })],
        };
        var repositories = (f.Node("repositories") as YamlSequenceNode)?.Children;
        for (var i = 0; i < p.Repositories.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (p.Repositories[j].Path == p.Repositories[i].Path)
                {
                    Error(repositories is { } items && i < items.Count ? items[i] : m, $"{path}.repositories[{i}].path", $"repository '{p.Repositories[i].Path}' is listed twice (first at repositories[{j}])");
                }
            }
        }

        map.Bind(p, path);
        return p;
    }

    /// <summary>projects.repositories[]: a path ("*" for any repository, else relative to the fleet file) and its gate commands.</summary>
    private ProjectRepositorySpec? ReadProjectRepository(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return null;
        }

        var f = Fields(m, path, FleetKeys.ProjectRepository);
        var repo = f.String("path");
        if (repo is null || repo.Trim().Length == 0)
        {
            f.Missing("path", "a repository needs a 'path' (\"*\" for any repository)");
            return null;
        }

        GateSpec? Gate(string key) => f.Argv(key) is { } argv ? new GateSpec { Name = key, Command = argv } : null;
        var r = new ProjectRepositorySpec
        {
            Path = repo == "*" ? "*" : Path.GetFullPath(Path.Combine(baseDirectory, repo)),
            Tests = Gate("tests"),
            Lint = Gate("lint"),
            Format = Gate("format"),
        };
        map.Bind(r, path);
        return r;
    }

    private static readonly string[] ForgeKinds = ["github", "gitea", "forgejo", "gitlab"];

    /// <summary>One review at a time: missed firings are caught up once or skipped (no "all").</summary>
    private static readonly Dictionary<string, CatchUpPolicy> ReviewCatchUps = new(StringComparer.Ordinal)
    {
        ["skip"] = CatchUpPolicy.Skip,
        ["once"] = CatchUpPolicy.Once,
    };

    private ForgeSpec ReadForge(YamlNode node, string path)
    {
        var d = new ForgeSpec();
        if (AsMap(node, path) is not { } m)
        {
            return d;
        }

        var f = Fields(m, path, FleetKeys.Forge);
        var baseUrl = f.String("base_url");
        CheckUrl(f, "base_url", baseUrl);
        var repository = f.String("repository");
        if (repository is not null && !RepositoryName().IsMatch(repository))
        {
            f.Error("repository", $"repository must look like 'owner/name', got '{repository}'");
        }

        var kind = f.String("kind");
        if (kind is not null && !ForgeKinds.Contains(kind, StringComparer.Ordinal))
        {
            f.Error("kind", $"invalid kind '{kind}'{Suggest(kind, ForgeKinds)} (expected one of: {string.Join(", ", ForgeKinds)})");
            kind = null;
        }

        var tokenEnv = f.String("token_env");
        if (tokenEnv is not null && !EnvName().IsMatch(tokenEnv))
        {
            f.Error("token_env", $"'{tokenEnv}' is not a valid environment variable name (token_env names the variable, it never holds the token)");
        }

        return d with
        {
            Kind = kind ?? d.Kind,
            BaseUrl = baseUrl ?? d.BaseUrl,
            Repository = repository,
            TokenEnv = tokenEnv ?? d.TokenEnv,
        };
    }

    private GateSpec? ReadGate(YamlNode node, string path)
    {
        if (AsMap(node, path) is not { } m)
        {
            return null;
        }

        var f = Fields(m, path, FleetKeys.Gate);
        var name = f.String("name");
        if (name is null && !f.Has("name"))
        {
            f.Missing("name", "a gate needs a 'name'");
        }

        var command = f.Argv("command");
        if (command is null && !f.Has("command"))
        {
            f.Missing("command", "a gate needs a 'command' (an argv list or a shell string)");
        }

        var g = new GateSpec
        {
            Name = name ?? "",
            Command = command ?? [],
            ExpectExit = f.Int("expect_exit") ?? 0,
            Timeout = f.Duration("timeout") ?? TimeSpan.FromMinutes(10),
        };
        f.Require("expect_exit", g.ExpectExit is >= 0 and <= 255, "expect_exit must be between 0 and 255");
        f.Require("timeout", g.Timeout > TimeSpan.Zero, "timeout must be a positive duration");
        map.Bind(g, path);
        return g;
    }

    // ---------------------------------------------------------------- shared checks

    private bool CheckCli(Fields f, string key, string cli, bool allowCommand)
    {
        if (!CliCatalog.IsKnown(cli) || (!allowCommand && cli == CliCatalog.Command))
        {
            var known = CliCatalog.Known.Keys.Where(k => allowCommand || k != CliCatalog.Command).ToArray();
            f.Error(key, $"unknown cli '{cli}'{Suggest(cli, known)} (known: {string.Join(", ", known)})");
            return false;
        }

        return true;
    }

    private static void CheckCron(Fields f, string key, string? expression)
    {
        if (expression is null)
        {
            return;
        }

        var fields = expression.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (!expression.TrimStart().StartsWith('@') && fields is not (5 or 6))
        {
            f.Error(key, $"invalid cron expression '{expression}': expected 5 fields (minute hour day month weekday) or 6 with seconds first, got {fields}");
            return;
        }

        try
        {
            _ = CronExpression.Parse(expression, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            f.Error(key, $"invalid cron expression '{expression}': {ex.Message}");
        }
    }

    private static void CheckTimezone(Fields f, string key, string? timezone)
    {
        if (timezone is null)
        {
            return;
        }

        try
        {
            _ = TimeZoneInfo.FindSystemTimeZoneById(timezone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            f.Error(key, $"unknown time zone '{timezone}' (use an IANA name such as UTC or Europe/Berlin)");
        }
    }

    private static void CheckUrl(Fields f, string key, string? url)
    {
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)))
        {
            f.Error(key, $"'{url}' is not an absolute http(s) URL");
        }
    }

    private static readonly Dictionary<string, LayerName> Layers = new(StringComparer.Ordinal)
    {
        ["safety"] = LayerName.Safety,
        ["core"] = LayerName.Core,
        ["growth"] = LayerName.Growth,
    };

    private static readonly Dictionary<string, RoutingStrategy> RoutingStrategies = new(StringComparer.Ordinal)
    {
        ["capability_first"] = RoutingStrategy.CapabilityFirst,
        ["cost"] = RoutingStrategy.Cost,
        ["cost_optimised"] = RoutingStrategy.Cost,
        ["cost_optimized"] = RoutingStrategy.Cost,
        ["latency"] = RoutingStrategy.Latency,
        ["latency_optimised"] = RoutingStrategy.Latency,
        ["latency_optimized"] = RoutingStrategy.Latency,
        ["round_robin"] = RoutingStrategy.RoundRobin,
        ["weighted"] = RoutingStrategy.Weighted,
    };

    private static readonly Dictionary<string, BudgetAction> BudgetActions = new(StringComparer.Ordinal)
    {
        ["switch"] = BudgetAction.Switch,
        ["wait"] = BudgetAction.Wait,
    };

    private static readonly Dictionary<string, StrategyKind> Strategies = new(StringComparer.Ordinal)
    {
        ["one_for_one"] = StrategyKind.OneForOne,
        ["one-for-one"] = StrategyKind.OneForOne,
        ["one_for_all"] = StrategyKind.OneForAll,
        ["one-for-all"] = StrategyKind.OneForAll,
    };

    private static readonly Dictionary<string, RestartType> RestartTypes = new(StringComparer.Ordinal)
    {
        ["permanent"] = RestartType.Permanent,
        ["transient"] = RestartType.Transient,
        ["temporary"] = RestartType.Temporary,
    };

    private static readonly Dictionary<string, IsolationMode> IsolationModes = new(StringComparer.Ordinal)
    {
        ["worktree"] = IsolationMode.Worktree,
        ["none"] = IsolationMode.None,
    };

    private static readonly Dictionary<string, SandboxMode> SandboxModes = new(StringComparer.Ordinal)
    {
        ["auto"] = SandboxMode.Auto,
        ["required"] = SandboxMode.Required,
        ["off"] = SandboxMode.Off,
    };

    private static readonly Dictionary<string, NetworkAccess> NetworkModes = new(StringComparer.Ordinal)
    {
        ["open"] = NetworkAccess.Open,
        ["closed"] = NetworkAccess.Closed,
    };

    private static readonly Dictionary<string, PermissionMode> PermissionModes = new(StringComparer.Ordinal)
    {
        ["accept_edits"] = PermissionMode.AcceptEdits,
        ["bypass"] = PermissionMode.Bypass,
    };

    private static readonly Dictionary<string, FailoverPolicy> Failovers = new(StringComparer.Ordinal)
    {
        ["move"] = FailoverPolicy.Move,
        ["stay"] = FailoverPolicy.Stay,
        ["never"] = FailoverPolicy.Never,
    };

    private static readonly Dictionary<string, OverlapPolicy> Overlaps = new(StringComparer.Ordinal)
    {
        ["skip"] = OverlapPolicy.Skip,
        ["queue"] = OverlapPolicy.Queue,
        ["replace"] = OverlapPolicy.Replace,
    };

    private static readonly Dictionary<string, CatchUpPolicy> CatchUps = new(StringComparer.Ordinal)
    {
        ["skip"] = CatchUpPolicy.Skip,
        ["once"] = CatchUpPolicy.Once,
        ["all"] = CatchUpPolicy.All,
    };

    // ---------------------------------------------------------------- node helpers

    private static string Num(double d) => d.ToString(CultureInfo.InvariantCulture);

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any } s
        && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static string Describe(YamlNode node) => node switch
    {
        YamlSequenceNode => "a list",
        YamlMappingNode => "a map",
        YamlScalarNode s when IsNull(s) => "nothing (null)",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "something else",
    };

    private YamlMappingNode? AsMap(YamlNode node, string path)
    {
        if (node is YamlMappingNode m)
        {
            return m;
        }

        if (!IsNull(node))
        {
            Error(node, path, $"expected a map, got {Describe(node)}");
        }

        return null;
    }

    private Fields Fields(YamlMappingNode m, string path, string[] known)
    {
        var values = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in m.Children)
        {
            if (k is not YamlScalarNode { Value: { } key } ks)
            {
                Error(k, path, "keys must be plain strings");
                continue;
            }

            var p = Join(path, key);
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                Error(ks, p, $"unknown key '{key}'{Suggest(key, known)}");
                continue;
            }

            map.Mark(p, v);
            if (!IsNull(v))
            {
                values[key] = v;
            }
        }

        return new Fields(this, m, path, values);
    }

    internal static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    internal static string Suggest(string given, IEnumerable<string> known)
    {
        var best = known.Select(k => (Key: k, Distance: Levenshtein(given, k)))
            .Where(x => x.Distance <= 2)
            .OrderBy(x => x.Distance)
            .FirstOrDefault();
        return best.Key is null ? "" : $" (did you mean '{best.Key}'?)";
    }

    internal static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }

            (prev, cur) = (cur, prev);
        }

        return prev[b.Length];
    }

    internal double? ParseDouble(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: { } v }
            && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return d;
        }

        Error(node, path, $"expected a number, got {Describe(node)}");
        return null;
    }

    internal void Error(YamlNode node, string path, string message) => Add(DiagnosticSeverity.Error, node, path, message);

    internal void Warning(YamlNode node, string path, string message) => Add(DiagnosticSeverity.Warning, node, path, message);

    private void Add(DiagnosticSeverity severity, YamlNode node, string path, string message) =>
        diagnostics.Add(new FleetDiagnostic(severity, file, (int)node.Start.Line, (int)node.Start.Column, path, message));
}
