using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>fleet.yaml <c>providers:</c>, <c>routing:</c> and <c>router:</c> (cross-record rules: the validators).</summary>
internal sealed partial class FleetReader
{
    /// <summary>Provider names whose CLI is obvious, so that <c>cli</c> may be left out.</summary>
    private static readonly Dictionary<string, string> ProviderDefaultCli = new(StringComparer.Ordinal)
    {
        ["anthropic"] = CliCatalog.Claude,
        ["openai"] = CliCatalog.Codex,
        ["google"] = CliCatalog.Gemini,
        ["gemini"] = CliCatalog.Gemini,
        ["opencode"] = CliCatalog.OpenCode,
    };

    private ProviderSpec? ReadProvider(YamlNode node, string path)
    {
        if (Section(node, path, FleetKeys.Provider) is not { } f)
        {
            return null;
        }

        var name = RequiredName(f, n => $"invalid provider name '{n}': use lowercase letters, digits and '-'");

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

        var d = new ProviderSpec { Name = "", Cli = "" };
        var p = d with
        {
            Name = name ?? d.Name,
            Cli = cli ?? d.Cli,
            Model = f.String("model"),
            BaseUrl = baseUrl,
            ApiKeyEnv = apiKeyEnv,
            Priority = f.Int("priority") ?? d.Priority,
            Limits = f.Node("limits") is { } l ? ReadProviderLimits(l, f.PathOf("limits")) : d.Limits,
            Prices = f.Node("prices") is { } pr ? ReadPrices(pr, f.PathOf("prices")) : d.Prices,
        };
        f.Require("priority", p.Priority >= 0, "priority must not be negative");
        map.Bind(p, path);
        return p;
    }

    private ProviderLimits ReadProviderLimits(YamlNode node, string path) => ReadSection(node, path, FleetKeys.ProviderLimits, new ProviderLimits(), (f, _) =>
    {
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
    });

    private ProviderPrices ReadPrices(YamlNode node, string path) => ReadSection(node, path, FleetKeys.ProviderPrices, new ProviderPrices(), (f, d) =>
    {
        var p = d with
        {
            InputPerMillion = f.Decimal("input_per_million") ?? d.InputPerMillion,
            OutputPerMillion = f.Decimal("output_per_million") ?? d.OutputPerMillion,
            CachedInputPerMillion = f.Decimal("cached_input_per_million") ?? d.CachedInputPerMillion,
        };
        f.Require("input_per_million", p.InputPerMillion >= 0, "input_per_million must not be negative");
        f.Require("output_per_million", p.OutputPerMillion >= 0, "output_per_million must not be negative");
        f.Require("cached_input_per_million", p.CachedInputPerMillion >= 0, "cached_input_per_million must not be negative");
        return p;
    });

    private RoutingRuleSpec? ReadRoutingRule(YamlNode node, string path)
    {
        if (Section(node, path, FleetKeys.Routing) is not { } f)
        {
            return null;
        }

        var d = new RoutingRuleSpec();
        var rule = d with
        {
            Keywords = f.StringList("keywords") ?? d.Keywords,
            Capabilities = f.StringList("capabilities") ?? d.Capabilities,
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
            Error(node, path, "a routing rule must name a cli, a provider or a model to route to");
        }

        map.Bind(rule, path);
        return rule;
    }

    private RouterSpec ReadRouter(YamlNode node, string path) => ReadSection(node, path, FleetKeys.Router, new RouterSpec(), (f, d) =>
    {
        var r = d with
        {
            Strategy = f.Enum("strategy", RoutingStrategies) ?? d.Strategy,
            PollingInterval = f.Duration("polling_interval") ?? d.PollingInterval,
            LimitBackoff = f.Duration("limit_backoff") ?? d.LimitBackoff,
            AvoidFor = f.Duration("avoid_for") ?? d.AvoidFor,
            OnBudgetExceeded = f.Enum<BudgetAction>("on_budget_exceeded") ?? d.OnBudgetExceeded,
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
    });

    /// <param name="names">The names the map may hold (null: any, e.g. provider names checked elsewhere).</param>
    private Dictionary<string, double> ReadWeights(YamlNode node, string path, IReadOnlyList<string>? names = null)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, key, v, p) in Entries(node, path, "weight"))
        {
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
}
