namespace DarkFactory.Actors.Adapters;

/// <summary>
/// Claude Code: <c>claude -p TASK --output-format stream-json --verbose --permission-mode MODE [--allowedTools RULE...]</c>.
/// Permissions (fleet.yaml <c>permission_mode</c>, <c>allowed_tools</c>): <c>accept_edits</c> (default) runs
/// <c>acceptEdits</c> — file edits in the working directory without asking, any other command refused
/// ("requires approval", listed in the result's <c>permission_denials</c>) unless an <c>allowed_tools</c> rule
/// such as <c>Bash(git:*)</c> lets it through; <c>bypass</c> runs <c>bypassPermissions</c> — everything,
/// for sandboxed machines — which claude refuses as root unless <c>IS_SANDBOX=1</c>, set then.
/// Provider: <c>ANTHROPIC_BASE_URL</c> (no /v1), <c>ANTHROPIC_API_KEY</c>; retries and timeouts bounded so
/// a failing provider ends the run soon (one retry, which waits the provider's retry-after) instead of
/// after 10 retries (~3 min).
/// </summary>
public sealed class ClaudeAdapter : CliAdapter
{
    public override string Kind => CliCatalog.Claude;

    public override IReadOnlyList<string> Argv(AdapterContext context)
    {
        var mode = context.Spec.PermissionMode == PermissionMode.Bypass ? "bypassPermissions" : "acceptEdits";
        var argv = new List<string> { "claude", "-p", context.Prompt, "--output-format", "stream-json", "--verbose", "--permission-mode", mode };
        if (context.Session is { } session)
        {
            // continues that conversation (restored into the run's config directory): the prompt is its next turn
            argv.Add("--resume");
            argv.Add(session);
        }

        if (context.Spec.AllowedTools.Count > 0)
        {
            // one argument per rule: rules contain spaces ("Bash(dotnet test:*)")
            argv.Add("--allowedTools");
            argv.AddRange(context.Spec.AllowedTools);
        }

        AddModel(argv, "--model", context.Model);

        return argv;
    }

