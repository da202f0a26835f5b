using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Review;

/// <summary>
/// The review's real ports: asks to the factory (which routes them to Nightwatch, the history, the router and
/// the fleet), git and the worktree (<see cref="GitScan"/>, <see cref="Worktrees"/>, <see cref="GateRunner"/>),
/// GitHub (<see cref="GitHubForge"/>) and the file system.
/// </summary>
/// <param name="factory">The factory: where the asks go.</param>
/// <param name="askTimeout">How long each ask waits.</param>
/// <param name="http">The forge's HTTP client.</param>
public sealed class ReviewPorts(IActorRef factory, TimeSpan askTimeout, HttpClient http) : IReviewPorts
{
    /// <summary>The most a run's output is waited for (the cluster factory answers no answer after 5 s itself).</summary>
    public static readonly TimeSpan RunOutputTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Where the gates run sandboxed; null: as the daemon's user.</summary>
    public GateSandbox? GateSandbox { get; init; }

    /// <summary>The daemon's run cgroups: each gate runs in one, killed when the gate ends.</summary>
    public RunCgroups? GateCgroups { get; init; }

    public async Task<NightwatchRecords?> NightwatchRecordsAsync(DateTimeOffset since, CancellationToken ct)
    {
        try
        {
            // in a cluster Nightwatch's decisions are a singleton, which answers SingletonUnavailable while it moves
            return await factory.Ask<object>(new GetNightwatchRecords(since), askTimeout, ct) as NightwatchRecords;
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<AgentLifecycle>?> HistoryAsync(string agent, CancellationToken ct)
    {
        try
        {
            return (await factory.Ask<AgentHistory>(new GetHistory(agent, 500), askTimeout, ct)).Entries;
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    public async Task<AgentStatus?> AgentStatusAsync(string agent, CancellationToken ct)
    {
        try
        {
            return (await factory.Ask<AgentsSnapshot>(new GetAgentRun(agent), askTimeout, ct)).Agents.FirstOrDefault(a => a.Agent == agent);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    public async Task<RunOutput> RunOutputAsync(string agent, string runId, CancellationToken ct)
    {
        var ask = new GetRunOutput(agent, runId);
        var bound = TimeSpan.FromTicks(Math.Min(askTimeout.Ticks, RunOutputTimeout.Ticks));
        try
        {
            return await factory.Ask<RunOutput>(ask, bound, ct);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return RunOutput.NoAnswer(ask, $"the agent's node did not answer within {bound.TotalSeconds:0} s");
        }
    }

    public Task<RouteDecision> RouteAsync(string task, CancellationToken ct) => factory.Ask<RouteDecision>(new RouteTask(task), askTimeout, ct);

    public Task<CommandResult> StartAgentAsync(StartAgent start, CancellationToken ct) => factory.Ask<CommandResult>(start, askTimeout, ct);

    public Task<(IReadOnlyList<ScannedCommit> Commits, IReadOnlyList<AddedTodo> Todos)> ScanAsync(string repo, string baseBranch, DateTimeOffset since, CancellationToken ct) =>
        GitScan.ReadAsync(repo, baseBranch, since, ct);

    public Task<string> ChooseBranchAsync(string repo, DateTimeOffset at, string slug, CancellationToken ct) => Worktrees.ChooseBranchAsync(repo, at, slug, ct);

    public Task PrepareWorktreeAsync(string repo, string baseBranch, string branch, string worktree, string hooksDirectory, CancellationToken ct) =>
        Worktrees.EnsureAsync(repo, baseBranch, branch, worktree, hooksDirectory, ct);

    public Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string baseBranch, string message, CancellationToken ct) =>
        Worktrees.CommitAsync(repo, worktree, baseBranch, message, ct);

    public Task<IReadOnlyList<GateResult>> RunGatesAsync(IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> changedFiles, IReadOnlyDictionary<string, string> environment, Redactor secrets, CancellationToken ct) =>
        GateRunner.RunAllAsync(gates, worktree, changedFiles, environment, secrets, GateSandbox, ct, GateCgroups);

    public async Task<string?> RemoteUrlAsync(string repo, string remote, CancellationToken ct) =>
        await Git.RunAsync(repo, ["remote", "get-url", remote], ct) is { Ok: true } output ? output.Stdout : null;

    public Task PushAsync(string repo, string remote, string branch, ForgeCredentials? forge, CancellationToken ct) => Worktrees.PushAsync(repo, remote, branch, forge, ct);

    public Task RemoveWorktreeAsync(string repo, string worktree, CancellationToken ct) => Worktrees.RemoveAsync(repo, worktree, ct);

    public Task<PullRequestRef> FindOrCreatePullRequestAsync(ForgeSpec forge, string repository, string token, PullRequestDraft draft, CancellationToken ct) =>
        new GitHubForge(http, forge.BaseUrl, repository, token).FindOrCreateAsync(draft.Branch, draft.BaseBranch, draft.Title, draft.Body, ct);

    public async Task WriteFileAsync(string path, string text, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, text, ct);
    }
}
