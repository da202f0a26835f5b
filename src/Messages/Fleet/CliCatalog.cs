namespace DarkFactory.Messages.Fleet;

/// <summary>What Dark Factory knows about each CLI kind: its binary and the one command that installs it.</summary>
public sealed record CliInfo(string Kind, string? Binary, string? NpmPackage)
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
        [Claude] = new(Claude, "claude", "@anthropic-ai/claude-code"),
        [Codex] = new(Codex, "codex", "@openai/codex"),
        [OpenCode] = new(OpenCode, "opencode", "opencode-ai"),
        [Gemini] = new(Gemini, "gemini", "@google/gemini-cli"),
    };

    public static bool IsKnown(string kind) => Known.ContainsKey(kind);
}
