using DarkFactory.Messages.Projects;

namespace DarkFactory.Messages.Fleet;

/// <summary>
/// fleet.yaml <c>projects:</c>: where personas live and how projects run (see docs/fleet.md). The personas
/// are read from <see cref="PersonasDir"/> with the fleet file (validated with it, reloaded by <c>df reload</c>).
/// </summary>
public sealed record ProjectsSpec
{
    /// <summary>The persona files' directory, relative to the fleet file.</summary>
    public string PersonasDir { get; init; } = "personas";

    /// <summary>The personas read from <see cref="PersonasDir"/>.</summary>
    public IReadOnlyList<Persona> Personas { get; init; } = [];

    /// <summary>A project's max runtime when <c>df init</c> names none (counted only while it is active).</summary>
    public TimeSpan MaxRuntime { get; init; } = TimeSpan.FromHours(12);

    /// <summary>An audit every this much active time (when tasks were completed since the last), and before completion.</summary>
    public TimeSpan AuditInterval { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Projects running at once; the others wait (queued) for a slot.</summary>
    public int Concurrency { get; init; } = 2;

    /// <summary>Attempts per task before it is blocked.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>The persona that plans a project's tasks.</summary>
    public string Planner { get; init; } = "planner";

    /// <summary>The persona that audits completed tasks.</summary>
    public string Auditor { get; init; } = "reviewer";

    /// <summary>The gate commands of each repository (a persona's tests_pass, lint_pass, format_pass run them).</summary>
    public IReadOnlyList<ProjectRepositorySpec> Repositories { get; init; } = [];

    /// <summary>Where project worktrees are made (&lt;root&gt;/&lt;project id&gt;); null: the daemon's worktree root + /projects.</summary>
    public string? WorktreeRoot { get; init; }

    /// <summary>Open a pull request when a project completes (<c>df init --create-pr</c> overrides it per project).</summary>
    public bool CreatePr { get; init; }

    /// <summary>The remote the work branch is pushed to when a PR is opened.</summary>
    public string Remote { get; init; } = "origin";

    public ForgeSpec Forge { get; init; } = new();

    /// <summary>How long a custom check may run.</summary>
    public TimeSpan CheckTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The repository entry for a path (compared as full paths), or null.</summary>
    public ProjectRepositorySpec? RepositoryFor(string repo)
    {
        var full = System.IO.Path.GetFullPath(repo).TrimEnd('/');
        return Repositories.FirstOrDefault(r => System.IO.Path.GetFullPath(r.Path).TrimEnd('/') == full)
            ?? Repositories.FirstOrDefault(r => r.Path == "*");
    }
}

/// <summary>fleet.yaml <c>projects.repositories[]</c>: the commands a persona's criteria map to for one repository (<c>path: "*"</c> for any).</summary>
public sealed record ProjectRepositorySpec
{
    public required string Path { get; init; }

    /// <summary>acceptance_criteria.tests_pass runs this.</summary>
    public GateSpec? Tests { get; init; }

    /// <summary>acceptance_criteria.lint_pass runs this.</summary>
    public GateSpec? Lint { get; init; }

    /// <summary>acceptance_criteria.format_pass runs this.</summary>
    public GateSpec? Format { get; init; }
}
