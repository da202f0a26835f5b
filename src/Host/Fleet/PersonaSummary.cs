namespace DarkFactory.Host.Fleet;

/// <summary>
/// One persona as <c>df personas --json</c> and GET /api/personas show it: who plays it (an agent, else the
/// capabilities the router matches), what it must pass, and the file it came from. The body (instructions) is left out.
/// </summary>
public sealed record PersonaSummary(
    string Name,
    string Version,
    string Description,
    string? Agent,
    IReadOnlyList<string> Capabilities,
    IReadOnlyList<string> Checks,
    string? File)
{
    public static PersonaSummary From(Persona p) => new(p.Name, p.Version, p.Description, p.Agent, p.Capabilities, ChecksOf(p.AcceptanceCriteria), p.SourcePath);

    /// <summary>The acceptance criteria by name: tests, lint, format (the repository's commands), then the custom checks.</summary>
    public static IReadOnlyList<string> ChecksOf(AcceptanceCriteria c) =>
    [
        .. c.TestsPass ? ["tests"] : Array.Empty<string>(),
        .. c.LintPass ? ["lint"] : Array.Empty<string>(),
        .. c.FormatPass ? ["format"] : Array.Empty<string>(),
        .. c.CustomChecks.Select(x => x.Name),
    ];

    public static IReadOnlyList<PersonaSummary> List(IEnumerable<Persona> personas) =>
        [.. personas.OrderBy(p => p.Name, StringComparer.Ordinal).Select(From)];
}
