using DarkFactory.Actors.Output;
using DarkFactory.Actors.Review;

namespace DarkFactory.Actors.Isolation;

/// <summary>
/// A branch an isolated run left, as <c>df branches</c> lists it (the record under
/// <c>&lt;data&gt;/branches/&lt;agent&gt;/&lt;run&gt;.json</c>; the data directory is hidden from runs, so an agent cannot
/// forge it).
/// </summary>
/// <param name="Base">The commit the branch was made from (the checkout's HEAD when the run started).</param>
/// <param name="Commit">The branch's head after the daemon's commit.</param>
/// <param name="Commits">Commits on the branch since <paramref name="Base"/> (the agent's own and the daemon's).</param>
/// <param name="FilesChanged">Files the branch changes against <paramref name="Base"/>.</param>
/// <param name="Gates">The agent's gates on <paramref name="Commit"/> (the built-in paths and secrets checks first); empty without gates.</param>
public sealed record AgentBranch(
    string Agent,
    string Branch,
    string RunId,
    string Repo,
    string Base,
    string Commit,
    int Commits,
    IReadOnlyList<string> FilesChanged,
    DateTimeOffset At,
    IReadOnlyList<GateResult> Gates)
{
    /// <summary>Gates ran and all passed; null without gates.</summary>
    public bool? GatesPassed => Gates.Count == 0 ? null : Gates.All(g => g.Passed);
}

/// <summary>A run's worktree once it exists: its branch, the commit it started from, the repository's git directory for it.</summary>
public sealed record PreparedWorktree(string Branch, string Base);

/// <summary>
/// The git side of isolated runs, on the compound review's seam (<see cref="Worktrees"/>: push-locked worktrees, the
/// daemon's commit through the worktree's git directory as the repository knows it). Before a run: what an earlier
/// run of the agent left (a daemon killed during it) is committed and removed, then the run's worktree is made on a
/// new <c>df/&lt;agent&gt;/&lt;date&gt;-&lt;n&gt;</c> branch from the checkout's HEAD. After it: HEAD put back on the
/// branch (an agent may have checked out something else), what it left committed by the daemon, the gates run, the
/// branch recorded, the worktree removed (a run that changed nothing leaves no branch).
/// </summary>
public static class AgentWorktrees
{
    private const string PendingSuffix = ".pending.json";

    /// <summary>Makes the run's worktree (after finishing what an earlier run of the agent left behind).</summary>
    public static async Task<PreparedWorktree> PrepareAsync(IsolationPlan plan, Redactor secrets, DateTimeOffset now, CancellationToken ct)
    {
        await RecoverAsync(plan, secrets, now, ct);
        var top = await Git.RunAsync(plan.Workdir, ["rev-parse", "--show-toplevel"], ct);
        if (!top.Ok)
        {
            throw new GitException($"isolation: worktree needs a git repository, and workdir '{plan.Workdir}' is not in one");
        }

        var head = await Git.RunAsync(plan.Repository, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], ct);
        if (!head.Ok)
        {
            throw new GitException($"isolation: worktree needs a commit to branch from, and {plan.Repository} has none");
        }

        var existing = (await Git.RequireAsync(plan.Repository, ["for-each-ref", "--format=%(refname:short)", "refs/heads/" + plan.BranchStem[..(plan.BranchStem.LastIndexOf('/') + 1)]], ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.Ordinal);
        var prepared = new PreparedWorktree(RunIsolation.PickBranch(plan.BranchStem, existing), head.Stdout.Trim());

        // written before the worktree exists: a daemon killed from here on leaves what the agent's next run finishes
        var pending = PendingPath(plan.RecordsDirectory, plan.Agent, plan.RunId);
        Directory.CreateDirectory(Path.GetDirectoryName(pending)!);
        await File.WriteAllTextAsync(pending, JsonSerializer.Serialize(new Pending(plan.Repository, plan.Worktree, prepared.Branch, prepared.Base), DarkFactoryJson.Options), ct);
        await Worktrees.EnsureAsync(plan.Repository, prepared.Base, prepared.Branch, plan.Worktree, HooksDirectory(plan.RecordsDirectory), ct);
        Directory.CreateDirectory(plan.WorkingDirectory);
        return prepared;
    }

    /// <summary>
    /// Commits what the run left on its branch (authored by the daemon, the message naming agent and run), runs the
    /// gates, records the branch and removes the worktree. Null when the run changed nothing (its branch is deleted).
    /// </summary>
    public static async Task<AgentBranch?> FinishAsync(IsolationPlan plan, PreparedWorktree prepared, Redactor secrets, DateTimeOffset now, string? note, CancellationToken ct)
    {
        var branch = await CommitAndGateAsync(plan, plan.Agent, plan.RunId, plan.Repository, plan.Worktree, prepared, secrets, now, note, ct);
        File.Delete(PendingPath(plan.RecordsDirectory, plan.Agent, plan.RunId));
        return branch;
    }

