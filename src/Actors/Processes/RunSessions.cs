using System.Text.RegularExpressions;

namespace DarkFactory.Actors.Processes;

/// <summary>
/// What a run keeps of its CLI's conversation so a later run of the same agent can resume it (claude
/// <c>--resume</c>, <c>codex exec resume</c>): the CLI's session directory inside the run's private HOME.
/// </summary>
/// <param name="State">The CLI's session directory inside the run directory (claude's <c>$CLAUDE_CONFIG_DIR/projects</c>).</param>
/// <param name="Keep">Where it is moved when the run ends: <c>&lt;agent's run root&gt;/.sessions/&lt;run id&gt;</c>.</param>
/// <param name="Restore">An earlier run's kept directory, moved into <paramref name="State"/> before the spawn (a resumed run); null for a fresh one.</param>
public sealed record RunSession(string State, string Keep, string? Restore);

/// <summary>
/// Keeps CLI conversations between runs of an agent, outside the daemon's data directory (under the runs' root,
/// which a start empties: a conversation does not outlive its daemon). Each step is a rename (no copy, nothing
/// read), refused when any directory between the run directory and the session directory is a symbolic link (the
/// run's own code could have planted one to move something of the daemon's); at most
/// <see cref="KeptPerAgent"/> conversations are kept per agent, the oldest dropped.
/// A session id reaches a CLI's command line only when it has the shape of one (<see cref="IsSessionId"/>): it is
/// the run's own output, and one starting with a dash would be a flag.
/// </summary>
public static partial class RunSessions
{
    public const string Directory = ".sessions";

    public const int KeptPerAgent = 4;

    /// <summary>Where the run <paramref name="runId"/> of the agent whose run directory is <paramref name="runDirectory"/> keeps its conversation.</summary>
    public static string KeepOf(string runDirectory, string runId) =>
        Path.Combine(Path.GetDirectoryName(runDirectory)!, Directory, runId);

    /// <summary>A CLI session id: letters, digits, <c>-_.:</c>, starting with a letter or digit, at most 128 characters.</summary>
    public static bool IsSessionId(string? id) => id is not null && SessionId().IsMatch(id);

    /// <summary>A run id the daemon made (<c>RunLauncher.NewRunId</c>'s shape): no path can be made of it.</summary>
    public static bool IsRunId(string? id) => id is not null && RunId().IsMatch(id);

    /// <summary>The kept conversation of run <paramref name="fromRunId"/>, when there is one to resume.</summary>
    public static string? Kept(string runDirectory, string fromRunId) =>
        IsRunId(fromRunId) && System.IO.Directory.Exists(KeepOf(runDirectory, fromRunId)) ? KeepOf(runDirectory, fromRunId) : null;

    /// <summary>Before the spawn: the earlier run's conversation moved into this run's HOME (nothing when it is gone).</summary>
    public static void Restore(RunSession session)
    {
        if (session.Restore is not { } kept || !System.IO.Directory.Exists(kept))
        {
            return;
        }

        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(session.State)!);
        System.IO.Directory.Move(kept, session.State);
    }

    /// <summary>
    /// At the run's end, before its directory is removed: the CLI's session directory moved to the keep (when it is a
    /// plain directory reached through plain directories from <paramref name="runDirectory"/>), and the agent's oldest
    /// keeps beyond <see cref="KeptPerAgent"/> named for removal. Never throws: a conversation not kept is a fresh
    /// start for the next run.
    /// </summary>
    /// <returns>Keeps to remove (off the caller's thread).</returns>
    public static IReadOnlyList<string> Save(RunSession session, string runDirectory)
    {
        try
        {
            if (!PlainPath(runDirectory, session.State))
            {
                return [];
            }

            var keeps = Path.GetDirectoryName(session.Keep)!;
            System.IO.Directory.CreateDirectory(keeps);
            System.IO.Directory.Move(session.State, session.Keep);
            return [.. new DirectoryInfo(keeps).EnumerateDirectories()
                .OrderByDescending(d => d.CreationTimeUtc)
                .ThenByDescending(d => d.Name, StringComparer.Ordinal)
                .Skip(KeptPerAgent)
                .Select(d => d.FullName)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Every directory from <paramref name="root"/> (exclusive) down to <paramref name="path"/> exists and none is a link.</summary>
    private static bool PlainPath(string root, string path)
    {
        var relative = Path.GetRelativePath(root, path);
        if (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            return false;
        }

        var current = root;
        foreach (var part in relative.Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, part);
            var info = new DirectoryInfo(current);
            if (!info.Exists || info.LinkTarget is not null || info.Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
    private static partial Regex SessionId();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex RunId();
}
