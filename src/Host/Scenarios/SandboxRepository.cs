using System.Security.Cryptography;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;

namespace DarkFactory.Host.Scenarios;

/// <summary>
/// One gate run as a scenario scripts it: every gate passes or fails (<see cref="All"/>), and named gates differ
/// (<see cref="ByName"/>, a configured gate's name or a built-in one's: worktree-paths, no-secrets).
/// </summary>
public sealed record GateScript(bool All, IReadOnlyDictionary<string, bool> ByName)
{
    public static GateScript Pass { get; } = new(true, new Dictionary<string, bool>());

    public static GateScript Fail { get; } = new(false, new Dictionary<string, bool>());

    /// <summary>
    /// The results of the built-in checks and <paramref name="gates"/> as this script says; a failing script over no
    /// gate at all fails a stand-in gate named <c>scenario</c> (so "fail" always fails the run).
    /// </summary>
    public IReadOnlyList<GateResult> Results(IReadOnlyList<GateSpec> gates)
    {
        var names = new List<(string Name, int Expect)> { (GateRunner.PathsGate, 0), (GateRunner.SecretsGate, 0) };
        names.AddRange(gates.Select(g => (g.Name, g.ExpectExit)));
        var results = names.Select(n => Result(n.Name, ByName.TryGetValue(n.Name, out var passes) ? passes : All || IsBuiltIn(n.Name), n.Expect)).ToList();
        if (!All && gates.Count == 0 && !ByName.Any(b => !b.Value))
        {
            results.Add(Result("scenario", false, 0));
        }

        return results;
    }

    private static bool IsBuiltIn(string name) => name is GateRunner.PathsGate or GateRunner.SecretsGate;

    private static GateResult Result(string name, bool passes, int expect) =>
        new(name, passes, passes ? expect : expect == 0 ? 1 : 0, expect, 0, Output: passes ? "passed (scripted by the scenario)" : "failed (scripted by the scenario)");
}

/// <summary>
/// What the repository, the gates and the forge do for the compound review or the projects in a sandbox
/// (<c>review:</c> and <c>projects:</c> of a scenario file). Defaults: the scan finds nothing in git (the fleet's own
/// records still make findings), each agent's work changes one file, every gate passes.
/// </summary>
public sealed record RepositoryScript
{
    public static RepositoryScript Default { get; } = new();

    /// <summary>TODO lines the review's scan finds added in the last day ("path: text").</summary>
    public IReadOnlyList<string> Todos { get; init; } = [];

    /// <summary>The files each agent run's work changes (committed by the daemon); empty: nothing changed.</summary>
    public IReadOnlyList<string> Changes { get; init; } = ["CHANGES.md"];

    /// <summary>Gate runs in turn (the review's n-th review, a project task's n-th gate run); the last repeats; none: every gate passes.</summary>
    public IReadOnlyList<GateScript> Gates { get; init; } = [];

    /// <summary>The n-th (from 1) gate run's script.</summary>
    public GateScript GatesOf(int n) => Gates.Count == 0 ? GateScript.Pass : Gates[Math.Clamp(n - 1, 0, Gates.Count - 1)];
}

/// <summary>
/// The sandbox's stand-in for every repository, worktree, gate and forge the compound review and the projects reach:
/// nothing real is read, written, run or pushed. Branches, commits and pull requests exist only here (in memory, for
/// the scenario's run); a worktree is an empty directory, and only inside the sandbox's own data directory. A daemon
/// restart in the scenario keeps it (a branch made before stays taken, a commit found by its trailer is found again).
/// </summary>
public sealed class SandboxRepository(string sandboxRoot, RepositoryScript review, RepositoryScript projects)
{
    /// <summary>The remote every sandbox repository pretends to have (a forge repository is read from it).</summary>
    public const string RemoteUrl = "https://github.com/scenario/sandbox.git";

    private static readonly HttpClient NoHttp = new() { Timeout = TimeSpan.FromSeconds(1) };

