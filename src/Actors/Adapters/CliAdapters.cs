using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Actors.Adapters;

/// <summary>
/// Builds an agent's headless command line for its CLI kind, and classifies its output lines. The
/// generic <c>command</c> kind runs its argv as declared. The AI CLIs get their documented headless,
/// machine-readable invocation (see FACTS.md); a declared <c>command</c> overrides it.
/// </summary>
public static class CliAdapters
{
    public static IReadOnlyList<string> BuildArgv(AgentSpec spec, string? task, string? model)
    {
        if (spec.Command.Count > 0)
        {
            return spec.Command;
        }

        var prompt = task ?? spec.Task ?? string.Empty;
        var argv = spec.Cli switch
        {
            CliCatalog.Claude => new List<string> { "claude", "-p", prompt, "--output-format", "stream-json", "--verbose" },
            CliCatalog.Codex => ["codex", "exec", "--json", "--skip-git-repo-check"],
            CliCatalog.OpenCode => ["opencode", "run", "--format", "json"],
            CliCatalog.Gemini => ["gemini", "-p", prompt, "--output-format", "stream-json"],
            _ => [],
        };
        if (!string.IsNullOrEmpty(model) && spec.Cli != CliCatalog.Command)
        {
            argv.Add(spec.Cli == CliCatalog.Codex ? "-m" : "--model");
            argv.Add(model);
        }

        if (spec.Cli is CliCatalog.Codex or CliCatalog.OpenCode)
        {
            argv.Add(prompt);
        }

        return argv;
    }

    /// <summary>The program an agent needs on PATH, or null when its argv names an explicit path.</summary>
    public static string? RequiredBinary(AgentSpec spec) =>
        spec.Command.Count > 0 ? spec.Command[0] : CliCatalog.Known.TryGetValue(spec.Cli, out var info) ? info.Binary : null;

    /// <summary>
    /// Line classifier for a CLI kind, run on the capture path for every line. Plain text is text:
    /// what a line means (an error, a loop, a rate limit) is Nightwatch's business, with configurable
    /// patterns, off the capture path. The AI CLIs' structured events are parsed by their adapters.
    /// </summary>
    public static Func<OutputStream, string, OutputKind> Classifier(string cli) => PlainText;

    private static OutputKind PlainText(OutputStream stream, string line) => OutputKind.Text;
}
