using System.Text.Json.Nodes;

namespace DarkFactory.Actors.Adapters;

/// <summary>
/// OpenCode: <c>opencode run --pure --format json [-m df/MODEL] TASK</c> with
/// <c>$XDG_CONFIG_HOME/opencode/opencode.json</c> in the run directory: the provider as <c>df</c>
/// (OpenAI-compatible at base_url/v1, key from <c>{env:OPENAI_API_KEY}</c>, request timeouts), autoupdate
/// and sharing off; env switches off model fetches, default plugins and LSP downloads.
/// </summary>
public sealed class OpenCodeAdapter : CliAdapter
{
    public const string KeyVariable = "OPENAI_API_KEY";
    private const string ProviderId = "df";

    public override string Kind => CliCatalog.OpenCode;

    public override IReadOnlyList<string> Argv(AdapterContext context)
    {
        var argv = new List<string> { "opencode", "run", "--pure", "--format", "json" };
        if (!string.IsNullOrEmpty(context.Model))
        {
            argv.Add("-m");
            argv.Add(context.Provider?.BaseUrl is null || context.Model.Contains('/') ? context.Model : $"{ProviderId}/{context.Model}");
        }

        argv.Add(context.Prompt);
        return argv;
    }

    public override (IReadOnlyDictionary<string, string> Environment, IReadOnlyList<RunFile> Files) Configure(AdapterContext context)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["OPENCODE_DISABLE_MODELS_FETCH"] = "1",
            ["OPENCODE_DISABLE_AUTOUPDATE"] = "1",
            ["OPENCODE_DISABLE_DEFAULT_PLUGINS"] = "1",
            ["OPENCODE_DISABLE_LSP_DOWNLOAD"] = "1",
            ["OPENCODE_DISABLE_SHARE"] = "1",
        };
        Quiet(env, context);
        if (context.Provider is not { } provider)
        {
            return (env, []);
        }

        if (provider.ApiKey is { } key)
        {
            env[KeyVariable] = key;
        }

        var config = new JsonObject
        {
            ["$schema"] = "https://opencode.ai/config.json",
            ["autoupdate"] = false,
            ["share"] = "disabled",
        };
        if (provider.BaseUrl is { } url)
        {
            var model = context.Model ?? "default";
            config["model"] = $"{ProviderId}/{model}";
            config["provider"] = new JsonObject
            {
                [ProviderId] = new JsonObject
                {
                    ["npm"] = "@ai-sdk/openai-compatible",
                    ["name"] = provider.Name,
                    ["options"] = new JsonObject
                    {
                        ["baseURL"] = Versioned(url),
                        ["apiKey"] = $"{{env:{KeyVariable}}}",
                        ["timeout"] = 120000,
                        ["chunkTimeout"] = 120000,
                    },
                    ["models"] = new JsonObject { [model] = new JsonObject { ["name"] = model } },
                },
            };
        }

        var path = Path.Combine(context.Home, ".config", "opencode", "opencode.json");
        return (env, [new RunFile(path, config.ToJsonString())]);
    }

    /// <summary>Each text part (the last is the final message), with the session id every event carries.</summary>
    public override RunReply? Reply(string line) => Json.Read<RunReply>(line, root => root.Str("type") == "text" ? new RunReply(root.Prop("part").Str("text"), root.Str("sessionID")) : null);

    public override LineDetails Parse(OutputStream stream, string line, DateTimeOffset now) => JsonLine(line, now, Parsed);

    /// <summary>Kind and details of a line that is a JSON object, by its <c>type</c>.</summary>
    private static LineDetails Parsed(JsonElement root, DateTimeOffset now)
    {
        switch (root.Str("type"))
        {
            case "tool_use":
                {
                    var status = root.Prop("part").Prop("state").Str("status");
                    return status switch
                    {
                        "completed" => new LineDetails(OutputKind.ToolResult),
                        "error" => new LineDetails(OutputKind.ToolError),
                        _ => new LineDetails(OutputKind.ToolCall),
                    };
                }

            case "step_finish":
                {
                    var part = root.Prop("part");
                    var tokens = part.Prop("tokens");
                    var cache = tokens.Prop("cache");
                    return new LineDetails(
                        OutputKind.Usage,
                        new TokenUsage(tokens.Long("input") + cache.Long("write"), tokens.Long("output") + tokens.Long("reasoning"), cache.Long("read"), part.Decimal("cost")));
                }

            case "error":
                return Error(root.Prop("error"), now);
            default:
                return LineDetails.Text;
        }
    }

    private static LineDetails Error(JsonElement error, DateTimeOffset now)
    {
        var data = error.Prop("data");
        var status = data.LongOrNull("statusCode");
        if (status == 429)
        {
            var headers = data.Prop("responseHeaders");
            var reset = Json.ResetFrom(headers.Str("retry-after"), now)
                        ?? Json.ResetFrom(headers.Str("x-ratelimit-reset-requests"), now)
                        ?? (Json.DelayInText(data.Str("message") ?? data.Str("responseBody") ?? string.Empty) is { } d ? now + d : null);
            return new LineDetails(OutputKind.RateLimit, Limit: new RateLimitInfo($"HTTP 429 {error.Str("name") ?? "APIError"}", reset), Success: false);
        }

        return new LineDetails(OutputKind.Error, Success: false);
    }
}
