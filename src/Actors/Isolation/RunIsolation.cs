using DarkFactory.Actors.Processes;

namespace DarkFactory.Actors.Isolation;

/// <summary>
/// Where an isolated run works and what the daemon does around it: a worktree of the agent's working-directory
/// repository at <see cref="Worktree"/> on a <c>df/&lt;agent&gt;/&lt;date&gt;-&lt;n&gt;</c> branch (<see cref="BranchStem"/>
/// + <c>-n</c>, chosen when it is made), the daemon's records under <see cref="RecordsDirectory"/>, and the agent's gates.
/// </summary>
/// <param name="Workdir">The agent's declared working directory (inside <paramref name="Repository"/>).</param>
/// <param name="Repository">The top-level directory of the repository the worktree is made of.</param>
/// <param name="Subdirectory">The working directory relative to the repository ("" for its top): the run works there in the worktree.</param>
/// <param name="Gates">The agent's <c>gates</c>, run on the daemon's commit.</param>
/// <param name="GateEnvironment">The gates' whole environment (allowlisted, with the run marker).</param>
public sealed record IsolationPlan(
    string Agent,
    string RunId,
    string Workdir,
    string Repository,
    string Subdirectory,
    string Worktree,
    string BranchStem,
    string RecordsDirectory,
    IReadOnlyList<GateSpec> Gates,
    IReadOnlyDictionary<string, string> GateEnvironment)
{
    /// <summary>The run's working directory: the worktree, or the same subdirectory in it as the declared one.</summary>
    public string WorkingDirectory => Subdirectory.Length == 0 ? Worktree : Path.Combine(Worktree, Subdirectory);

    /// <summary>Where the gates run sandboxed; null: as the daemon's user.</summary>
    public GateSandbox? GateSandbox { get; init; }

    public RunCgroups? GateCgroups { get; init; }
}

/// <summary>
/// Decides whether a run of an agent is isolated and plans its worktree (pure apart from looking for a <c>.git</c>
/// above the working directory). Only the agent's own runs are: a project's or a review's run is given its
/// worktree already (<c>RunRequest.Workdir</c>).
/// </summary>
public static class RunIsolation
{
    /// <summary>Under the worktree root: one directory per agent, one worktree per run (gone after the run).</summary>
    public const string AgentsDirectory = "agents";

    /// <summary>Under the data directory: the records of the branches the agents' runs left (hidden from runs).</summary>
    public const string BranchesDirectory = "branches";

    /// <returns>The plan (null: the run works in place), or why the agent cannot run (isolation: worktree outside a repository).</returns>
    public static (IsolationPlan? Plan, string? Unavailable) Plan(AgentSpec spec, bool givenWorkdir, string runId, DateTimeOffset now, string worktreeRoot, string dataDirectory)
    {
        if (givenWorkdir || !spec.Isolated())
        {
            return (null, null);
        }

        var explicitly = spec.Isolation == IsolationMode.Worktree;
        var workdir = spec.Workdir is { } w ? Path.GetFullPath(w) : null;
        var top = workdir is null ? null : SandboxPlanner.FindDotGit(workdir).Top;
        if (top is null)
        {
            // the default for AI agents isolates what is a repository; a working directory that is none is the agent's own
            return explicitly ? (null, $"isolation: worktree needs a git repository, and workdir '{workdir ?? "(none)"}' is not in one") : (null, null);
        }

        var plan = new IsolationPlan(
            spec.Name,
            runId,
            workdir!,
            top,
            Path.GetRelativePath(top, workdir!) is var rel && rel != "." ? rel : string.Empty,
            Path.Combine(worktreeRoot, AgentsDirectory, spec.Name, runId),
            BranchStem(spec.Name, now),
            Path.Combine(dataDirectory, BranchesDirectory),
            spec.Gates,
            new Dictionary<string, string>());
        return (plan, null);
    }

    /// <summary><c>df/&lt;agent&gt;/&lt;yyyy-mm-dd&gt;</c> (UTC); the run's branch adds <c>-n</c>.</summary>
    public static string BranchStem(string agent, DateTimeOffset at) =>
        $"df/{agent}/{at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    /// <summary>The first <c>stem-n</c> (n = 1, 2 …) no branch of the repository has.</summary>
    public static string PickBranch(string stem, IReadOnlySet<string> existing)
    {
        for (var n = 1; ; n++)
        {
            var candidate = $"{stem}-{n}";
            if (!existing.Contains(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>The daemon's commit message for what a run left: names the agent and the run (trailers for tools).</summary>
    public static string CommitMessage(string agent, string runId, string? note = null) =>
        $"{agent}: run {runId}{(note is null ? string.Empty : $" ({note})")}\n\nDF-Agent: {agent}\nDF-Run: {runId}\n";

    /// <summary>
    /// The launch plan of a run whose worktree now exists, with the sandbox's git binds for it (the worktree's git
    /// directory writable, its config read-only): a sandboxed run's plan was made before the worktree was there.
    /// Unchanged when the run is not sandboxed.
    /// </summary>
    public static LaunchPlan WithGitBinds(LaunchPlan plan, string workingDirectory)
    {
        var args = plan.Arguments;
        for (var i = 0; i + 2 < args.Count; i++)
        {
            if (args[i] == "--bind" && args[i + 1] == workingDirectory && args[i + 2] == workingDirectory)
            {
                return plan with { Arguments = [.. args.Take(i + 3), .. SandboxPlanner.GitBinds(workingDirectory), .. args.Skip(i + 3)] };
            }
        }

        return plan;
    }
}
