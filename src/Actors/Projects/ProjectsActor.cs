using Akka.Persistence;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Supervision;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// The projects at /user/factory/projects (persistence id <c>projects</c>): a persistent registry of project ids
/// and names, one <see cref="ProjectActor"/> per project (each under a <see cref="JournalKeeper"/>), created by
/// <c>df init</c> and recovered at start. It checks an init (nothing is made when the input is bad), makes the
/// work branch and worktree, hands <c>projects.concurrency</c> slots to the projects that want to run (the rest
/// wait, queued in order), and routes the runs' events (by their project id) to their project. In a cluster it is a
/// singleton (persistence id <c>projects</c>): its read model is its child, its runs start on the nodes their agents are
/// placed on, and their events reach it from there (<c>NodeProjectEvent</c>); after its node is lost it recovers on the
/// next and every project resumes from its journal as after a restart.
/// </summary>
public sealed class ProjectsActor : PersistentActorBase
{
    private readonly IActorRef _factory;
    private ProjectSettings _settings;
    private readonly List<ProjectRegistered> _projects = [];
    private readonly Dictionary<string, IActorRef> _children = new(StringComparer.Ordinal);
    private readonly HashSet<string> _creating = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private readonly List<string> _queue = [];
    private ApplyFleet? _fleet;

    public ProjectsActor(IActorRef factory, ProjectSettings settings)
        : base(settings.PersistenceId, settings.SnapshotEvery, settings.Clock)
    {
        _factory = factory;
        _settings = settings;

        RecoverSnapshot<ProjectRegistrySnapshot>(snapshot =>
        {
            _projects.Clear();
            _projects.AddRange(snapshot.Projects);
        });
        Recover<ProjectRegistered>(_projects.Add);

        Command<ApplyFleet>(OnFleet);
        Command<InitProject>(OnInit);
        Command<InitChecked>(OnInitChecked);
        Command<StartProject>(m => ToProject(m.Project, m));
        Command<PauseProject>(m => ToProject(m.Project, m));
        Command<ResumeProject>(m => ToProject(m.Project, m));
        Command<GetProjectState>(m => ToProject(m.Project, m));
        Command<GetProjects>(q => _settings.Views.Forward(q)); // a cluster's singleton: its read model is its child
        Command<GetProject>(q => _settings.Views.Forward(q));
        Command<GetProjectTasks>(q => _settings.Views.Forward(q));
        Command<RequestSlot>(OnRequestSlot);
        Command<ReleaseSlot>(OnReleaseSlot);
        Command<AgentLifecycle>(e => ToRun(e.ProjectId, e));
        Command<AgentOutput>(e =>
        {
            Output?.Taken(e);
            ToRun(e.ProjectId, e);
        });
        Command<AgentUsage>(e => ToRun(e.ProjectId, e));
        Command<RouteChosen>(e => ToRun(e.ProjectId, e));
        Command<DrainFleet>(m =>
        {
            foreach (var child in _children.Values)
            {
                child.Tell(m);
            }
        });
    }

    /// <param name="factory">Where the projects' runs are started and routed (the factory).</param>
    public static Props Props(IActorRef factory, ProjectSettings settings) =>
        Akka.Actor.Props.Create(() => new ProjectsActor(factory, settings));

    protected override void PreStart()
    {
        base.PreStart();
        if (_settings.Views.IsNobody())
        {
            // no read model given (a cluster's singleton): its own, answering every node's reads through the singleton
            _settings = _settings with { Views = Context.ActorOf(ProjectViewsActor.Props(_settings.Clock), "views") };
        }

        Subscribe(typeof(AgentLifecycle), typeof(AgentOutput), typeof(AgentUsage), typeof(RouteChosen));
        JoinOutput("projects");
        _ = Task.Run(ProjectGit.WarmUp); // libgit2 loaded before the first commit needs it (a failure shows there)
    }

    protected override void OnReplaySuccess()
    {
        _settings.Views.Tell(new ProjectsExpected(_projects.Select(p => p.ProjectId).ToList()));
        foreach (var p in _projects)
        {
            Spawn(p.ProjectId);
        }

        Log.Info("Projects recovered: {0}", _projects.Count);
    }

    private IActorRef Spawn(string id)
    {
        var child = Context.ActorOf(JournalKeeper.Props(ProjectActor.Props(id, _factory, Self, _settings), "project-" + id), "project-" + id);
        _children[id] = child;
        if (_fleet is not null)
        {
            child.Tell(_fleet);
        }

        return child;
    }

    private void OnFleet(ApplyFleet m)
    {
        _fleet = m;
        foreach (var child in _children.Values)
        {
            child.Tell(m);
        }

        GrantWaiting(); // the concurrency may have grown
    }

    /// <summary>An id, or a name (ignoring case).</summary>
    private string? Resolve(string project) =>
        _children.ContainsKey(project) ? project : _projects.FirstOrDefault(p => string.Equals(p.Name, project, StringComparison.OrdinalIgnoreCase))?.ProjectId;

    private void ToProject(string project, object message)
    {
        if (Resolve(project) is { } id)
        {
            _children[id].Forward(message);
        }
        else if (message is GetProjectState)
        {
            Sender.Tell(new ProjectStateFound(project, null));
        }
        else
        {
            Sender.Tell(new ProjectCommandResult(false, ProjectCommandOutcome.NotFound, $"no project '{project}' (see df list)"));
        }
    }