    public override (IReadOnlyDictionary<string, string> Environment, IReadOnlyList<RunFile> Files) Configure(AdapterContext context)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            ["DISABLE_TELEMETRY"] = "1",
            ["DISABLE_AUTOUPDATER"] = "1",
            ["DISABLE_ERROR_REPORTING"] = "1",
            ["CLAUDE_CODE_MAX_RETRIES"] = "1",
            ["API_TIMEOUT_MS"] = "120000",
            ["CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS"] = "120000",
            ["CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK"] = "1",
        };
        Quiet(env, context);
        if (context.Spec.PermissionMode == PermissionMode.Bypass && context.AsRoot)
        {
            // the operator declared the run sandboxed (permission_mode: bypass): claude's root check is told so
            env["IS_SANDBOX"] = "1";
        }

        if (context.Provider is { } provider)
        {
            env["CLAUDE_CONFIG_DIR"] = Path.Combine(context.Home, ".claude");
            if (provider.BaseUrl is { } url)
            {
                env["ANTHROPIC_BASE_URL"] = Root(url);
            }

            if (provider.ApiKey is { } key)
            {
                env["ANTHROPIC_API_KEY"] = key;
            }
        }

        return (env, []);
    }

    /// <summary>Claude keeps its conversations as <c>$CLAUDE_CONFIG_DIR/projects/&lt;working directory&gt;/&lt;session&gt;.jsonl</c>.</summary>
    public override string? SessionState(AdapterContext context) =>
        context.Provider is null ? null : Path.Combine(context.Home, ".claude", "projects");

    /// <summary>The init line's session id; the result line's text (the final answer) and session id.</summary>
    public override RunReply? Reply(string line) => Json.Read<RunReply>(line, root => root.Str("type") switch
    {
        "system" when root.Str("subtype") == "init" => new RunReply(null, root.Str("session_id")),
        "result" => new RunReply(root.Str("result"), root.Str("session_id")),
        _ => null,
    });

    public override LineDetails Parse(OutputStream stream, string line, DateTimeOffset now) => JsonLine(line, now, Parsed);

    /// <summary>Kind and details of a line that is a JSON object, by its <c>type</c>.</summary>
    private static LineDetails Parsed(JsonElement root, DateTimeOffset now)
    {
        switch (root.Str("type"))
        {
            case "assistant":
                return HasContent(root, "tool_use") ? new LineDetails(OutputKind.ToolCall) : LineDetails.Text;
            case "user":
                return ToolResult(root);
            case "rate_limit_event":
                return RateLimitEvent(root, now);
            case "system" when root.Str("subtype") == "api_retry":
                return ApiRetry(root, now);
            case "result":
                return Result(root, now);
            default:
                return LineDetails.Text;
        }
    }

    private static bool HasContent(JsonElement root, string type)
    {
        var content = root.Prop("message").Prop("content");
        if (content.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var item in content.EnumerateArray())
        {
            if (item.Str("type") == type)
            {
                return true;
            }
        }

        return false;
    }

    private static LineDetails ToolResult(JsonElement root)
    {
        var content = root.Prop("message").Prop("content");
        if (content.ValueKind != JsonValueKind.Array)
        {
            return LineDetails.Text;
        }

        var any = false;
        foreach (var item in content.EnumerateArray())
        {
            if (item.Str("type") != "tool_result")
            {
                continue;
            }

            if (item.Bool("is_error") == true)
            {
                return new LineDetails(OutputKind.ToolError);
            }

            any = true;
        }

        return any ? new LineDetails(OutputKind.ToolResult) : LineDetails.Text;
    }

    private static LineDetails RateLimitEvent(JsonElement root, DateTimeOffset now)
    {
        var info = root.Prop("rate_limit_info");
        var status = info.Str("status");
        if (status is null or "allowed" or "allowed_warning")
        {
            return LineDetails.Text;
        }

        var resets = info.LongOrNull("resetsAt") is { } epoch ? DateTimeOffset.FromUnixTimeSeconds(epoch) : Json.ResetFrom(info.Str("resetsAt"), now);
        var type = info.Str("rateLimitType");
        return new LineDetails(OutputKind.RateLimit, Limit: new RateLimitInfo($"rate limit {status}{(type is null ? string.Empty : $" ({type})")}", resets));
    }

    private static LineDetails ApiRetry(JsonElement root, DateTimeOffset now)
    {
        var status = root.LongOrNull("error_status");
        if (status == 429)
        {
            var delay = root.LongOrNull("retry_delay_ms");
            return new LineDetails(OutputKind.RateLimit, Limit: new RateLimitInfo(
                $"HTTP 429 {root.Str("error") ?? "rate_limit"}", delay is { } ms ? now.AddMilliseconds(ms) : null));
        }

        return new LineDetails(OutputKind.Error);
    }

    private static LineDetails Result(JsonElement root, DateTimeOffset now)
    {
        var u = root.Prop("usage");
        TokenUsage? usage = null;
        if (u.ValueKind == JsonValueKind.Object)
        {
            // Anthropic's input_tokens excludes cache reads and writes; cache writes are billed as input.
            usage = new TokenUsage(
                u.Long("input_tokens") + u.Long("cache_creation_input_tokens"),
                u.Long("output_tokens"),
                u.Long("cache_read_input_tokens"),
                root.Decimal("total_cost_usd"),
                SingleModel(root.Prop("modelUsage")));
        }

        // the subtype stays "success" on an API error: is_error and api_error_status tell
        var failed = root.Bool("is_error") == true;
        if (failed && root.LongOrNull("api_error_status") == 429)
        {
            var delay = Json.DelayInText(root.Str("result") ?? string.Empty);
            return new LineDetails(OutputKind.RateLimit, usage, new RateLimitInfo("HTTP 429 rate_limit", delay is { } d ? now + d : null), Success: false);
        }

        return new LineDetails(failed ? OutputKind.Error : OutputKind.Result, usage, Success: !failed);
    }

    private static string? SingleModel(JsonElement models)
    {
        if (models.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        string? name = null;
        foreach (var p in models.EnumerateObject())
        {
            if (name is not null)
            {
                return null;
            }

            name = p.Name;
        }

        return name;
    }
}
