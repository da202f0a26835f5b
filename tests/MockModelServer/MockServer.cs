using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DarkFactory.MockModelServer;

/// <summary>
/// A model server on 127.0.0.1 that speaks what the AI CLIs call: Anthropic Messages (SSE and JSON),
/// OpenAI Responses (SSE), Chat Completions (stream and not) and Gemini (generateContent and
/// streamGenerateContent?alt=sse). Answers are scripted per API (<see cref="Reply"/>); without a script
/// it answers a short text. One instance is one provider: tests start one per provider.
/// </summary>
public sealed class MockServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<Rule> _rules = [];
    private readonly List<RecordedRequest> _requests = [];
    private readonly CancellationTokenSource _stopping = new();
    private int _ids;
    private int _probes;
    private int _gets;

    private MockServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>http://127.0.0.1:PORT, no trailing slash and no /v1.</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>The text answered when no rule matches.</summary>
    public string DefaultText { get; set; } = "Done.";

    /// <summary>GET requests (model lists, health probes), whatever they were answered.</summary>
    public int Probes
    {
        get
        {
            lock (_gate)
            {
                return _gets;
            }
        }
    }

    /// <summary>GET requests (model lists, health probes) answered with success.</summary>
    public int SuccessfulProbes
    {
        get
        {
            lock (_gate)
            {
                return _probes;
            }
        }
    }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return _requests.ToList();
            }
        }
    }

    public static async Task<MockServer> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var server = new MockServer(app);
        app.Run(server.Handle);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        return server;
    }

    /// <summary>
    /// Answers the next <paramref name="times"/> calls (all, when null) of <paramref name="api"/> (any, when
    /// null) with <paramref name="reply"/>. Rules are tried in the order they were added.
    /// </summary>
    /// <param name="when">Only calls whose last turn is the user's own text (not a tool's result) and contains this.</param>
    public void Reply(MockReply reply, MockApi? api = null, int? times = null, string? when = null)
    {
        lock (_gate)
        {
            _rules.Add(new Rule(reply, api, times, when));
        }
    }

    /// <summary>Forgets every rule (the default text answers again).</summary>
    public void ClearReplies()
    {
        lock (_gate)
        {
            _rules.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _app.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>The reply of the first rule that applies to any API, without consuming it; null: the default text.</summary>
    private MockReply? Peek()
    {
        lock (_gate)
        {
            return _rules.Count > 0 ? _rules[0].Reply : null;
        }
    }

    private MockReply Next(MockApi api, bool offersTools, string? userText)
    {
        lock (_gate)
        {
            for (var i = 0; i < _rules.Count; i++)
            {
                var rule = _rules[i];
                // a tool call only answers a request that offers tools (opencode's title call offers none)
                if ((rule.Api is { } only && only != api) || (rule.Reply is ToolReply && !offersTools) ||
                    (rule.When is { } when && userText?.Contains(when, StringComparison.Ordinal) != true))
                {
                    continue;
                }

                if (rule.Times is { } left)
                {
                    if (left <= 1)
                    {
                        _rules.RemoveAt(i);
                    }
                    else
                    {
                        _rules[i] = rule with { Times = left - 1 };
                    }
                }

                return rule.Reply;
            }
        }

        return MockReply.Answer(DefaultText);
    }

    private async Task Handle(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "/";
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            // model lists and health probes (the router's polling): what the next model call would get
            // if it is a refusal (429, 5xx), else an empty list; a probe consumes no rule
            lock (_gate)
            {
                _gets++;
            }

            switch (Peek())
            {
                case RateLimitReply limit:
                    await WriteRateLimit(http, MockApi.ChatCompletions, limit.RetryAfter).ConfigureAwait(false);
                    return;
                case StatusReply status:
                    await WriteError(http, MockApi.ChatCompletions, status.Code, "Internal server error (scripted by the mock)").ConfigureAwait(false);
                    return;
            }

            lock (_gate)
            {
                _probes++;
            }

            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("""{"object":"list","data":[],"models":[]}""").ConfigureAwait(false);
            return;
        }

        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            body = null;
        }

        MockApi api;
        if (path.EndsWith("/messages", StringComparison.Ordinal))
        {
            api = MockApi.Anthropic;
        }
        else if (path.EndsWith("/responses", StringComparison.Ordinal))
        {
            api = MockApi.Responses;
        }
        else if (path.EndsWith("/chat/completions", StringComparison.Ordinal))
        {
            api = MockApi.ChatCompletions;
        }
        else if (path.Contains(":generateContent", StringComparison.Ordinal) || path.Contains(":streamGenerateContent", StringComparison.Ordinal))
        {
            api = MockApi.Gemini;
        }
        else if (path.Contains(":countTokens", StringComparison.Ordinal) || path.EndsWith("/count_tokens", StringComparison.Ordinal))
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("""{"totalTokens":10,"input_tokens":10}""").ConfigureAwait(false);
            return;
        }
        else
        {
            http.Response.StatusCode = 404;
            await http.Response.WriteAsync("""{"error":{"message":"unknown path"}}""").ConfigureAwait(false);
            return;
        }

        var stream = api switch
        {
            MockApi.Gemini => path.Contains(":streamGenerateContent", StringComparison.Ordinal),
            _ => body?["stream"]?.GetValueKind() == JsonValueKind.True,
        };
        if (api == MockApi.Responses)
        {
            stream = body?["stream"]?.GetValueKind() != JsonValueKind.False;
        }

        var model = api == MockApi.Gemini ? ModelFromGeminiPath(path) : body?["model"]?.GetValue<string>();
        var tools = ToolNames(api, body);
        var reply = Next(api, tools.Count > 0, LastUserText(api, body));
        var headers = http.Request.Headers;
        var authenticated = headers.ContainsKey("x-api-key") || headers.ContainsKey("x-goog-api-key") ||
                            (headers.Authorization.ToString() is { Length: > 7 } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && auth.Length > "Bearer ".Length + 1) ||
                            (http.Request.Query.TryGetValue("key", out var key) && key.ToString().Length > 0);
        lock (_gate)
        {
            _requests.Add(new RecordedRequest(
                DateTimeOffset.UtcNow,
                api,
                http.Request.Method,
                path,
                model,
                stream,
                authenticated,
                headers.Keys.Order(StringComparer.Ordinal).ToList(),
                tools,
                reply)
            { Body = Bounded(body?.ToJsonString()) });
        }

        switch (reply)
        {
            case HangReply:
                try
                {
                    await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, http.RequestAborted).Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }

                return;
            case RateLimitReply limit:
                await WriteRateLimit(http, api, limit.RetryAfter).ConfigureAwait(false);
                return;
            case StatusReply status:
                await WriteError(http, api, status.Code, "Internal server error (scripted by the mock)").ConfigureAwait(false);
                return;
        }

        var id = Interlocked.Increment(ref _ids);
        var events = api switch
        {
            MockApi.Anthropic => Wire.Anthropic(reply, model ?? "mock-model", id, stream),
            MockApi.Responses => Wire.Responses(reply, model ?? "mock-model", id),
            MockApi.ChatCompletions => Wire.Chat(reply, model ?? "mock-model", id, stream),
            _ => Wire.Gemini(reply, model ?? "mock-model", stream),
        };
        if (!stream)
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(events[0].Data).ConfigureAwait(false);
            return;
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        foreach (var e in events)
        {
            var frame = e.Event is null ? $"data: {e.Data}\n\n" : $"event: {e.Event}\ndata: {e.Data}\n\n";
            await http.Response.WriteAsync(frame).ConfigureAwait(false);
            await http.Response.Body.FlushAsync().ConfigureAwait(false);
        }
    }

    private static string? ModelFromGeminiPath(string path)
    {
        var start = path.IndexOf("/models/", StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += "/models/".Length;
        var end = path.IndexOf(':', start);
        return end < 0 ? path[start..] : path[start..end];
    }

    private static List<string> ToolNames(MockApi api, JsonNode? body)
    {
        var names = new List<string>();
        if (body?["tools"] is not JsonArray tools)
        {
            return names;
        }

        foreach (var tool in tools)
        {
            switch (api)
            {
                case MockApi.Gemini:
                    if (tool?["functionDeclarations"] is JsonArray decls)
                    {
                        names.AddRange(decls.Select(d => d?["name"]?.GetValue<string>()).OfType<string>());
                    }

                    break;
                case MockApi.ChatCompletions:
                    names.Add(tool?["function"]?["name"]?.GetValue<string>() ?? "?");
                    break;
                default:
                    if (tool?["name"] is JsonValue name && name.GetValueKind() == JsonValueKind.String)
                    {
                        names.Add(name.GetValue<string>());
                    }

                    break;
            }
        }

        return names;
    }

    private static async Task WriteRateLimit(HttpContext http, MockApi api, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        var reset = DateTimeOffset.UtcNow.AddSeconds(seconds);
        var h = http.Response.Headers;
        h["retry-after"] = seconds.ToString(CultureInfo.InvariantCulture);
        h["anthropic-ratelimit-requests-reset"] = reset.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        h["x-ratelimit-reset-requests"] = seconds.ToString(CultureInfo.InvariantCulture) + "s";
        var message = $"Rate limit reached (scripted by the mock). Please try again in {seconds}s.";
        http.Response.StatusCode = 429;
        http.Response.ContentType = "application/json";
        var body = api switch
        {
            MockApi.Anthropic => Json(new { type = "error", error = new { type = "rate_limit_error", message } }),
            MockApi.Gemini => Json(new
            {
                error = new
                {
                    code = 429,
                    message = "Resource has been exhausted (e.g. check quota).",
                    status = "RESOURCE_EXHAUSTED",
                    details = new object[] { new Dictionary<string, string> { ["@type"] = "type.googleapis.com/google.rpc.RetryInfo", ["retryDelay"] = $"{seconds}s" } },
                },
            }),
            _ => Json(new { error = new { message, type = "requests", param = (string?)null, code = "rate_limit_exceeded" } }),
        };
        await http.Response.WriteAsync(body).ConfigureAwait(false);
    }

    private static async Task WriteError(HttpContext http, MockApi api, int status, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var body = api switch
        {
            MockApi.Anthropic => Json(new { type = "error", error = new { type = status >= 500 ? "api_error" : "invalid_request_error", message } }),
            MockApi.Gemini => Json(new { error = new { code = status, message, status = status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT" } }),
            _ => Json(new { error = new { message, type = "server_error", param = (string?)null, code = (string?)null } }),
        };
        await http.Response.WriteAsync(body).ConfigureAwait(false);
    }

    internal static string Json(object value) => JsonSerializer.Serialize(value);

    private sealed record Rule(MockReply Reply, MockApi? Api, int? Times, string? When);

    /// <summary>
    /// The text of the call's last turn (system turns aside) when it is the user's own (Anthropic messages, chat
    /// completions, Responses input): null when that turn carries a tool's result (the CLI continuing its own turn)
    /// or the API is another.
    /// </summary>
    private static string? LastUserText(MockApi api, JsonNode? body)
    {
        var turns = api switch
        {
            MockApi.Anthropic or MockApi.ChatCompletions => body?["messages"] as JsonArray,
            MockApi.Responses => body?["input"] as JsonArray,
            _ => null,
        };
        // the last turn that is not a system one (claude puts its environment in a system message after the user's)
        var last = turns?.OfType<JsonObject>().LastOrDefault(t => t["role"]?.GetValue<string>() is not ("system" or "developer"));
        if (last is null || last["role"]?.GetValue<string>() != "user")
        {
            return null;
        }

        switch (last["content"])
        {
            case JsonValue text when text.GetValueKind() == JsonValueKind.String:
                return text.GetValue<string>();
            case JsonArray parts:
                var sb = new System.Text.StringBuilder();
                foreach (var part in parts.OfType<JsonObject>())
                {
                    var type = part["type"]?.GetValue<string>();
                    if (type is "tool_result" or "function_call_output")
                    {
                        return null;
                    }

                    if (type is "text" or "input_text" && part["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String)
                    {
                        sb.Append(t.GetValue<string>()).Append('\n');
                    }
                }

                return sb.ToString();
            default:
                return null;
        }
    }

    /// <summary>A request's body as the test sees it: the first 256 KiB of its JSON.</summary>
    private static string? Bounded(string? json) => json is { Length: > 256 * 1024 } ? json[..(256 * 1024)] : json;
}

/// <summary>One server-sent event (or, for a non-streaming call, the whole JSON body in <see cref="Data"/>).</summary>
internal sealed record SseEvent(string? Event, string Data);

/// <summary>The answers in each API's wire format.</summary>
internal static class Wire
{
    private static string J(object value) => MockServer.Json(value);

    public static List<SseEvent> Anthropic(MockReply reply, string model, int id, bool stream)
    {
        var (input, output) = reply switch
        {
            TextReply t => (t.InputTokens, t.OutputTokens),
            ToolReply t => (t.InputTokens, t.OutputTokens),
            _ => (1, 1),
        };
        var cached = reply is TextReply tr ? tr.CachedTokens : 0;
        var msgId = $"msg_mock{id}";
        if (!stream)
        {
            object content = reply is ToolReply tool
                ? new object[] { new { type = "tool_use", id = $"toolu_mock{id}", name = tool.Name, input = JsonNode.Parse(tool.ArgumentsJson) } }
                : new object[] { new { type = "text", text = ((TextReply)reply).Content } };
            return
            [
                new(null, J(new
                {
                    id = msgId, type = "message", role = "assistant", model, content,
                    stop_reason = reply is ToolReply ? "tool_use" : "end_turn", stop_sequence = (string?)null,
                    usage = new { input_tokens = input, output_tokens = output, cache_read_input_tokens = cached, cache_creation_input_tokens = 0 },
                })),
            ];
        }

        var events = new List<SseEvent>
        {
            new("message_start", J(new
            {
                type = "message_start",
                message = new
                {
                    id = msgId, type = "message", role = "assistant", model, content = Array.Empty<object>(),
                    stop_reason = (string?)null, stop_sequence = (string?)null,
                    usage = new { input_tokens = input, output_tokens = 1, cache_read_input_tokens = cached, cache_creation_input_tokens = 0 },
                },
            })),
        };
        if (reply is ToolReply call)
        {
            events.Add(new("content_block_start", J(new { type = "content_block_start", index = 0, content_block = new { type = "tool_use", id = $"toolu_mock{id}", name = call.Name, input = new { } } })));
            events.Add(new("content_block_delta", J(new { type = "content_block_delta", index = 0, delta = new { type = "input_json_delta", partial_json = call.ArgumentsJson } })));
        }
        else
        {
            events.Add(new("content_block_start", J(new { type = "content_block_start", index = 0, content_block = new { type = "text", text = string.Empty } })));
            events.Add(new("content_block_delta", J(new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = ((TextReply)reply).Content } })));
        }

        events.Add(new("content_block_stop", J(new { type = "content_block_stop", index = 0 })));
        events.Add(new("message_delta", J(new { type = "message_delta", delta = new { stop_reason = reply is ToolReply ? "tool_use" : "end_turn", stop_sequence = (string?)null }, usage = new { output_tokens = output } })));
        events.Add(new("message_stop", J(new { type = "message_stop" })));
        return events;
    }

    public static List<SseEvent> Responses(MockReply reply, string model, int id)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var respId = $"resp_mock{id}";
        var (input, output, cached) = reply switch
        {
            TextReply t => (t.InputTokens, t.OutputTokens, t.CachedTokens),
            ToolReply t => (t.InputTokens, t.OutputTokens, 0),
            _ => (1, 1, 0),
        };
        object item = reply is ToolReply tool
            ? new { id = $"fc_mock{id}", type = "function_call", status = "completed", call_id = $"call_mock{id}", name = tool.Name, arguments = tool.ArgumentsJson }
            : new
            {
                id = $"msg_mock{id}",
                type = "message",
                role = "assistant",
                status = "completed",
                content = new object[] { new { type = "output_text", text = ((TextReply)reply).Content, annotations = Array.Empty<object>() } },
            };
        var usage = new
        {
            input_tokens = input,
            input_tokens_details = new { cached_tokens = cached },
            output_tokens = output,
            output_tokens_details = new { reasoning_tokens = 0 },
            total_tokens = input + output,
        };
        var events = new List<SseEvent>
        {
            new("response.created", J(new { type = "response.created", response = new { id = respId, @object = "response", created_at = created, status = "in_progress", model, output = Array.Empty<object>() } })),
        };
        if (reply is TextReply text)
        {
            events.Add(new("response.output_item.added", J(new
            {
                type = "response.output_item.added",
                output_index = 0,
                item = new { id = $"msg_mock{id}", type = "message", role = "assistant", status = "in_progress", content = Array.Empty<object>() },
            })));
            events.Add(new("response.output_text.delta", J(new { type = "response.output_text.delta", item_id = $"msg_mock{id}", output_index = 0, content_index = 0, delta = text.Content })));
        }

        events.Add(new("response.output_item.done", J(new { type = "response.output_item.done", output_index = 0, item })));
        events.Add(new("response.completed", J(new
        {
            type = "response.completed",
            response = new { id = respId, @object = "response", created_at = created, status = "completed", model, output = new[] { item }, usage },
        })));
        return events;
    }

    public static List<SseEvent> Chat(MockReply reply, string model, int id, bool stream)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var chatId = $"chatcmpl-mock{id}";
        var (input, output, cached) = reply switch
        {
            TextReply t => (t.InputTokens, t.OutputTokens, t.CachedTokens),
            ToolReply t => (t.InputTokens, t.OutputTokens, 0),
            _ => (1, 1, 0),
        };
        var usage = new { prompt_tokens = input, completion_tokens = output, total_tokens = input + output, prompt_tokens_details = new { cached_tokens = cached } };
        var finish = reply is ToolReply ? "tool_calls" : "stop";
        if (!stream)
        {
            object message = reply is ToolReply tool
                ? new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = $"call_mock{id}", type = "function", function = new { name = tool.Name, arguments = tool.ArgumentsJson } } } }
                : new { role = "assistant", content = (string?)((TextReply)reply).Content, tool_calls = (object[]?)null };
            return [new(null, J(new { id = chatId, @object = "chat.completion", created, model, choices = new[] { new { index = 0, message, finish_reason = finish } }, usage }))];
        }

        object delta = reply is ToolReply call
            ? new { role = "assistant", tool_calls = new[] { new { index = 0, id = $"call_mock{id}", type = "function", function = new { name = call.Name, arguments = call.ArgumentsJson } } } }
            : new { role = "assistant", content = ((TextReply)reply).Content };
        return
        [
            new(null, J(new { id = chatId, @object = "chat.completion.chunk", created, model, choices = new[] { new { index = 0, delta, finish_reason = (string?)null } } })),
            new(null, J(new { id = chatId, @object = "chat.completion.chunk", created, model, choices = new[] { new { index = 0, delta = new { }, finish_reason = (string?)finish } } })),
            new(null, J(new { id = chatId, @object = "chat.completion.chunk", created, model, choices = Array.Empty<object>(), usage })),
            new(null, "[DONE]"),
        ];
    }

    public static List<SseEvent> Gemini(MockReply reply, string model, bool stream)
    {
        var (input, output, cached) = reply switch
        {
            TextReply t => (t.InputTokens, t.OutputTokens, t.CachedTokens),
            ToolReply t => (t.InputTokens, t.OutputTokens, 0),
            _ => (1, 1, 0),
        };
        object part = reply is ToolReply tool
            ? new { functionCall = new { name = tool.Name, args = JsonNode.Parse(tool.ArgumentsJson) } }
            : new { text = ((TextReply)reply).Content };
        var usage = new { promptTokenCount = input, candidatesTokenCount = output, totalTokenCount = input + output, cachedContentTokenCount = cached };
        var whole = J(new
        {
            candidates = new[] { new { content = new { parts = new[] { part }, role = "model" }, finishReason = "STOP", index = 0 } },
            usageMetadata = usage,
            modelVersion = model,
        });
        return stream ? [new(null, whole)] : [new(null, whole)];
    }
}

/// <summary>Small helpers for tests that read a recorded request.</summary>
public static class RecordedRequestExtensions
{
    public static string Describe(this RecordedRequest r) =>
        new StringBuilder().Append(r.Api).Append(' ').Append(r.Path).Append(" model=").Append(r.Model).Append(" reply=").Append(r.Reply.GetType().Name).ToString();
}
