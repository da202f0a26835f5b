using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Review;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// Everything a project reaches outside the actor system: the user's repository (the checks of <c>df init</c>, the
/// work branch and worktree, each attempt's commit), the gates, and the forge. The real ones are
/// <see cref="ProjectPorts"/>; a scenario sandbox gives its own, which act on nothing real. Each member may be called
/// from any thread.
/// </summary>
public interface IProjectPorts
{
    /// <summary>The repository's top-level directory, or the error that names the field (<see cref="ProjectWorktree.CheckAsync"/>).</summary>
    Task<(string? Repo, string? Error)> CheckRepositoryAsync(string repo, string baseBranch, CancellationToken ct);

    /// <summary>The stem, or the stem with -2, -3 … when the repository has a branch of that name.</summary>
    Task<string> ChooseBranchAsync(string repo, string stem, CancellationToken ct);

    /// <summary>Creates (or reuses) the project's worktree on its branch, with pushing disabled from it.</summary>
    Task PrepareWorktreeAsync(string repo, string baseBranch, string branch, string worktree, string hooksDirectory, CancellationToken ct);

    /// <summary>Commits what the attempt left with its trailer, unless HEAD already is that commit: the commit and its files, or (null, []) when nothing changed.</summary>
    Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string message, string trailer, CancellationToken ct);

    /// <summary>The built-in checks of the attempt's files and the persona's gates, in the worktree.</summary>
    Task<IReadOnlyList<GateResult>> RunGatesAsync(
        IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> files, IReadOnlyDictionary<string, string> environment, Redactor secrets,
        GateSandbox? sandbox, RunCgroups? cgroups, CancellationToken ct);

    /// <summary>Pushes the work branch and opens the pull request, unless one is open for it (<see cref="PullRequests.OpenAsync"/>).</summary>
    Task<PullRequestRef> OpenPullRequestAsync(
        string repo, string remote, ForgeSpec forge, IReadOnlyDictionary<string, string?> environment, HttpClient http,
        string branch, string baseBranch, string title, string body, CancellationToken ct);
}

/// <summary>The real ports: git (<see cref="ProjectWorktree"/>, <see cref="Worktrees"/>), the gates (<see cref="GateRunner"/>) and GitHub (<see cref="PullRequests"/>).</summary>
public sealed class ProjectPorts : IProjectPorts
{
    public static ProjectPorts Real { get; } = new();

    private ProjectPorts()
    {
    }

    public Task<(string? Repo, string? Error)> CheckRepositoryAsync(string repo, string baseBranch, CancellationToken ct) => ProjectWorktree.CheckAsync(repo, baseBranch, ct);

    public Task<string> ChooseBranchAsync(string repo, string stem, CancellationToken ct) => ProjectWorktree.ChooseBranchAsync(repo, stem, ct);

    public Task PrepareWorktreeAsync(string repo, string baseBranch, string branch, string worktree, string hooksDirectory, CancellationToken ct) =>
        Worktrees.EnsureAsync(repo, baseBranch, branch, worktree, hooksDirectory, ct);

    public Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string message, string trailer, CancellationToken ct) =>
        ProjectWorktree.CommitAsync(repo, worktree, message, trailer, ct);

    public Task<IReadOnlyList<GateResult>> RunGatesAsync(
        IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> files, IReadOnlyDictionary<string, string> environment, Redactor secrets,
        GateSandbox? sandbox, RunCgroups? cgroups, CancellationToken ct) =>
        GateRunner.RunAllAsync(gates, worktree, files, environment, secrets, sandbox, ct, cgroups);

    public Task<PullRequestRef> OpenPullRequestAsync(
        string repo, string remote, ForgeSpec forge, IReadOnlyDictionary<string, string?> environment, HttpClient http,
        string branch, string baseBranch, string title, string body, CancellationToken ct) =>
        PullRequests.OpenAsync(repo, remote, forge, "projects", environment, http, branch, baseBranch, title, body, ct);
}
