using DarkFactory.Actors.Processes;

namespace DarkFactory.Actors.Adapters;

/// <summary>A planned run: the launch plan, the adapter that reads its output (null for plain commands), and where it goes.</summary>
public sealed record RunLaunch(LaunchPlan Plan, CliAdapter? Adapter, string? Provider, string? Model);

/// <summary>
/// Builds an agent's headless command line for its CLI kind, and classifies its output lines. The
/// generic <c>command</c> kind runs its argv as declared, its output plain text. The AI CLIs get their
/// documented headless, machine-readable invocation and the environment / config files that point them
/// at their provider (see FACTS.md); a declared <c>command</c> overrides the argv only.
/// </summary>
public static class CliAdapters
{
    private static readonly ClaudeAdapter Claude = new();
    private static readonly CodexAdapter Codex = new();
    private static readonly OpenCodeAdapter OpenCode = new();
    private static readonly GeminiAdapter Gemini = new();

    /// <summary>The adapter of a CLI kind; null for the generic command kind.</summary>
    public static CliAdapter? For(string cli) => cli switch
    {
        CliCatalog.Claude => Claude,
        CliCatalog.Codex => Codex,
        CliCatalog.OpenCode => OpenCode,
        CliCatalog.Gemini => Gemini,
        _ => null,
    };

    public static IReadOnlyList<string> BuildArgv(AgentSpec spec, string? task, string? model)
    {
        if (spec.Command.Count > 0)
        {
            return spec.Command;
        }

        var adapter = For(spec.Cli);
        return adapter is null ? [] : adapter.Argv(new AdapterContext(spec, task ?? spec.Task ?? string.Empty, model, null, string.Empty) { AsRoot = Native.IsRoot });
    }

    /// <summary>
    /// The largest prompt (UTF-8 bytes) an AI CLI gets on its command line: Linux refuses one argument over
    /// 128 KiB (E2BIG). A larger task is in the run's task file, and the command line asks the CLI to read it.
    /// </summary>
    public const int PromptArgumentLimit = 96 * 1024;

    /// <summary>The prompt as the command line carries it: the task itself, or for a task too large for one argument, where to read it.</summary>
    public static string CommandLinePrompt(string? prompt, string taskFile) =>
        prompt is null ? string.Empty
        : prompt.Length <= PromptArgumentLimit / 3 || System.Text.Encoding.UTF8.GetByteCount(prompt) <= PromptArgumentLimit ? prompt
        : $"Your task is too long for the command line ({System.Text.Encoding.UTF8.GetByteCount(prompt)} bytes). It is in the file {taskFile} (also in $DF_TASK_FILE): read that whole file first and do what it says.";

    /// <summary>The program an agent needs on PATH, or null when its argv names an explicit path.</summary>
    public static string? RequiredBinary(AgentSpec spec) =>
        spec.Command.Count > 0 ? spec.Command[0] : CliCatalog.Known.TryGetValue(spec.Cli, out var info) ? info.Binary : null;

    /// <summary>
    /// Line classifier for a CLI kind, run on the capture path for every line. Plain commands: text, at
    /// full speed (what a text line means is Nightwatch's business, off the capture path). The AI CLIs'
    /// structured events are classified by their adapters.
    /// </summary>
    public static Func<OutputStream, string, OutputKind> Classifier(string cli) => For(cli) is { } adapter ? adapter.Classify : PlainText;

    /// <summary>The plain commands' classifier: every line is text, so the capture path keeps a batch's lines as bytes (<see cref="LineBatch"/>).</summary>
    public static readonly Func<OutputStream, string, OutputKind> PlainText = (_, _) => OutputKind.Text;

    /// <summary>
    /// The provider of an agent's run: the one it names, else the preferred (lowest priority, then first
    /// declared) provider of its CLI kind; null when none fits (the CLI then uses its own login and endpoint).
    /// </summary>
    public static ProviderSpec? ProviderFor(AgentSpec spec, IReadOnlyList<ProviderSpec>? providers)
    {
        if (providers is null || providers.Count == 0 || spec.Cli == CliCatalog.Command)
        {
            return null;
        }

        if (spec.Provider is { } name)
        {
            return providers.FirstOrDefault(p => p.Name == name);
        }

        ProviderSpec? best = null;
        foreach (var p in providers)
        {
            if (p.Cli == spec.Cli && (best is null || p.Priority < best.Priority))
            {
                best = p;
            }
        }

        return best;
    }

    /// <summary>
    /// Plans one run: the adapter's argv (unless the agent declares a command), its environment and config
    /// files for <paramref name="provider"/> (the key resolved from the daemon's environment, added to
    /// <paramref name="secrets"/> for redaction), and the launch plan around them. AI CLIs get no stdin
    /// (codex and opencode wait for end of input otherwise; the task is on the command line).
    /// </summary>
    /// <exception cref="AgentMisconfiguredException">The provider's key variable is not set, or the launch plan fails.</exception>
    public static RunLaunch Plan(
        AgentSpec spec,
        string? task,
        ProviderSpec? provider,
        string? model,
        string runId,
        DaemonContext daemon,
        IReadOnlyDictionary<string, string?> environment,
        Func<string, string?> readSecretFile,
        ICollection<string> secrets,
        SessionPlan? session = null,
        bool standby = false)
    {
        var adapter = For(spec.Cli);
        var prompt = task ?? spec.Task;
        if (adapter is null)
        {
            var argv = BuildArgv(spec, task, model);
            return new RunLaunch(LaunchPlanner.Plan(spec, argv, prompt, runId, daemon, environment, readSecretFile, secrets, standby: standby), null, null, null);
        }

        model ??= provider?.Model;
        ResolvedProvider? resolved = null;
        if (provider is not null)
        {
            string? key = null;
            if (provider.ApiKeyEnv is { } variable)
            {
                key = environment.TryGetValue(variable, out var v) ? v : null;
                if (string.IsNullOrEmpty(key))
                {
                    throw new AgentMisconfiguredException(spec.Name, $"provider '{provider.Name}': environment variable {variable} (providers[].api_key_env) is not set");
                }

                secrets.Add(key);
            }

            resolved = new ResolvedProvider(provider.Name, provider.BaseUrl, key);
        }

        var runDirectory = LaunchPlanner.RunDirectory(daemon, spec.Name, runId);
        var context = new AdapterContext(spec, CommandLinePrompt(prompt, LaunchPlanner.TaskFile(daemon, spec.Name, runId)), model, resolved, runDirectory) { AsRoot = Native.IsRoot };
        var kept = session is not null && spec.Command.Count == 0 && adapter.SessionState(context) is { } state
            ? new RunSession(state, RunSessions.KeepOf(runDirectory, runId), session.Resume is { } r && RunSessions.IsSessionId(r.SessionId) ? RunSessions.Kept(runDirectory, r.FromRunId) : null)
            : null;
        if (kept?.Restore is not null)
        {
            context = context with { Session = session!.Resume!.SessionId };
        }

        var (env, files) = adapter.Configure(context);
        var command = spec.Command.Count > 0 ? spec.Command : adapter.Argv(context);
        var plan = LaunchPlanner.Plan(spec, command, prompt, runId, daemon, environment, readSecretFile, secrets, env);
        plan = plan with { Stdin = null, Files = [.. plan.Files, .. files], Session = kept };
        return new RunLaunch(plan, adapter, provider?.Name, model);
    }
}

/// <summary>A run whose CLI conversation is kept for a later run (a project task's), and the one it continues, if any.</summary>
public sealed record SessionPlan(SessionResume? Resume);
