namespace DarkFactory.Messages.Fleet;

/// <summary>
/// What Dark Factory knows about each CLI kind: its binary, the one command that installs it, and the version
/// the tests run (the same pins as .ci/install-clis, README and the Dockerfile; a test keeps them equal).
/// </summary>
public sealed record CliInfo(string Kind, string? Binary, string? NpmPackage, string? TestedVersion = null)
{
    /// <summary>The one command an operator runs to install the CLI; null for the generic command kind.</summary>
    public string? InstallCommand => NpmPackage is null ? null : $"npm install -g {NpmPackage}";
}

public static class CliCatalog
{
    public const string Command = "command";
    public const string Claude = "claude";
    public const string Codex = "codex";
    public const string OpenCode = "opencode";
    public const string Gemini = "gemini";

    public static readonly IReadOnlyDictionary<string, CliInfo> Known = new Dictionary<string, CliInfo>(StringComparer.Ordinal)
    {
        [Command] = new(Command, null, null),
        [Claude] = new(Claude, "claude", "@anthropic-ai/claude-code", "2.1.328"),
        [Codex] = new(Codex, "codex", "@openai/codex", "0.169.0"),
        [OpenCode] = new(OpenCode, "opencode", "opencode-ai", "1.18.33"),
        [Gemini] = new(Gemini, "gemini", "@google/gemini-cli", "0.61.0"),
    };

    public static bool IsKnown(string kind) => Known.ContainsKey(kind);
}
