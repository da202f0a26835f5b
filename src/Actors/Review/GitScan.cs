using System.Text.RegularExpressions;

namespace DarkFactory.Actors.Review;

/// <summary>One commit of the scanned window with its per-file line counts.</summary>
public sealed record ScannedCommit(string Sha, DateTimeOffset At, string Author, string Subject, IReadOnlyList<FileChange> Files)
{
    public int LinesChanged => Files.Sum(f => f.Added + f.Deleted);

    public string Short => Sha.Length > 10 ? Sha[..10] : Sha;
}

/// <summary>Lines added and deleted in one file (binary files count 0).</summary>
public sealed record FileChange(string Path, int Added, int Deleted);

/// <summary>A TODO or FIXME line a commit added.</summary>
public sealed record AddedTodo(string Sha, string Path, int Line, string Text);

/// <summary>
/// Reads the last <c>since</c> of a repository's history through the git CLI and turns it (with the
/// fleet's own records) into ranked findings. Parsing and ranking are pure; only <see cref="ReadAsync"/>
/// runs git.
/// </summary>
public static partial class GitScan
{
    public const char RecordSeparator = '\u001e';
    public const char FieldSeparator = '\u001f';

    public static async Task<(IReadOnlyList<ScannedCommit> Commits, IReadOnlyList<AddedTodo> Todos)> ReadAsync(
        string repo, string baseBranch, DateTimeOffset since, CancellationToken ct)
    {
        var verify = await Git.RunAsync(repo, ["rev-parse", "--verify", "--quiet", baseBranch + "^{commit}"], ct);
        if (!verify.Ok)
        {
            throw new GitException($"compound_review.base_branch '{baseBranch}' is not a branch or commit of {repo}");
        }

        var sinceArg = "--since=" + since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var log = await Git.RequireAsync(repo, ["log", baseBranch, sinceArg, "--no-merges", "--format=%x1e%H%x1f%aI%x1f%an%x1f%s", "--numstat"], ct);
        var patch = await Git.RequireAsync(repo, ["log", baseBranch, sinceArg, "--no-merges", "--format=%x1e%H", "-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv"], ct);
        return (ParseLog(log), ParseTodos(patch));
    }

    /// <summary>Parses <c>git log --format=%x1e%H%x1f%aI%x1f%an%x1f%s --numstat</c>.</summary>
    public static IReadOnlyList<ScannedCommit> ParseLog(string text)
    {
        var commits = new List<ScannedCommit>();
        foreach (var record in text.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = record.Split('\n');
            var header = lines[0].Split(FieldSeparator);
            if (header.Length < 4 || !DateTimeOffset.TryParse(header[1], CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
            {
                continue;
            }

            var files = new List<FileChange>();
            foreach (var line in lines.Skip(1))
            {
                var parts = line.Split('\t');
                if (parts.Length >= 3)
                {
                    files.Add(new FileChange(parts[2], Count(parts[0]), Count(parts[1])));
                }
            }

            commits.Add(new ScannedCommit(header[0], at, header[2], header[3], files));
        }

        return commits;

        static int Count(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    /// <summary>Parses <c>git log --format=%x1e%H -p -U0</c>: added lines that contain TODO or FIXME, with their new line numbers.</summary>
    public static IReadOnlyList<AddedTodo> ParseTodos(string text)
    {
        var todos = new List<AddedTodo>();
        foreach (var record in text.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = record.Split('\n');
            var sha = lines[0].Trim();
            string? path = null;
            var line = 0;
            foreach (var l in lines.Skip(1))
            {
                if (l.StartsWith("+++ ", StringComparison.Ordinal))
                {
                    path = l == "+++ /dev/null" ? null : l.StartsWith("+++ b/", StringComparison.Ordinal) ? l[6..] : l[4..];
                }
                else if (l.StartsWith("@@", StringComparison.Ordinal) && HunkHeader().Match(l) is { Success: true } m)
                {
                    line = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                }
                else if (l.StartsWith('+') && path is not null)
                {
                    if (TodoMarker().IsMatch(l))
                    {
                        todos.Add(new AddedTodo(sha, path, line, l[1..].Trim()));
                    }

                    line++;
                }
            }
        }

        return todos;
    }

    [GeneratedRegex(@"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")]
    private static partial Regex HunkHeader();

    [GeneratedRegex(@"\b(TODO|FIXME)\b")]
    private static partial Regex TodoMarker();

    [GeneratedRegex(@"[^a-z0-9]+")]
    private static partial Regex NonSlug();

    /// <summary>Lower-case words joined by '-', at most <paramref name="max"/> characters; "finding" when nothing is left.</summary>
    public static string Slug(string text, int max = 40)
    {
        var slug = NonSlug().Replace(text.ToLowerInvariant(), "-").Trim('-');
        if (slug.Length > max)
        {
            slug = slug[..max].TrimEnd('-');
        }

        return slug.Length == 0 ? "finding" : slug;
    }
}