    private readonly object _gate = new();
    private readonly HashSet<string> _branches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _commits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _gateRuns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _prs = new(StringComparer.Ordinal);
    private readonly List<string> _reviews = [];
    private readonly RepositoryScript _reviewScript = review;
    private readonly RepositoryScript _projectScript = projects;

    /// <summary>Where the sandbox's data lives: the only place a worktree directory is made.</summary>
    public string Root { get; set; } = sandboxRoot;

    /// <summary>The review's ports, given the gateway (asks to the fleet go to the sandbox's own actors).</summary>
    public IReviewPorts ReviewPortsFor(IActorRef factory) => new ReviewSide(this, new ReviewPorts(factory, TimeSpan.FromSeconds(10), NoHttp));

    /// <summary>The projects' ports.</summary>
    public IProjectPorts ProjectPorts() => new ProjectSide(this);

    private string PickBranch(string stem)
    {
        lock (_gate)
        {
            var branch = Worktrees.PickBranch(stem, _branches);
            _branches.Add(branch);
            return branch;
        }
    }

    /// <summary>A worktree is an empty directory, and only inside the sandbox (a configured worktree_root elsewhere is not made).</summary>
    private void MakeWorktree(string worktree)
    {
        var full = Path.GetFullPath(worktree);
        if (full.StartsWith(Path.GetFullPath(Root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            Directory.CreateDirectory(full);
        }
    }

    /// <summary>The commit of <paramref name="key"/> (a worktree and a trailer or message): made once, found again after.</summary>
    private (string? Commit, IReadOnlyList<string> Files) Commit(string key, RepositoryScript script)
    {
        if (script.Changes.Count == 0)
        {
            return (null, []);
        }

        lock (_gate)
        {
            if (!_commits.TryGetValue(key, out var sha))
            {
                sha = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(key)));
                _commits[key] = sha;
            }

            return (sha, script.Changes);
        }
    }

    private int NextGateRun(string key)
    {
        lock (_gate)
        {
            var n = _gateRuns.GetValueOrDefault(key) + 1;
            _gateRuns[key] = n;
            return n;
        }
    }

    private int ReviewNumber(string worktree)
    {
        lock (_gate)
        {
            var i = _reviews.IndexOf(worktree);
            if (i < 0)
            {
                _reviews.Add(worktree);
                i = _reviews.Count - 1;
            }

            return i + 1;
        }
    }

    private PullRequestRef PullRequest(string branch)
    {
        lock (_gate)
        {
            if (_prs.TryGetValue(branch, out var number))
            {
                return new PullRequestRef(number, Url(number), Existing: true);
            }

            number = _prs.Count + 1;
            _prs[branch] = number;
            return new PullRequestRef(number, Url(number), Existing: false);
        }

        static string Url(int n) => $"https://github.com/scenario/sandbox/pull/{n}";
    }

    /// <summary>The compound review's ports: the fleet's answers from the sandbox's actors, everything else scripted.</summary>
    private sealed class ReviewSide(SandboxRepository sandbox, IReviewPorts fleet) : IReviewPorts
    {
        public Task<NightwatchRecords?> NightwatchRecordsAsync(DateTimeOffset since, CancellationToken ct) => fleet.NightwatchRecordsAsync(since, ct);

        public Task<IReadOnlyList<AgentLifecycle>?> HistoryAsync(string agent, CancellationToken ct) => fleet.HistoryAsync(agent, ct);

        public Task<RouteDecision> RouteAsync(string task, CancellationToken ct) => fleet.RouteAsync(task, ct);

        public Task<CommandResult> StartAgentAsync(StartAgent start, CancellationToken ct) => fleet.StartAgentAsync(start, ct);

