using System.Text;
using CliWrap;

namespace DarkFactory.Actors.Review;

/// <summary>The result of one helper command: exit code and its (bounded) output.</summary>
public sealed record CommandOutput(int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;
}

public sealed class GitException(string message) : Exception(message);

/// <summary>
/// Runs the git CLI (through CliWrap) for the review's helper commands. Hooks and interactive prompts are
/// off; output is bounded so a huge history never fills memory.
/// </summary>
public static class Git
{
    /// <summary>Upper bound of captured stdout per command.</summary>
    public const int MaxOutputChars = 8 * 1024 * 1024;

    private static readonly IReadOnlyDictionary<string, string?> QuietEnvironment = new Dictionary<string, string?>
    {
        ["GIT_TERMINAL_PROMPT"] = "0",
        ["GIT_ASKPASS"] = "true",
        ["GIT_EDITOR"] = "true",
        ["LC_ALL"] = "C",
    };

    public static async Task<CommandOutput> RunAsync(string directory, IReadOnlyList<string> args, CancellationToken ct = default, int maxChars = MaxOutputChars)
    {
        var stdout = new BoundedText(maxChars);
        var stderr = new BoundedText(64 * 1024);
        var result = await Cli.Wrap("git")
            .WithArguments(["-C", directory, .. args])
            .WithEnvironmentVariables(QuietEnvironment)
            .WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(stdout.AppendLine))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(stderr.AppendLine))
            .ExecuteAsync(ct);
        return new CommandOutput(result.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs git and throws a <see cref="GitException"/> naming the command when it fails.</summary>
    public static async Task<string> RequireAsync(string directory, IReadOnlyList<string> args, CancellationToken ct = default)
    {
        var r = await RunAsync(directory, args, ct);
        if (!r.Ok)
        {
            throw new GitException($"git {string.Join(' ', args)} in {directory} failed ({r.ExitCode}): {r.Stderr.Trim()}");
        }

        return r.Stdout;
    }
}

/// <summary>Text that keeps its first <c>max</c> characters (or, with <c>tail</c>, its last ones).</summary>
public sealed class BoundedText(int max, bool tail = false)
{
    private readonly StringBuilder _text = new();
    private bool _truncated;

    public void AppendLine(string line)
    {
        lock (_text)
        {
            if (!tail && _text.Length >= max)
            {
                _truncated = true;
                return;
            }

            _text.Append(line).Append('\n');
            if (tail && _text.Length > max)
            {
                _text.Remove(0, _text.Length - max);
                _truncated = true;
            }
        }
    }

    public override string ToString()
    {
        lock (_text)
        {
            return _truncated && tail ? "[...]\n" + _text : _text.ToString();
        }
    }
}
