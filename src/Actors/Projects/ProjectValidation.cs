namespace DarkFactory.Actors.Projects;

/// <summary>
/// The checks of <c>df init</c> that need no git: name, description, personas (and the planner and auditor),
/// max runtime, parent. Pure; each error names its field, and a project with an error is not created.
/// </summary>
public static class ProjectValidation
{
    public const int MaxName = 100;
    public static readonly TimeSpan LongestRuntime = TimeSpan.FromDays(30);

    /// <param name="names">Names of the existing projects (and of those being created), compared ignoring case.</param>
    /// <param name="ids">Ids of the existing projects (a parent must be one).</param>
    public static string? Check(InitProject cmd, ProjectsSpec projects, IReadOnlyCollection<string> names, IReadOnlyCollection<string> ids)
    {
        var name = cmd.Name.Trim();
        if (name.Length == 0)
        {
            return "name: empty";
        }

        if (name.Length > MaxName || name.Any(char.IsControl))
        {
            return $"name: at most {MaxName} printable characters";
        }

        if (names.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return $"name: a project named '{name}' exists already (names are unique; see df list)";
        }

        if (string.IsNullOrWhiteSpace(cmd.Description))
        {
            return "description: empty (say what the project is to achieve)";
        }

        if (string.IsNullOrWhiteSpace(cmd.Repo))
        {
            return "repo: empty (the git repository the project works on)";
        }

        if (string.IsNullOrWhiteSpace(cmd.BaseBranch))
        {
            return "base: empty (the branch the work starts from)";
        }

        var catalog = new PersonaCatalog(projects.Personas);
        var known = string.Join(", ", catalog.All.Select(p => p.Name));
        if (cmd.Personas.Count == 0)
        {
            return "persona: none given (e.g. --persona engineer,tester)";
        }

        foreach (var p in cmd.Personas)
        {
            if (catalog.Find(p) is null)
            {
                return $"persona: '{p}' is not in projects.personas_dir ({projects.PersonasDir}; known: {(known.Length == 0 ? "none" : known)})";
            }
        }

        foreach (var (key, persona) in new[] { ("projects.planner", projects.Planner), ("projects.auditor", projects.Auditor) })
        {
            if (catalog.Find(persona) is null)
            {
                return $"{key}: persona '{persona}' is not in projects.personas_dir ({projects.PersonasDir}; known: {(known.Length == 0 ? "none" : known)})";
            }
        }

        if (cmd.MaxRuntime is { } runtime && (runtime <= TimeSpan.Zero || runtime > LongestRuntime))
        {
            return $"max_runtime: {runtime} is not a duration above 0 and at most {LongestRuntime.TotalDays:0} days";
        }

        if (cmd.Parent is { } parent && !ids.Contains(parent))
        {
            return $"parent: no project '{parent}'";
        }

        return null;
    }

    /// <summary>After the repository is known: every persona's acceptance criteria must map to its commands.</summary>
    public static string? CheckGates(IEnumerable<string> personas, string repo, ProjectsSpec projects)
    {
        var catalog = new PersonaCatalog(projects.Personas);
        foreach (var name in personas)
        {
            if (catalog.Find(name) is { } persona && ProjectGates.For(persona, repo, projects).Error is { } error)
            {
                return "persona: " + error;
            }
        }

        return null;
    }
}
