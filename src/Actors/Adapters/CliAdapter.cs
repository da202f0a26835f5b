namespace DarkFactory.Actors.Adapters;

/// <summary>The provider a run talks to, with its key already resolved from the daemon's environment (a secret).</summary>
/// <param name="Name">fleet.yaml <c>providers[].name</c>.</param>
/// <param name="BaseUrl">The API's root URL (<c>providers[].base_url</c>); null: the CLI's default endpoint.</param>
/// <param name="ApiKey">The key's value; null when the provider declares no <c>api_key_env</c>.</param>
public sealed record ResolvedProvider(string Name, string? BaseUrl, string? ApiKey)
{
    public override string ToString() => $"ResolvedProvider {{ Name = {Name}, BaseUrl = {BaseUrl}, ApiKey = {(ApiKey is null ? "none" : "***")} }}";
}

/// <summary>What an adapter needs to build one run's command line, environment and config files.</summary>
/// <param name="Prompt">The task text.</param>
/// <param name="Model">The model for this run (agent's, else the provider's); null: the CLI's default.</param>
/// <param name="RunDirectory">The run's private directory (its TMPDIR); removed after the run.</param>
public sealed record AdapterContext(AgentSpec Spec, string Prompt, string? Model, ResolvedProvider? Provider, string RunDirectory)
{
    /// <summary>The per-run HOME the CLI keeps its state and config in.</summary>
    public string Home => Path.Combine(RunDirectory, "home");

    /// <summary>The run's process runs as root (claude refuses its bypass mode as root unless told it is sandboxed).</summary>
    public bool AsRoot { get; init; }

    /// <summary>The CLI session this run resumes (its conversation is restored into <see cref="Home"/> first); null: a fresh one.</summary>
    public string? Session { get; init; }
}

/// <summary>A config file the run needs, written before the process starts (absolute path inside the run directory).</summary>
public sealed record RunFile(string Path, string Content);

/// <summary>What an adapter makes of a run: argv (argv[0] is the program), extra environment, config files.</summary>
public sealed record AdapterLaunch(IReadOnlyList<string> Argv, IReadOnlyDictionary<string, string> Environment, IReadOnlyList<RunFile> Files);

/// <summary>Tokens (and cost, when the CLI reports one) of a model call or a run, as one output line reported them.</summary>
public sealed record TokenUsage(long InputTokens, long OutputTokens, long CachedInputTokens = 0, decimal? CostUsd = null, string? Model = null);

/// <summary>A rate limit or quota refusal a structured event reported.</summary>
/// <param name="ResetAt">When the provider said it resets; null when it did not say.</param>
public sealed record RateLimitInfo(string Reason, DateTimeOffset? ResetAt);

/// <summary>What one output line means, with its typed details where it carries them.</summary>
/// <param name="Success">For a final result: did the run succeed.</param>
public readonly record struct LineDetails(OutputKind Kind, TokenUsage? Usage = null, RateLimitInfo? Limit = null, bool? Success = null)
{
    public static readonly LineDetails Text = new(OutputKind.Text);
}

/// <summary>A line's part of a run's reply: message text (a delta is appended to the message before it) and the session id.</summary>
public readonly record struct RunReply(string? Text, string? SessionId = null, bool Delta = false);

/// <summary>
/// One CLI kind: how to launch it headless against a provider, and how to read its machine-readable
/// output. Pure: no I/O (files are returned, the ProcessActor writes them), no clock (passed in).
/// </summary>
public abstract class CliAdapter
{
    public abstract string Kind { get; }

    /// <summary>The headless command line for a task (used when the agent declares no <c>command</c>).</summary>
    public abstract IReadOnlyList<string> Argv(AdapterContext context);

    /// <summary>Environment and config files that point the CLI at its provider, quietly (no telemetry, no updates).</summary>
    public abstract (IReadOnlyDictionary<string, string> Environment, IReadOnlyList<RunFile> Files) Configure(AdapterContext context);

