namespace DarkFactory.Actors.Projects;

/// <summary>
/// The read model of the projects at /user/factory/project-views: it answers <c>df list|status|tasks|export|costs</c>
/// and /api/projects from the states the project actors send after each persisted event. Its mailbox is its
/// own, so a query never waits behind a project's journal write. Until every project the registry recovered
/// has reported (or <see cref="ReadyAfter"/>), queries are stashed; after that, a query for a journaled project that
/// has still not reported (its journal is slow or broken) is answered <c>Recovering</c>, never unknown.
/// </summary>
public sealed class ProjectViewsActor : ReceiveActor, IWithStash, IWithTimers
{
    /// <summary>Queries are answered after this even when a project has not reported (its journal is broken).</summary>
    public static readonly TimeSpan ReadyAfter = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, ProjectState> _states = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;
    private HashSet<string>? _expected;

    public ProjectViewsActor(TimeProvider clock)
    {
        _clock = clock;
        Receive<ProjectsExpected>(m =>
        {
            _expected = m.ProjectIds.ToHashSet(StringComparer.Ordinal);
            TryReady();
        });
        Receive<ProjectStateChanged>(m =>
        {
            Changed(m);
            TryReady();
        });
        Receive<Ready>(_ => BecomeReady());
        ReceiveAny(_ => Stash.Stash());
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(TimeProvider clock) => Akka.Actor.Props.Create(() => new ProjectViewsActor(clock));

    protected override void PreStart() => Timers.StartSingleTimer("ready", new Ready(), ReadyAfter);

    private void TryReady()
    {
        if (_expected is not null && _expected.All(_states.ContainsKey))
        {
            BecomeReady();
        }
    }

    private void BecomeReady()
    {
        Timers.Cancel("ready");
        Become(Answering);
        Stash.UnstashAll();
    }

    private void Answering()
    {
        Receive<ProjectStateChanged>(Changed);
        Receive<ProjectsExpected>(_ => { });
        Receive<Ready>(_ => { });
        Receive<GetProjects>(q =>
        {
            var now = _clock.GetUtcNow();
            Sender.Tell(new ProjectsList(_states.Values
                .Where(s => q.Status is null || s.Status == q.Status)
                .OrderByDescending(s => s.Created.At)
                .Select(s => ProjectViews.Status(s, now))
                .ToList()));
        });
        Receive<GetProject>(q => Sender.Tell(new ProjectFound(q.Project, Find(q.Project) is { } s ? ProjectViews.Status(s, _clock.GetUtcNow()) : null, Recovering(q.Project))));
        Receive<GetProjectTasks>(q => Sender.Tell(new ProjectTasksFound(q.Project, Find(q.Project) is { } s ? ProjectViews.Tasks(s) : null, Recovering(q.Project))));
        Receive<GetProjectState>(q => Sender.Tell(new ProjectStateFound(q.Project, Find(q.Project), Recovering(q.Project))));
    }

    private void Changed(ProjectStateChanged m) => _states[m.State.Created.ProjectId] = m.State;

    /// <summary>A journaled project (by id) that has not reported yet.</summary>
    private bool Recovering(string project) => _expected?.Contains(project) == true && !_states.ContainsKey(project);

    /// <summary>By id, else by name (ignoring case).</summary>
    private ProjectState? Find(string project) =>
        _states.GetValueOrDefault(project) ?? _states.Values.FirstOrDefault(s => string.Equals(s.Created.Name, project, StringComparison.OrdinalIgnoreCase));

    private sealed record Ready;
}
