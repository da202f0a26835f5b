using DarkFactory.Actors.Output;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Review;

/// <summary>A pull request as the review means to open it.</summary>
public sealed record PullRequestDraft(string Branch, string BaseBranch, string Title, string Body);

/// <summary>
/// Everything the review's steps (<see cref="ReviewSteps"/>) reach outside themselves: the fleet (asks through
/// the factory), the repository and the review's worktree (git, gates), the forge and the report file. The real
/// ones are <see cref="ReviewPorts"/>; tests give fakes, so every step is specced without an actor system, a
/// repository or a network. Each member may be called from any thread.
/// </summary>
public interface IReviewPorts
{
    // ---------------------------------------------------------------- the fleet

    /// <summary>Nightwatch's corrections and escalations since <paramref name="since"/>; null when Nightwatch does not answer.</summary>
    Task<NightwatchRecords?> NightwatchRecordsAsync(DateTimeOffset since, CancellationToken ct);

    /// <summary>The agent's recorded lifecycle; null when its history does not answer.</summary>
    Task<IReadOnlyList<AgentLifecycle>?> HistoryAsync(string agent, CancellationToken ct);

    /// <summary>The router's decision for a task (its best-fit agent by capabilities, and the route).</summary>
    Task<RouteDecision> RouteAsync(string task, CancellationToken ct);

    /// <summary>The agent's status where it runs (in a cluster, from its node); null when nobody answers. Only a clustered review asks it.</summary>
    Task<AgentStatus?> AgentStatusAsync(string agent, CancellationToken ct) => Task.FromResult<AgentStatus?>(null);

    /// <summary>
    /// The tail of what a run printed, from the node that runs the agent (a clustered review whose agent ran elsewhere);
    /// never throws: no answer is <see cref="RunOutputOutcome.NoAnswer"/> with the reason.
    /// </summary>
    Task<RunOutput> RunOutputAsync(string agent, string runId, CancellationToken ct) =>
        Task.FromResult(new RunOutput(agent, runId, RunOutputOutcome.NoAnswer, Reason: "not a cluster node"));

    /// <summary>Asks the fleet to start a run; a refusal is an answer, not an exception.</summary>
    Task<CommandResult> StartAgentAsync(StartAgent start, CancellationToken ct);

    // ---------------------------------------------------------------- the repository and the worktree

    /// <summary>The commits of <paramref name="baseBranch"/> since <paramref name="since"/> and the TODO/FIXME lines they added.</summary>
    Task<(IReadOnlyList<ScannedCommit> Commits, IReadOnlyList<AddedTodo> Todos)> ScanAsync(string repo, string baseBranch, DateTimeOffset since, CancellationToken ct);

    /// <summary>A branch name for the review that is not taken yet.</summary>
    Task<string> ChooseBranchAsync(string repo, DateTimeOffset at, string slug, CancellationToken ct);

    /// <summary>Creates (or reuses) the worktree on its branch, with pushing disabled from it.</summary>
    Task PrepareWorktreeAsync(string repo, string baseBranch, string branch, string worktree, string hooksDirectory, CancellationToken ct);

    /// <summary>Commits what the agent left in the worktree: the commit (null when nothing changed) and the files changed since the base.</summary>
    Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string baseBranch, string message, CancellationToken ct);

    /// <summary>The built-in paths and secrets gates and the configured gates, in the worktree.</summary>
    /// <param name="environment">The gates' whole environment.</param>
    /// <param name="secrets">Masks every known secret in the gates' output; the secrets gate looks for the same values.</param>
    Task<IReadOnlyList<GateResult>> RunGatesAsync(IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> changedFiles, IReadOnlyDictionary<string, string> environment, Redactor secrets, CancellationToken ct);

    /// <summary>The URL of a remote of the main checkout; null when it has none of that name.</summary>
    Task<string?> RemoteUrlAsync(string repo, string remote, CancellationToken ct);

    /// <summary>Pushes the branch to the remote (the forge's token only to the forge's own repository).</summary>
    Task PushAsync(string repo, string remote, string branch, ForgeCredentials? forge, CancellationToken ct);

    /// <summary>Removes a finished review's worktree (its branch stays).</summary>
    Task RemoveWorktreeAsync(string repo, string worktree, CancellationToken ct);

    // ---------------------------------------------------------------- the forge and files

    /// <summary>The PR of the draft's branch if the forge has one, else a new one.</summary>
    Task<PullRequestRef> FindOrCreatePullRequestAsync(ForgeSpec forge, string repository, string token, PullRequestDraft draft, CancellationToken ct);

    /// <summary>Writes a report file (its directory is created).</summary>
    Task WriteFileAsync(string path, string text, CancellationToken ct);
}
