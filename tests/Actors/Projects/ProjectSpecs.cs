using Akka.Actor;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Projects;
using Xunit;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>
/// What the project specs share: a fleet whose personas are played by tests/agents/persona.sh (plain commands),
/// a state directory outside the worktree for what they were asked, and waits on the read model.
/// </summary>
internal sealed class ProjectSpecs : IDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    public ProjectSpecs()
    {
        State = Directory.CreateTempSubdirectory("df-persona-").FullName;
    }

    /// <summary>persona.sh's $STATE_DIR: plan-n.json / audit-n.json to answer with, the runs it made.</summary>
    public string State { get; }

    /// <summary>The tasks the work personas ran, in order (one line per run).</summary>
    public IReadOnlyList<string> Runs() => File.Exists(Path.Combine(State, "runs")) ? File.ReadAllLines(Path.Combine(State, "runs")) : [];

    public void Answer(string file, string json) => File.WriteAllText(Path.Combine(State, file), json);

    /// <summary>The work personas sleep this long before they work (until <see cref="Wake"/>).</summary>
    /// <param name="task">Only this task's runs sleep (written before the project starts, no race with the task before it).</param>
    public void Sleep(int seconds, string? task = null) =>
        File.WriteAllText(Path.Combine(State, task is null ? "sleep" : "sleep-" + task), seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public void Wake()
    {
        foreach (var file in Directory.EnumerateFiles(State, "sleep*"))
        {
            File.Delete(file);
        }
    }

    public static Persona Persona(string name, string agent, AcceptanceCriteria? criteria = null) => new()
    {
        Name = name,
        Agent = agent,
        Description = $"the {name}",
        Body = $"You are the {name} of this project.",
        AcceptanceCriteria = criteria ?? new AcceptanceCriteria(),
    };

    /// <summary>
    /// planner, engineer (tests_pass: <paramref name="tests"/>), tester (a custom check that its file exists) and
    /// reviewer, each played by a command agent running persona.sh.
    /// </summary>
    public FleetSpec Fleet(string repo, string tests = "test -f t1.txt", int concurrency = 2, int maxAttempts = 3, bool createPr = false, string? forgeUrl = null) => new()
    {
        Agents =
        [
            Agent("planner-cmd", "plan"),
            Agent("engineer-cmd", "work"),
            Agent("tester-cmd", "work"),
            Agent("reviewer-cmd", "audit"),
        ],
        Projects = new ProjectsSpec
        {
            Personas =
            [
                Persona("planner", "planner-cmd"),
                Persona("engineer", "engineer-cmd", new AcceptanceCriteria { TestsPass = true }),
                Persona("tester", "tester-cmd", new AcceptanceCriteria { CustomChecks = [new CustomCheck { Name = "has-test", Command = "test -f t2.txt" }] }),
                Persona("reviewer", "reviewer-cmd"),
            ],
            Concurrency = concurrency,
            MaxAttempts = maxAttempts,
            CreatePr = createPr,
            Forge = new ForgeSpec { BaseUrl = forgeUrl ?? "http://127.0.0.1:9", Repository = "acme/shop", TokenEnv = "DF_TEST_GH_TOKEN" },
            Repositories = [new ProjectRepositorySpec { Path = repo, Tests = new GateSpec { Name = "tests", Command = ["sh", "-c", tests] } }],
        },
    };

    private AgentSpec Agent(string name, string mode) => new()
    {
        Name = name,
        Layer = LayerName.Growth,
        Command = [Repo.Agent("persona.sh"), mode],
        Grace = TimeSpan.FromSeconds(2),
        Env = new Dictionary<string, EnvValue> { ["STATE_DIR"] = EnvValue.Literal(State) },
    };

    /// <summary>Creates a project (asking again while the fleet is not applied yet); its id.</summary>
    public static async Task<string> Init(IActorRef factory, InitProject init)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var result = await factory.Ask<ProjectCommandResult>(init, Wait);
            if (result.Ok || DateTime.UtcNow > deadline || !result.Message.Contains("not applied yet", StringComparison.Ordinal))
            {
                Assert.True(result.Ok, result.Message);
                return result.Project!.Id;
            }

            await Task.Delay(50);
        }
    }

    public static InitProject Init(string repo, string name = "auth-hardening", TimeSpan? maxRuntime = null) =>
        new(name, "Add rate limiting to the login endpoint, with tests", ["engineer", "tester"], repo, "main", maxRuntime);

    public static async Task<ProjectView> View(IActorRef factory, string id) =>
        (await factory.Ask<ProjectFound>(new GetProject(id), Wait)).View ?? throw new InvalidOperationException($"no project {id}");

    /// <summary>The project once <paramref name="done"/> holds (or as it is when the wait is over).</summary>
    public static async Task<ProjectView> Until(IActorRef factory, string id, Func<ProjectView, bool> done, TimeSpan? wait = null)
    {
        var deadline = DateTime.UtcNow + (wait ?? Wait);
        while (true)
        {
            var view = await View(factory, id);
            if (done(view) || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The project once it is no longer running (completed, failed, timeout).</summary>
    public static Task<ProjectView> Ended(IActorRef factory, string id) =>
        Until(factory, id, v => v.Status is ProjectStatus.Completed or ProjectStatus.Failed or ProjectStatus.Timeout);

    public static async Task<IReadOnlyList<ProjectTaskView>> Tasks(IActorRef factory, string id) =>
        (await factory.Ask<ProjectTasksFound>(new GetProjectTasks(id), Wait)).Tasks ?? [];

    public static async Task<ProjectState> StateOf(IActorRef factory, string id) =>
        (await factory.Ask<ProjectStateFound>(new GetProjectState(id), Wait)).State ?? throw new InvalidOperationException($"no project {id}");

    public void Dispose()
    {
        try
        {
            Directory.Delete(State, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
