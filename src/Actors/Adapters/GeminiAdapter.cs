using System.Text.Json.Nodes;

namespace DarkFactory.Actors.Adapters;

/// <summary>
/// Gemini CLI: <c>gemini -p TASK --output-format stream-json --approval-mode auto_edit [-m MODEL]</c> (<c>yolo</c> with
/// <c>permission_mode: bypass</c>)
/// (<c>-m</c> also skips a model-router call) with <c>~/.gemini/settings.json</c> in the run's HOME: API-key
/// auth (else exit 41), auto-update, usage statistics and telemetry off, two attempts per request. Env:
/// <c>GOOGLE_GEMINI_BASE_URL</c>, <c>GEMINI_API_KEY</c>, <c>GEMINI_CLI_TRUST_WORKSPACE=true</c> (else exit 55).
/// </summary>
public sealed class GeminiAdapter : CliAdapter
{
    public override string Kind => CliCatalog.Gemini;

    public override IReadOnlyList<string> Argv(AdapterContext context)
    {
        var approval = context.Spec.PermissionMode == PermissionMode.Bypass ? "yolo" : "auto_edit";
        var argv = new List<string> { "gemini", "-p", context.Prompt, "--output-format", "stream-json", "--approval-mode", approval };
        AddModel(argv, "-m", context.Model);

        return argv;
    }

    public override (IReadOnlyDictionary<string, string> Environment, IReadOnlyList<RunFile> Files) Configure(AdapterContext context)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["GEMINI_CLI_TRUST_WORKSPACE"] = "true",
        };
        Quiet(env, context);
        if (context.Provider is not { } provider)
        {
            return (env, []);
        }

        if (provider.BaseUrl is { } url)
        {
            env["GOOGLE_GEMINI_BASE_URL"] = Root(url);
        }

        if (provider.ApiKey is { } key)
        {
            env["GEMINI_API_KEY"] = key;
        }

        var settings = new JsonObject
        {
            ["security"] = new JsonObject { ["auth"] = new JsonObject { ["selectedType"] = "gemini-api-key" } },
            ["general"] = new JsonObject { ["enableAutoUpdate"] = false, ["maxAttempts"] = 2 },
            ["privacy"] = new JsonObject { ["usageStatisticsEnabled"] = false },
            ["telemetry"] = new JsonObject { ["enabled"] = false },
        };
        return (env, [new RunFile(Path.Combine(context.Home, ".gemini", "settings.json"), settings.ToJsonString())]);
    }

    /// <summary>The init line's session id; the assistant's message deltas (joined into its message).</summary>
    public override RunReply? Reply(string line) => Json.Read<RunReply>(line, root => root.Str("type") switch
    {
        "init" => new RunReply(null, root.Str("session_id")),
        "message" when root.Str("role") == "assistant" => new RunReply(root.Str("content"), Delta: root.Bool("delta") == true),
        _ => null,
    });

    public override LineDetails Parse(OutputStream stream, string line, DateTimeOffset now) =>
        stream == OutputStream.Stderr ? StderrLine(line, now) : JsonLine(line, now, Parsed);

    /// <summary>Kind and details of a line that is a JSON object, by its <c>type</c>.</summary>
    private static LineDetails Parsed(JsonElement root, DateTimeOffset now)
    {
        switch (root.Str("type"))
        {
            case "tool_use":
                return new LineDetails(OutputKind.ToolCall);
            case "tool_result":
                return new LineDetails(root.Str("status") == "success" ? OutputKind.ToolResult : OutputKind.ToolError);
            case "error":
                return Failure(root.Str("message") ?? root.Prop("error").Str("message"), now, final: false);
            case "result":
                {
                    var stats = root.Prop("stats");
                    var cached = stats.Long("cached");
                    var input = stats.LongOrNull("input") ?? Math.Max(0, stats.Long("input_tokens") - cached);
                    var usage = stats.ValueKind == System.Text.Json.JsonValueKind.Object ? new TokenUsage(input, stats.Long("output_tokens"), cached) : null;
                    if (root.Str("status") == "success")
                    {
                        return new LineDetails(OutputKind.Result, usage, Success: true);
                    }

                    var failure = Failure(root.Prop("error").Str("message"), now, final: true);
                    return failure with { Usage = usage };
                }

            default:
                return LineDetails.Text;
        }
    }

    private static LineDetails StderrLine(string line, DateTimeOffset now)
    {
        if (line.Contains("Resource has been exhausted", StringComparison.Ordinal) || line.Contains("status 429", StringComparison.Ordinal) ||
            line.Contains("RESOURCE_EXHAUSTED", StringComparison.Ordinal))
        {
            var delay = Json.DelayInText(line);
            return new LineDetails(OutputKind.RateLimit, Limit: new RateLimitInfo("HTTP 429 RESOURCE_EXHAUSTED", delay is { } d ? now + d : null));
        }

        return LineDetails.Text;
    }

    private static LineDetails Failure(string? message, DateTimeOffset now, bool final)
    {
        message ??= string.Empty;
        if (message.Contains("429", StringComparison.Ordinal) || message.Contains("exhausted", StringComparison.OrdinalIgnoreCase) || message.Contains("quota", StringComparison.OrdinalIgnoreCase))
        {
            var delay = Json.DelayInText(message);
            return new LineDetails(OutputKind.RateLimit, Limit: new RateLimitInfo("HTTP 429 RESOURCE_EXHAUSTED", delay is { } d ? now + d : null), Success: final ? false : null);
        }

        return new LineDetails(OutputKind.Error, Success: final ? false : null);
    }

    /// <summary>Gemini exits with the HTTP status &amp; 0xFF: 173 is a 429.</summary>
    public override RateLimitInfo? LimitFromExit(int exitCode) =>
        exitCode == (429 & 0xFF) ? new RateLimitInfo("HTTP 429 (gemini exit code 173)", null) : null;
}
