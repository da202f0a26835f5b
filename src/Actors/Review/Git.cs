using CliWrap;
using DarkFactory.Actors.Processes;

namespace DarkFactory.Actors.Review;

/// <summary>The result of one helper command: exit code and its (bounded) output.</summary>
public sealed record CommandOutput(int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;
}

public sealed class GitException(string message) : Exception(message);

/// <summary>
/// Runs the git CLI (through CliWrap) for the review's helper commands, hardened by <see cref="SafeGit"/>:
/// a replaced environment (no secrets, neutral global config, no prompts), command-line overrides that beat
/// the repository's config (no fsmonitor, hooks, credential helpers, custom ssh), and every filter, diff
/// and merge driver of the effective config emptied. Output is bounded so a huge history never fills memory.
/// </summary>
public static class Git
{
    /// <summary>Upper bound of captured stdout per command.</summary>
    public const int MaxOutputChars = 8 * 1024 * 1024;

    private static readonly Dictionary<string, string> Hardened = SafeGit.Environment(System.Environment.GetEnvironmentVariable("PATH"));

    public static Task<CommandOutput> RunAsync(string directory, IReadOnlyList<string> args, CancellationToken ct = default, int maxChars = MaxOutputChars) =>
        RunAsync(directory, args, null, ct, maxChars);

    /// <param name="environment">Variables added to the hardened environment for this command only (the forge token of a push).</param>
    public static async Task<CommandOutput> RunAsync(string directory, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment, CancellationToken ct = default, int maxChars = MaxOutputChars)
    {
        // built per command: the removal list is whatever this process holds now
        var quiet = ChildEnvironment.Exactly(Hardened);
        IReadOnlyList<string> drivers = [];
        var at = SafeGit.SubcommandIndex(args);
        if (at < args.Count && !SafeGit.DriverFree.Contains(args[at]))
        {
            // the same repository (its leading --git-dir / --work-tree) as the command itself
            var names = await ExecuteAsync(directory, [.. args.Take(at), "config", "--name-only", "--get-regexp", SafeGit.DriverKeys], quiet, 1024 * 1024, ct);
            drivers = SafeGit.Neutralise(names.Stdout);
        }

        var env = quiet;
        if (environment is { Count: > 0 })
        {
            var merged = new Dictionary<string, string?>(quiet, StringComparer.Ordinal);
            foreach (var (key, value) in environment)
            {
                merged[key] = value;
            }

            env = merged;
        }

        return await ExecuteAsync(directory, [.. SafeGit.Overrides, .. drivers, .. args], env, maxChars, ct);
    }

    private static async Task<CommandOutput> ExecuteAsync(string directory, IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment, int maxChars, CancellationToken ct)
    {
        var stdout = new BoundedText(maxChars);
        var stderr = new BoundedText(64 * 1024);
        var result = await Cli.Wrap("git")
            .WithArguments(["-C", directory, .. args])
            .WithEnvironmentVariables(environment)
            .WithValidation(CommandResultValidation.None)
            .WithStandardInputPipe(PipeSource.Null)
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