    private void ToRun(string? projectId, object e)
    {
        if (projectId is not null && _children.TryGetValue(projectId, out var child))
        {
            child.Tell(e);
        }
    }

    // ---------------------------------------------------------------- init

    private sealed record InitChecked(InitProject Command, IActorRef ReplyTo, string Id, string? Repo, string? Branch, string? Worktree, string? Error);

    private void OnInit(InitProject cmd)
    {
        if (_fleet is null)
        {
            Sender.Tell(new ProjectCommandResult(false, ProjectCommandOutcome.Invalid, "the fleet is not applied yet; try again in a moment"));
            return;
        }

        var projects = _fleet.Fleet.Projects;
        var names = _projects.Select(p => p.Name).Concat(_creating).ToList();
        if (ProjectValidation.Check(cmd, projects, names, _children.Keys) is { } error)
        {
            Sender.Tell(new ProjectCommandResult(false, ProjectCommandOutcome.Invalid, error));
            return;
        }

        string id;
        do
        {
            id = ProjectNames.NewId(_settings.Random);
        }
        while (_children.ContainsKey(id));

        var name = cmd.Name.Trim();
        _creating.Add(name);
        var replyTo = Sender;
        var root = projects.WorktreeRoot is { Length: > 0 } configured ? Path.GetFullPath(configured) : _settings.WorktreeRoot;
        var worktree = Path.Combine(root, id);
        var hooks = Path.Combine(_settings.ProjectsDirectory, id, "hooks");
        var stem = ProjectNames.BranchStem(name, Now);
        var ports = _settings.Ports;
        CheckAsync().PipeTo(Self);

        async Task<InitChecked> CheckAsync()
        {
            try
            {
                var (repo, problem) = await ports.CheckRepositoryAsync(cmd.Repo, cmd.BaseBranch, CancellationToken.None);
                if (repo is null)
                {
                    return new InitChecked(cmd, replyTo, id, null, null, null, problem);
                }

                if (ProjectValidation.CheckGates(cmd.Personas, repo, projects) is { } gates)
                {
                    return new InitChecked(cmd, replyTo, id, null, null, null, gates);
                }

                var branch = await ports.ChooseBranchAsync(repo, stem, CancellationToken.None);
                await ports.PrepareWorktreeAsync(repo, cmd.BaseBranch, branch, worktree, hooks, CancellationToken.None);
                return new InitChecked(cmd, replyTo, id, repo, branch, worktree, null);
            }
            catch (GitException e)
            {
                return new InitChecked(cmd, replyTo, id, null, null, null, "worktree: " + e.Message);
            }
        }
    }

    private void OnInitChecked(InitChecked m)
    {
        var cmd = m.Command;
        var name = cmd.Name.Trim();
        _creating.Remove(name);
        if (m.Error is { } error || _fleet is null)
        {
            m.ReplyTo.Tell(new ProjectCommandResult(false, ProjectCommandOutcome.Invalid, m.Error ?? "the fleet is not applied yet"));
            return;
        }

        var projects = _fleet.Fleet.Projects;
        var created = new ProjectCreated(
            m.Id,
            Now,
            name,
            cmd.Description.Trim(),
            m.Repo!,
            cmd.BaseBranch,
            m.Branch!,
            m.Worktree!,
            cmd.Personas.Distinct(StringComparer.Ordinal).ToList(),
            cmd.MaxRuntime ?? projects.MaxRuntime,
            projects.AuditInterval,
            Math.Max(1, projects.MaxAttempts),
            projects.Planner,
            projects.Auditor,
            cmd.CreatePr ?? projects.CreatePr,
            cmd.Parent);
        Persist(new ProjectRegistered(m.Id, name, Now), registered =>
        {
            _projects.Add(registered);
            SnapshotWhenDue(() => new ProjectRegistrySnapshot(_projects.ToList()));
            Log.Info("Project {0} ({1}) created on {2}", m.Id, name, m.Branch);
            Spawn(m.Id).Tell(new CreateProject(created, m.ReplyTo));
            if (cmd.Parent is { } parent && _children.TryGetValue(parent, out var parentActor))
            {
                parentActor.Tell(new AddChild(m.Id));
            }
        });
    }

    // ---------------------------------------------------------------- slots (projects.concurrency)

    private int Concurrency => Math.Max(1, _fleet?.Fleet.Projects.Concurrency ?? new ProjectsSpec().Concurrency);

    private void OnRequestSlot(RequestSlot m)
    {
        if (_running.Contains(m.ProjectId) || (_running.Count < Concurrency && _queue.Count == 0))
        {
            _running.Add(m.ProjectId);
            Sender.Tell(new SlotGranted());
            return;
        }

        if (!_queue.Contains(m.ProjectId))
        {
            _queue.Add(m.ProjectId);
        }

        Sender.Tell(new SlotQueued(_queue.IndexOf(m.ProjectId), Concurrency));
        GrantWaiting();
    }

    private void OnReleaseSlot(ReleaseSlot m)
    {
        _running.Remove(m.ProjectId);
        _queue.Remove(m.ProjectId);
        GrantWaiting();
    }

    private void GrantWaiting()
    {
        while (_running.Count < Concurrency && _queue.Count > 0)
        {
            var id = _queue[0];
            _queue.RemoveAt(0);
            _running.Add(id);
            if (_children.TryGetValue(id, out var child))
            {
                child.Tell(new SlotGranted());
            }
        }
    }
}