    private static async Task<AgentBranch?> CommitAndGateAsync(IsolationPlan plan, string agent, string runId, string repo, string worktree, PreparedWorktree prepared, Redactor secrets, DateTimeOffset now, string? note, CancellationToken ct)
    {
        AgentBranch? result = null;
        if (Directory.Exists(worktree))
        {
            // the branch, not whatever the agent checked out, gets the commit; the files stay as the agent left them
            var admin = await Worktrees.AdminDirectoryAsync(repo, worktree, ct);
            await Git.RequireAsync(worktree, ["--git-dir=" + admin, "--work-tree=" + Path.GetFullPath(worktree), "symbolic-ref", "HEAD", "refs/heads/" + prepared.Branch], ct);
            var (commit, files) = await Worktrees.CommitAsync(repo, worktree, prepared.Base, RunIsolation.CommitMessage(agent, runId, note), ct);
            if (commit is not null)
            {
                var commits = int.Parse((await Git.RequireAsync(repo, ["rev-list", "--count", $"{prepared.Base}..refs/heads/{prepared.Branch}"], ct)).Trim(), CultureInfo.InvariantCulture);
                var gates = plan.Gates.Count == 0
                    ? []
                    : await GateRunner.RunAllAsync(plan.Gates, worktree, files, plan.GateEnvironment, secrets, plan.GateSandbox, ct, plan.GateCgroups);
                result = new AgentBranch(agent, prepared.Branch, runId, repo, prepared.Base, commit, commits, files, now, gates);
                var record = RecordPath(plan.RecordsDirectory, agent, runId);
                await File.WriteAllTextAsync(record, JsonSerializer.Serialize(result, DarkFactoryJson.Options), ct);
            }

            await Worktrees.RemoveAsync(repo, worktree, ct);
        }

        if (result is null)
        {
            // nothing to review: no branch left behind
            await Git.RunAsync(repo, ["branch", "-D", prepared.Branch], ct);
        }

        return result;
    }

    /// <summary>Worktrees an earlier run of the agent left (the daemon was killed during it): committed, recorded and removed.</summary>
    private static async Task RecoverAsync(IsolationPlan plan, Redactor secrets, DateTimeOffset now, CancellationToken ct)
    {
        var dir = Path.Combine(plan.RecordsDirectory, plan.Agent);
        if (!Directory.Exists(dir))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(dir, "*" + PendingSuffix))
        {
            var runId = Path.GetFileName(file)[..^PendingSuffix.Length];
            if (runId == plan.RunId || JsonSerializer.Deserialize<Pending>(await File.ReadAllTextAsync(file, ct), DarkFactoryJson.Options) is not { } left)
            {
                continue;
            }

            await CommitAndGateAsync(plan, plan.Agent, runId, left.Repo, left.Worktree, new PreparedWorktree(left.Branch, left.Base), secrets, now, "recovered after the daemon stopped", ct);
            File.Delete(file);
        }
    }

    /// <summary>The recorded branches (of one agent, or all), newest first; a record whose branch is gone (merged and deleted) is dropped.</summary>
    public static async Task<IReadOnlyList<AgentBranch>> ListAsync(string recordsDirectory, string? agent, CancellationToken ct)
    {
        var found = new List<AgentBranch>();
        if (!Directory.Exists(recordsDirectory))
        {
            return found;
        }

        var dirs = agent is null ? Directory.EnumerateDirectories(recordsDirectory) : [Path.Combine(recordsDirectory, agent)];
        foreach (var dir in dirs.Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(dir, "*.json").Where(f => !f.EndsWith(PendingSuffix, StringComparison.Ordinal)))
            {
                if (JsonSerializer.Deserialize<AgentBranch>(await File.ReadAllTextAsync(file, ct), DarkFactoryJson.Options) is not { } branch)
                {
                    continue;
                }

                if (!Directory.Exists(branch.Repo) || !(await Git.RunAsync(branch.Repo, ["rev-parse", "--verify", "--quiet", "refs/heads/" + branch.Branch], ct)).Ok)
                {
                    File.Delete(file); // retention: the branch was merged and deleted, or its repository is gone
                    continue;
                }

                found.Add(branch);
            }
        }

        return found.OrderByDescending(b => b.At).ThenBy(b => b.Branch, StringComparer.Ordinal).ToList();
    }

    private static string PendingPath(string records, string agent, string runId) => Path.Combine(records, agent, runId + PendingSuffix);

    private static string RecordPath(string records, string agent, string runId) => Path.Combine(records, agent, runId + ".json");

    private static string HooksDirectory(string records) => Path.Combine(records, ".hooks");

    private sealed record Pending(string Repo, string Worktree, string Branch, string Base);
}
