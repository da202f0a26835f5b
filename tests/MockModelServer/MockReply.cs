namespace DarkFactory.MockModelServer;

/// <summary>The wire protocols the mock speaks, one per path family.</summary>
public enum MockApi
{
    /// <summary>Anthropic Messages, <c>POST /v1/messages</c> (claude).</summary>
    Anthropic,

    /// <summary>OpenAI Responses, <c>POST /v1/responses</c> (codex).</summary>
    Responses,

    /// <summary>OpenAI Chat Completions, <c>POST /v1/chat/completions</c> (opencode).</summary>
    ChatCompletions,

    /// <summary>Gemini <c>:generateContent</c> / <c>:streamGenerateContent</c> (gemini).</summary>
    Gemini,
}

/// <summary>What the mock answers to one model call.</summary>
public abstract record MockReply
{
    /// <summary>A text answer with these usage numbers.</summary>
    public static MockReply Answer(string text, int inputTokens = 12, int outputTokens = 5, int cachedTokens = 0) =>
        new TextReply(text, inputTokens, outputTokens, cachedTokens);

    /// <summary>A call of tool <paramref name="name"/> with these JSON arguments; the CLI runs it and calls again.</summary>
    public static MockReply Tool(string name, string argumentsJson, int inputTokens = 20, int outputTokens = 8) =>
        new ToolReply(name, argumentsJson, inputTokens, outputTokens);

    /// <summary>HTTP 429 with the reset time in headers (retry-after, *-reset) and body (RetryInfo / message).</summary>
    public static MockReply RateLimited(TimeSpan retryAfter) => new RateLimitReply(retryAfter);

    /// <summary>An HTTP error status with the API's error body.</summary>
    public static MockReply Error(int status) => new StatusReply(status);

    /// <summary>Never answers (the request stays open until the client gives up or the server stops).</summary>
    public static MockReply Hang() => new HangReply();
}

public sealed record TextReply(string Content, int InputTokens, int OutputTokens, int CachedTokens) : MockReply;

public sealed record ToolReply(string Name, string ArgumentsJson, int InputTokens, int OutputTokens) : MockReply;

public sealed record RateLimitReply(TimeSpan RetryAfter) : MockReply;

public sealed record StatusReply(int Code) : MockReply;

public sealed record HangReply : MockReply;

/// <summary>One request the mock received. Header names only, never values (no key ever reaches a log or a test failure).</summary>
public sealed record RecordedRequest(
    DateTimeOffset At,
    MockApi Api,
    string Method,
    string Path,
    string? Model,
    bool Stream,
    bool Authenticated,
    IReadOnlyList<string> HeaderNames,
    IReadOnlyList<string> ToolNames,
    MockReply Reply)
{
    /// <summary>The request's JSON body (its first 256 KiB): what the CLI sent, its conversation included.</summary>
    public string? Body { get; init; }
}
