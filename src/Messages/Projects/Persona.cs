namespace DarkFactory.Messages.Projects;

/// <summary>
/// A persona: a markdown file with YAML front matter under <c>projects.personas_dir</c>. The body is the
/// persona's instructions, put before every task it runs; the acceptance criteria are run as gates in the
/// project's worktree after each of its runs. <see cref="Agent"/> names the fleet agent that plays it;
/// without one, <see cref="Capabilities"/> choose an agent through the router.
/// </summary>
public sealed record Persona
{
    public required string Name { get; init; }

    public string Version { get; init; } = "1";

    public string Description { get; init; } = string.Empty;

    /// <summary>What the agent that plays it must be able to do (the router's best fit); used when <see cref="Agent"/> is null.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>The fleet agent that plays this persona; null: the router's best fit for <see cref="Capabilities"/>.</summary>
    public string? Agent { get; init; }

    public AcceptanceCriteria AcceptanceCriteria { get; init; } = new();

    /// <summary>The markdown after the front matter: the persona's instructions.</summary>
    public string Body { get; init; } = string.Empty;

    /// <summary>The file it was read from, for messages; null when built in code.</summary>
    public string? SourcePath { get; init; }
}

/// <summary>
/// What a persona's work must pass. tests/lint/format map to the commands configured for the project's
/// repository (fleet.yaml <c>projects.repositories</c>); custom checks carry their own command.
/// </summary>
public sealed record AcceptanceCriteria
{
    public bool TestsPass { get; init; }

    public bool LintPass { get; init; }

    public bool FormatPass { get; init; }

    public IReadOnlyList<CustomCheck> CustomChecks { get; init; } = [];

    public bool Any => TestsPass || LintPass || FormatPass || CustomChecks.Count > 0;
}

/// <summary>A persona's own check: a shell command run in the worktree (<c>sh -c</c>) that must exit with <see cref="ExpectedExitCode"/>.</summary>
public sealed record CustomCheck
{
    public required string Name { get; init; }

    public required string Command { get; init; }

    public int ExpectedExitCode { get; init; }
}
