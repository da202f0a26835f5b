using System.Diagnostics;
using System.Globalization;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>
/// A real git repository with a day of history (commits dated within the last hours) and a local bare
/// repository as its <c>origin</c>; deleted on dispose.
/// </summary>
public sealed class GitFixture : IDisposable
{
    public GitFixture()
    {
        Root = Directory.CreateTempSubdirectory("df-git-").FullName;
        Repo = Path.Combine(Root, "repo");
        Bare = Path.Combine(Root, "origin.git");
        Run(Root, "init", "-q", "--bare", "-b", "main", Bare);
        Run(Root, "init", "-q", "-b", "main", Repo);
        Run(Repo, "remote", "add", "origin", Bare);
    }

    public string Root { get; }
    public string Repo { get; }
    public string Bare { get; }

    /// <summary>Writes files and commits them with author and committer date <paramref name="at"/>.</summary>
    public string Commit(DateTimeOffset at, string message, params (string Path, string Content)[] files)
    {
        foreach (var (path, content) in files)
        {
            var full = System.IO.Path.Combine(Repo, path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }

        Run(Repo, "add", "-A");
        var date = at.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        Run(Repo, new Dictionary<string, string> { ["GIT_AUTHOR_DATE"] = date, ["GIT_COMMITTER_DATE"] = date }, "commit", "-q", "--allow-empty", "-m", message);
        return Run(Repo, "rev-parse", "HEAD").Trim();
    }

    /// <summary>A day of history: an old base, then a feature, a TODO, a large change and a revert in the last hours.</summary>
    public void DayOfHistory(DateTimeOffset now)
    {
        Commit(now.AddDays(-3), "Initial import", ("README.md", "# demo\n"), ("src/app.sh", "echo app\n"));
        Commit(now.AddHours(-10), "Add parser", ("src/parser.sh", "parse() { echo ok; }\n"));
        Commit(now.AddHours(-8), "Parser: handle empty input", ("src/parser.sh", "parse() {\n  # TODO: reject input with NUL bytes\n  echo ok\n}\n"));
        var big = string.Join('\n', Enumerable.Range(1, 450).Select(i => $"line {i}")) + "\n";
        Commit(now.AddHours(-6), "Vendor the word list", ("data/words.txt", big));
        var bad = Commit(now.AddHours(-4), "Speed up app start", ("src/app.sh", "echo fast app\n"));
        Run(Repo, new Dictionary<string, string> { ["GIT_AUTHOR_DATE"] = now.AddHours(-2).ToString("O"), ["GIT_COMMITTER_DATE"] = now.AddHours(-2).ToString("O") }, "revert", "--no-edit", bad);
        Run(Repo, "push", "-q", "origin", "main");
    }

    /// <summary>Branches of the bare remote.</summary>
    public IReadOnlyList<string> RemoteBranches() =>
        Run(Bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public static string Run(string dir, params string[] args) => Run(dir, new Dictionary<string, string>(), args);

    public static string Run(string dir, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        psi.Environment["GIT_AUTHOR_NAME"] = "Test";
        psi.Environment["GIT_AUTHOR_EMAIL"] = "test@localhost";
        psi.Environment["GIT_COMMITTER_NAME"] = "Test";
        psi.Environment["GIT_COMMITTER_EMAIL"] = "test@localhost";
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed ({p.ExitCode}): {stderr}");
        }

        return stdout.Result;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
