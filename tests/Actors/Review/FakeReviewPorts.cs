using System.Collections.Concurrent;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Review;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Review;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>
/// The review's ports as a test sets them up: each answer is a field to set, each call is recorded (in order, as
/// "Name(args)"), and a port can be made to throw. No git, no actor system, no network.
/// </summary>
internal sealed class FakeReviewPorts : IReviewPorts
{
    public ConcurrentQueue<string> Calls { get; } = new();

    public IReadOnlyList<ScannedCommit> Commits { get; set; } = [];

    public IReadOnlyList<AddedTodo> Todos { get; set; } = [];

    public NightwatchRecords? Nightwatch { get; set; }

    /// <summary>Each agent's history; an agent missing here does not answer.</summary>
    public Dictionary<string, IReadOnlyList<AgentLifecycle>> Histories { get; } = new(StringComparer.Ordinal);

    public RouteDecision Route { get; set; } = new(null, []);

    /// <summary>What the agent's node answers for a run's output (a clustered review's agent on another node).</summary>
    public Func<string, string, RunOutput> RunOutput { get; set; } = (agent, run) => new RunOutput(agent, run, RunOutputOutcome.NoAnswer, Reason: "not set");

    public Func<StartAgent, CommandResult> Start { get; set; } = s => CommandResult.Done(CommandOutcome.Started, "started", "run-1");

    public string Branch { get; set; } = "df/compound/2026-11-22-x";

    public (string? Commit, IReadOnlyList<string> Files) Commit { get; set; } = ("c0ffee", ["a.txt"]);

    public IReadOnlyList<GateResult> Gates { get; set; } = [new GateResult("worktree-paths", true, 0, 0, 0)];

    public IReadOnlyDictionary<string, string>? GateEnvironment { get; private set; }

    public Redactor? GateSecrets { get; private set; }

    public ForgeCredentials? PushedWith { get; private set; }

    public string? RemoteUrl { get; set; } = "git@github.com:acme/widgets.git";

    public Exception? PushFails { get; set; }

    public Func<string, Exception?> RemoveFails { get; set; } = _ => null;

    public PullRequestRef PullRequest { get; set; } = new(42, "https://github.com/acme/widgets/pull/42", false);

    public (ForgeSpec Forge, string Repository, string Token, PullRequestDraft Draft)? Opened { get; private set; }

    public Dictionary<string, string> Files { get; } = new(StringComparer.Ordinal);

    public Task<NightwatchRecords?> NightwatchRecordsAsync(DateTimeOffset since, CancellationToken ct) => Call($"NightwatchRecords({since:O})", Nightwatch);

    public Task<IReadOnlyList<AgentLifecycle>?> HistoryAsync(string agent, CancellationToken ct) => Call($"History({agent})", Histories.GetValueOrDefault(agent));

    public Task<RunOutput> RunOutputAsync(string agent, string runId, CancellationToken ct) => Call($"RunOutput({agent}, {runId})", RunOutput(agent, runId));

    public Task<RouteDecision> RouteAsync(string task, CancellationToken ct) => Call("Route", Route);

    public Task<CommandResult> StartAgentAsync(StartAgent start, CancellationToken ct) => Call($"StartAgent({start.Agent}, {start.Workdir}, by {start.By})", Start(start));

    public Task<(IReadOnlyList<ScannedCommit> Commits, IReadOnlyList<AddedTodo> Todos)> ScanAsync(string repo, string baseBranch, DateTimeOffset since, CancellationToken ct) =>
        Call($"Scan({repo}, {baseBranch}, {since:O})", (Commits, Todos));

    public Task<string> ChooseBranchAsync(string repo, DateTimeOffset at, string slug, CancellationToken ct) => Call($"ChooseBranch({slug})", Branch);

    public Task PrepareWorktreeAsync(string repo, string baseBranch, string branch, string worktree, string hooksDirectory, CancellationToken ct) =>
        Call($"PrepareWorktree({branch}, {worktree}, {hooksDirectory})", 0);

    public Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string baseBranch, string message, CancellationToken ct) =>
        Call($"Commit({repo}, {worktree}, {message})", Commit);

    public Task<IReadOnlyList<GateResult>> RunGatesAsync(IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> changedFiles, IReadOnlyDictionary<string, string> environment, Redactor secrets, CancellationToken ct)
    {
        (GateEnvironment, GateSecrets) = (environment, secrets);
        return Call($"RunGates({string.Join(",", gates.Select(g => g.Name))}, {worktree}, {string.Join(",", changedFiles)})", Gates);
    }

    public Task<string?> RemoteUrlAsync(string repo, string remote, CancellationToken ct) => Call($"RemoteUrl({remote})", RemoteUrl);

    public Task PushAsync(string repo, string remote, string branch, ForgeCredentials? forge, CancellationToken ct)
    {
        PushedWith = forge;
        return PushFails is { } e ? Task.FromException(e) : Call($"Push({remote}, {branch})", 0);
    }

    public Task RemoveWorktreeAsync(string repo, string worktree, CancellationToken ct) =>
        RemoveFails(worktree) is { } e ? Task.FromException(e) : Call($"RemoveWorktree({worktree})", 0);

    public Task<PullRequestRef> FindOrCreatePullRequestAsync(ForgeSpec forge, string repository, string token, PullRequestDraft draft, CancellationToken ct)
    {
        Opened = (forge, repository, token, draft);
        return Call($"PullRequest({repository}, {draft.Branch})", PullRequest);
    }

    public Task WriteFileAsync(string path, string text, CancellationToken ct)
    {
        Files[path] = text;
        return Call($"WriteFile({path})", 0);
    }

    private Task<T> Call<T>(string call, T answer)
    {
        Calls.Enqueue(call);
        return Task.FromResult(answer);
    }
}