        public Task<(IReadOnlyList<ScannedCommit> Commits, IReadOnlyList<AddedTodo> Todos)> ScanAsync(string repo, string baseBranch, DateTimeOffset since, CancellationToken ct)
        {
            var todos = sandbox._reviewScript.Todos.Select((t, i) =>
            {
                var colon = t.IndexOf(':', StringComparison.Ordinal);
                return colon > 0 ? new AddedTodo("scenario", t[..colon].Trim(), i + 1, t[(colon + 1)..].Trim()) : new AddedTodo("scenario", "TODO", i + 1, t.Trim());
            }).ToList();
            return Task.FromResult<(IReadOnlyList<ScannedCommit>, IReadOnlyList<AddedTodo>)>(([], todos));
        }

        public Task<string> ChooseBranchAsync(string repo, DateTimeOffset at, string slug, CancellationToken ct) =>
            Task.FromResult(sandbox.PickBranch(Worktrees.BranchStem(at, slug)));

        public Task PrepareWorktreeAsync(string repo, string baseBranch, string branch, string worktree, string hooksDirectory, CancellationToken ct)
        {
            sandbox.MakeWorktree(worktree);
            return Task.CompletedTask;
        }

        public Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string baseBranch, string message, CancellationToken ct) =>
            Task.FromResult(sandbox.Commit(worktree, sandbox._reviewScript));

        public Task<IReadOnlyList<GateResult>> RunGatesAsync(IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> changedFiles, IReadOnlyDictionary<string, string> environment, Redactor secrets, CancellationToken ct) =>
            Task.FromResult(sandbox._reviewScript.GatesOf(sandbox.ReviewNumber(worktree)).Results(gates));

        public Task<string?> RemoteUrlAsync(string repo, string remote, CancellationToken ct) => Task.FromResult<string?>(RemoteUrl);

        public Task PushAsync(string repo, string remote, string branch, ForgeCredentials? forge, CancellationToken ct) => Task.CompletedTask;

        public Task RemoveWorktreeAsync(string repo, string worktree, CancellationToken ct) => Task.CompletedTask;

        public Task<PullRequestRef> FindOrCreatePullRequestAsync(ForgeSpec forge, string repository, string token, PullRequestDraft draft, CancellationToken ct) =>
            Task.FromResult(sandbox.PullRequest(draft.Branch));

        public Task WriteFileAsync(string path, string text, CancellationToken ct) => Task.CompletedTask;
    }

    /// <summary>The projects' ports: a repository that is always there, scripted commits and gates, a forge that opens each branch's PR once.</summary>
    private sealed class ProjectSide(SandboxRepository sandbox) : IProjectPorts
    {
        public Task<(string? Repo, string? Error)> CheckRepositoryAsync(string repo, string baseBranch, CancellationToken ct) =>
            Task.FromResult<(string?, string?)>((Path.GetFullPath(repo), null));

        public Task<string> ChooseBranchAsync(string repo, string stem, CancellationToken ct) => Task.FromResult(sandbox.PickBranch(stem));

        public Task PrepareWorktreeAsync(string repo, string baseBranch, string branch, string worktree, string hooksDirectory, CancellationToken ct)
        {
            sandbox.MakeWorktree(worktree);
            return Task.CompletedTask;
        }

        public Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string message, string trailer, CancellationToken ct) =>
            Task.FromResult(sandbox.Commit(worktree + "\n" + trailer, sandbox._projectScript));

        public Task<IReadOnlyList<GateResult>> RunGatesAsync(
            IReadOnlyList<GateSpec> gates, string worktree, IReadOnlyList<string> files, IReadOnlyDictionary<string, string> environment, Redactor secrets,
            GateSandbox? gateSandbox, RunCgroups? cgroups, CancellationToken ct)
        {
            var task = environment.GetValueOrDefault("DF_PROJECT") + "/" + environment.GetValueOrDefault("DF_TASK_ID");
            return Task.FromResult(sandbox._projectScript.GatesOf(sandbox.NextGateRun(task)).Results(gates));
        }

        public Task<PullRequestRef> OpenPullRequestAsync(
            string repo, string remote, ForgeSpec forge, IReadOnlyDictionary<string, string?> environment, HttpClient http,
            string branch, string baseBranch, string title, string body, CancellationToken ct) =>
            Task.FromResult(sandbox.PullRequest(branch));
    }
}
