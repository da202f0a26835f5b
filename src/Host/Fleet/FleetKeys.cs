namespace DarkFactory.Host.Fleet;

/// <summary>
/// Every key fleet.yaml accepts, per place in the document. The loader rejects anything else, and a test keeps
/// this table and fleet.schema.json in step. Paths use <c>[]</c> for list items and the layer name for layers.
/// </summary>
internal static class FleetKeys
{
    public static readonly string[] TopLevel = ["version", "layers", "providers", "routing", "agents", "nightwatch", "compound_review", "router", "projects", "cluster", "limits"];
    public static readonly string[] LayerNames = ["safety", "core", "growth"];
    public static readonly string[] Layer = ["strategy", "max_restarts", "within", "backoff", "quarantine_after", "default_restart"];
    public static readonly string[] Backoff = ["min", "max", "jitter", "reset_after"];
    public static readonly string[] Provider = ["name", "cli", "model", "base_url", "api_key_env", "priority", "limits", "prices"];

    public static readonly string[] ProviderLimits =
        ["requests_per_minute", "tokens_per_minute", "max_concurrent", "budget_per_hour", "budget_per_day", "budget_per_month", "credits"];

    public static readonly string[] FleetLimits = ["max_concurrent_runs"];
    public static readonly string[] ProviderPrices = ["input_per_million", "output_per_million", "cached_input_per_million"];
    public static readonly string[] Routing = ["keywords", "capabilities", "cli", "provider", "model"];

    public static readonly string[] Agent =
    [
        "name", "layer", "cli", "command", "task", "schedule", "timezone", "capabilities", "provider", "model", "workdir", "env",
        "limits", "max_runtime", "restart", "min_uptime", "grace", "result_grace", "node", "overlap", "queue_limit", "catch_up", "catch_up_limit", "jitter", "autostart",
        "budget", "permission_mode", "allowed_tools", "sandbox", "network", "failover", "log",
        "isolation", "gates",
    ];

    public static readonly string[] AgentLog = ["max_size", "keep"];

    public static readonly string[] AgentBudget = ["per_hour", "per_day", "per_month"];
    public static readonly string[] Router = ["strategy", "breaker", "polling_interval", "limit_backoff", "on_budget_exceeded", "weights", "avoid_for"];
    public static readonly string[] Breaker = ["failures", "open_for"];

    public static readonly string[] AgentLimits = ["memory", "cpu_seconds", "open_files"];
    public static readonly string[] EnvValue = ["from_env", "from_file"];

    public static readonly string[] Nightwatch =
    [
        "window", "stall_after", "loop_repeats", "thresholds", "weights", "cooldown", "escalation_webhook", "rate_limit_patterns",
        "error_patterns", "hysteresis", "max_burn_per_hour", "pause_for",
    ];

    public static readonly string[] Thresholds = ["minor", "moderate", "severe", "critical"];

    public static readonly string[] CompoundReview =
    [
        "enabled", "schedule", "timezone", "repo", "base_branch", "agent", "since", "catch_up", "max_duration", "create_prs", "remote", "forge", "gates",
    ];

    public static readonly string[] Projects =
    [
        "personas_dir", "planner", "auditor", "max_runtime", "audit_interval", "concurrency", "max_attempts", "repositories", "worktree_root",
        "create_pr", "remote", "forge", "check_timeout",
    ];

    public static readonly string[] Cluster = ["name", "seeds", "split_brain", "nodes", "heartbeat_interval", "heartbeat_pause", "stable_after", "down_removal_margin", "down_all_when_unstable"];
    public static readonly string[] ClusterNode = ["name", "roles", "max_agents", "repos"];

    public static readonly string[] ProjectRepository = ["path", "tests", "lint", "format"];

    /// <summary>A persona file's front matter (not part of fleet.yaml, so not in <see cref="ByPath"/>).</summary>
    public static readonly string[] Persona = ["name", "version", "description", "capabilities", "agent", "acceptance_criteria"];

    public static readonly string[] AcceptanceCriteria = ["tests_pass", "lint_pass", "format_pass", "custom_checks"];
    public static readonly string[] CustomCheck = ["name", "command", "expected_exit_code"];

    public static readonly string[] Forge = ["kind", "base_url", "repository", "token_env"];
    public static readonly string[] Gate = ["name", "command", "expect_exit", "timeout"];

    /// <summary>The key set of every map in the document, by path (see the class summary).</summary>
    public static IReadOnlyDictionary<string, string[]> ByPath()
    {
        var d = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            [""] = TopLevel,
            ["layers"] = LayerNames,
            ["limits"] = FleetLimits,
            ["providers[]"] = Provider,
            ["providers[].limits"] = ProviderLimits,
            ["providers[].prices"] = ProviderPrices,
            ["routing[]"] = Routing,
            ["agents[]"] = Agent,
            ["agents[].limits"] = AgentLimits,
            ["agents[].log"] = AgentLog,
            ["agents[].env.*"] = EnvValue,
            ["nightwatch"] = Nightwatch,
            ["nightwatch.thresholds"] = Thresholds,
            ["nightwatch.weights"] = [.. DarkFactory.Messages.Fleet.NightwatchSpec.SignalNames],
            ["compound_review"] = CompoundReview,
            ["compound_review.forge"] = Forge,
            ["compound_review.gates[]"] = Gate,
            ["agents[].gates[]"] = Gate,
            ["agents[].budget"] = AgentBudget,
            ["router"] = Router,
            ["projects"] = Projects,
            ["projects.repositories[]"] = ProjectRepository,
            ["projects.forge"] = Forge,
            ["router.breaker"] = Breaker,
            ["cluster"] = Cluster,
            ["cluster.nodes[]"] = ClusterNode,
        };
        foreach (var layer in LayerNames)
        {
            d[$"layers.{layer}"] = Layer;
            d[$"layers.{layer}.backoff"] = Backoff;
        }

        return d;
    }
}
