namespace DarkFactory.Actors.Adapters;

/// <summary>
/// Codex: <c>codex exec --json --skip-git-repo-check [-m MODEL] TASK</c> with <c>$CODEX_HOME/config.toml</c>
/// in the run directory: the provider as <c>model_providers.df</c> (Responses API at base_url/v1, key from
/// <c>OPENAI_API_KEY</c>), no approvals (<c>approval_policy = "never"</c>, workspace-write sandbox; danger-full-access
/// with <c>permission_mode: bypass</c>), update
/// check, analytics, feedback and OpenTelemetry off, one retry per request and stream.
/// </summary>
public sealed class CodexAdapter : CliAdapter
{
    public const string KeyVariable = "OPENAI_API_KEY";

    public override string Kind => CliCatalog.Codex;

    public override IReadOnlyList<string> Argv(AdapterContext context)
    {
        // a resumed run continues that thread (restored into CODEX_HOME/sessions): codex exec resume ... ID PROMPT
        var argv = context.Session is null
            ? new List<string> { "codex", "exec", "--json", "--skip-git-repo-check" }
            : new List<string> { "codex", "exec", "resume", "--json", "--skip-git-repo-check" };
        AddModel(argv, "-m", context.Model);

        if (context.Session is { } session)
        {
            argv.Add(session);
        }

        argv.Add(context.Prompt);
        return argv;
    }

    /// <summary>Codex keeps its threads as <c>$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl</c>.</summary>
    public override string? SessionState(AdapterContext context) =>
        context.Provider is null ? null : Path.Combine(context.Home, ".codex", "sessions");

    public override (IReadOnlyDictionary<string, string> Environment, IReadOnlyList<RunFile> Files) Configure(AdapterContext context)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        Quiet(env, context);
        if (context.Provider is not { } provider)
        {
            return (env, []);
        }

        var codexHome = Path.Combine(context.Home, ".codex");
        env["CODEX_HOME"] = codexHome;
        if (provider.ApiKey is { } key)
        {
            env[KeyVariable] = key;
        }

        var toml = new StringBuilder();
        if (!string.IsNullOrEmpty(context.Model))
        {
            toml.Append("model = ").AppendLine(Toml(context.Model));
        }

        if (provider.BaseUrl is not null)
        {
            toml.AppendLine("model_provider = \"df\"");
        }

        toml.AppendLine("check_for_update_on_startup = false")
            .AppendLine("approval_policy = \"never\"")
            .Append("sandbox_mode = ").AppendLine(context.Spec.PermissionMode == PermissionMode.Bypass ? "\"danger-full-access\"" : "\"workspace-write\"")
            .AppendLine("[analytics]").AppendLine("enabled = false")
            .AppendLine("[feedback]").AppendLine("enabled = false")
            .AppendLine("[otel]").AppendLine("exporter = \"none\"")
            .AppendLine("[features]").AppendLine("plugins = false").AppendLine("apps = false").AppendLine("remote_plugin = false");
        if (provider.BaseUrl is { } url)
        {
            toml.AppendLine("[model_providers.df]")
                .Append("name = ").AppendLine(Toml(provider.Name))
                .Append("base_url = ").AppendLine(Toml(Versioned(url)))
                .Append("env_key = ").AppendLine(Toml(KeyVariable))
                .AppendLine("wire_api = \"responses\"")
                .AppendLine("request_max_retries = 1")
                .AppendLine("stream_max_retries = 1")
                .AppendLine("stream_idle_timeout_ms = 120000");
        }

        return (env, [new RunFile(Path.Combine(codexHome, "config.toml"), toml.ToString())]);
    }

    private static string Toml(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>thread.started's thread id (what <c>codex exec resume</c> takes); each completed agent message's text.</summary>
    public override RunReply? Reply(string line) => Json.Read<RunReply>(line, root => root.Str("type") switch
    {
        "thread.started" => new RunReply(null, root.Str("thread_id")),
        "item.completed" when root.Prop("item").Str("type") == "agent_message" => new RunReply(root.Prop("item").Str("text")),
        _ => null,
    });

    public override LineDetails Parse(OutputStream stream, string line, DateTimeOffset now) => JsonLine(line, now, Parsed);

    /// <summary>Kind and details of a line that is a JSON object, by its <c>type</c>.</summary>
    private static LineDetails Parsed(JsonElement root, DateTimeOffset now)
    {
        switch (root.Str("type"))
        {
            case "item.started":
                return IsTool(root.Prop("item").Str("type")) ? new LineDetails(OutputKind.ToolCall) : LineDetails.Text;
            case "item.completed":
                {
                    var item = root.Prop("item");
                    if (!IsTool(item.Str("type")))
                    {
                        return LineDetails.Text; // agent_message, reasoning, and "error" items (often harmless warnings)
                    }

                    var failed = item.Str("status") is "failed" or "declined" || (item.LongOrNull("exit_code") is { } code && code != 0);
                    return new LineDetails(failed ? OutputKind.ToolError : OutputKind.ToolResult);
                }

            case "turn.completed":
                {
                    // OpenAI counts cached tokens inside input_tokens; the ledger prices them apart.
                    var u = root.Prop("usage");
                    var cached = u.Long("cached_input_tokens");
                    return new LineDetails(OutputKind.Usage, new TokenUsage(Math.Max(0, u.Long("input_tokens") - cached), u.Long("output_tokens") + u.Long("reasoning_output_tokens"), cached), Success: true);
                }

            case "error":
                return Failure(root.Str("message"), now, final: false);
            case "turn.failed":
                return Failure(root.Prop("error").Str("message"), now, final: true);
            default:
                return LineDetails.Text;
        }
    }

    private static bool IsTool(string? itemType) => itemType is "command_execution" or "file_change" or "mcp_tool_call" or "web_search";

    private static LineDetails Failure(string? message, DateTimeOffset now, bool final)
    {
        message ??= string.Empty;
        if (message.Contains("429", StringComparison.Ordinal) || message.Contains("Too Many Requests", StringComparison.OrdinalIgnoreCase) ||
            message.Contains("rate limit", StringComparison.OrdinalIgnoreCase) || message.Contains("quota", StringComparison.OrdinalIgnoreCase))
        {
            var delay = Json.DelayInText(message);
            return new LineDetails(OutputKind.RateLimit, Limit: new RateLimitInfo("HTTP 429 Too Many Requests", delay is { } d ? now + d : null), Success: final ? false : null);
        }

        return new LineDetails(OutputKind.Error, Success: final ? false : null);
    }
}
