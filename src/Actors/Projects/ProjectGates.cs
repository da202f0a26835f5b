using DarkFactory.Actors.Processes;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// A persona's acceptance criteria as the gates of its tasks: tests_pass, lint_pass and format_pass run the
/// commands of the project's repository (<c>projects.repositories</c>), custom checks their own command under
/// <c>sh -c</c>. Pure.
/// </summary>
public static class ProjectGates
{
    /// <returns>The gates, or the error that names what is missing.</returns>
    public static (IReadOnlyList<GateSpec> Gates, string? Error) For(Persona persona, string repo, ProjectsSpec projects)
    {
        var criteria = persona.AcceptanceCriteria;
        var repository = projects.RepositoryFor(repo);
        var gates = new List<GateSpec>();
        var missing = new List<string>();

        void Add(bool wanted, string name, GateSpec? command)
        {
            if (!wanted)
            {
                return;
            }

            if (command is null || command.Command.Count == 0)
            {
                missing.Add(name);
                return;
            }

            gates.Add(command with { Name = name });
        }

        Add(criteria.TestsPass, "tests", repository?.Tests);
        Add(criteria.LintPass, "lint", repository?.Lint);
        Add(criteria.FormatPass, "format", repository?.Format);
        if (missing.Count > 0)
        {
            return ([], $"persona '{persona.Name}' requires {string.Join(", ", missing.Select(m => m + "_pass"))}, but fleet.yaml projects.repositories has no {string.Join("/", missing)} command for {repo}");
        }

        foreach (var check in criteria.CustomChecks)
        {
            gates.Add(new GateSpec { Name = check.Name, Command = ["sh", "-c", check.Command], ExpectExit = check.ExpectedExitCode, Timeout = projects.CheckTimeout });
        }

        return (gates, null);
    }

    /// <summary>The gates of the persona named <paramref name="personaName"/>, or the error (an unknown persona, a missing command).</summary>
    public static (IReadOnlyList<GateSpec> Gates, string? Error) For(string personaName, PersonaCatalog personas, string repo, ProjectsSpec projects) =>
        personas.Find(personaName) is { } persona
            ? For(persona, repo, projects)
            : ([], $"persona '{personaName}' is not in projects.personas_dir ({projects.PersonasDir})");

    /// <summary>A task's gates' whole environment: the agents' allowlist of the daemon's (no secret), the run marker and the ids.</summary>
    public static Dictionary<string, string> Environment(IReadOnlyDictionary<string, string?> daemon, string marker, string projectId, string taskId)
    {
        var env = ChildEnvironment.Allowlisted(daemon);
        env[ProcessTree.RunMarker] = marker;
        env["DF_PROJECT"] = projectId;
        env["DF_TASK_ID"] = taskId;
        return env;
    }

    /// <summary>The names of a persona's checks, as its task prompt lists them.</summary>
    public static IReadOnlyList<string> Names(IReadOnlyList<GateSpec> gates) => gates.Select(g => g.Name).ToList();
}