    /// <summary>Kind of a line, cheaply; on the capture path for every line.</summary>
    public virtual OutputKind Classify(OutputStream stream, string line) => Parse(stream, line, DateTimeOffset.UnixEpoch).Kind;

    /// <summary>Kind and typed details of a line. <paramref name="now"/> turns relative reset times into absolute ones.</summary>
    public abstract LineDetails Parse(OutputStream stream, string line, DateTimeOffset now);

    /// <summary>A line of a CLI that writes one JSON object a line: what <paramref name="parsed"/> makes of the object, plain text when the line is none.</summary>
    protected static LineDetails JsonLine(string line, DateTimeOffset now, Func<JsonElement, DateTimeOffset, LineDetails> parsed) =>
        Json.Read<LineDetails>(line, root => parsed(root, now)) ?? LineDetails.Text;

    /// <summary>A limit the exit code alone reveals (gemini exits with the HTTP status &amp; 0xFF); null when none.</summary>
    public virtual RateLimitInfo? LimitFromExit(int exitCode) => null;

    /// <summary>
    /// What a line says of the run's reply: the text of its (final) message and the CLI's session id (which a
    /// later run can resume); null when it says neither. <see cref="RunTranscript"/> folds these.
    /// </summary>
    public virtual RunReply? Reply(string line) => null;

    /// <summary>
    /// The directory in which the CLI keeps its conversations (inside <see cref="AdapterContext.Home"/>), which a later
    /// run restores to resume one (<see cref="AdapterContext.Session"/>); null when this CLI is not resumed (the run
    /// then starts fresh, its task carrying the handoff).
    /// </summary>
    public virtual string? SessionState(AdapterContext context) => null;

    /// <summary>Adds the CLI's model option (<paramref name="option"/> MODEL) when the run names a model.</summary>
    protected static void AddModel(List<string> argv, string option, string? model)
    {
        if (!string.IsNullOrEmpty(model))
        {
            argv.Add(option);
            argv.Add(model);
        }
    }

    /// <summary>Quiet settings every AI CLI run gets, provider or not.</summary>
    protected static void Quiet(Dictionary<string, string> env, AdapterContext context)
    {
        env["NO_UPDATE_NOTIFIER"] = "1";
        env["DO_NOT_TRACK"] = "1";
        if (context.Provider is not null)
        {
            // own HOME and XDG dirs: the CLI's state, caches and config stay inside the run directory
            env["HOME"] = context.Home;
            env["XDG_CONFIG_HOME"] = Path.Combine(context.Home, ".config");
            env["XDG_DATA_HOME"] = Path.Combine(context.Home, ".local", "share");
            env["XDG_CACHE_HOME"] = Path.Combine(context.Home, ".cache");
            env["XDG_STATE_HOME"] = Path.Combine(context.Home, ".local", "state");
        }
    }

    /// <summary>The base URL with a trailing <c>/v1</c> (or other version segment) removed: the form claude and gemini want.</summary>
    protected static string Root(string baseUrl)
    {
        var url = baseUrl.TrimEnd('/');
        var slash = url.LastIndexOf('/');
        if (slash > "https://".Length && IsVersion(url.AsSpan(slash + 1)))
        {
            url = url[..slash];
        }

        return url;
    }

    /// <summary>The base URL ending in a version segment (<c>/v1</c> added when missing): the form the OpenAI SDKs want.</summary>
    protected static string Versioned(string baseUrl)
    {
        var url = baseUrl.TrimEnd('/');
        var slash = url.LastIndexOf('/');
        return slash > "https://".Length && IsVersion(url.AsSpan(slash + 1)) ? url : url + "/v1";
    }

    private static bool IsVersion(ReadOnlySpan<char> segment) =>
        segment.Length >= 2 && segment[0] == 'v' && char.IsAsciiDigit(segment[1]);
}
