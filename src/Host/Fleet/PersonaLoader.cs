using DarkFactory.Actors.Projects;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>
/// Reads <c>projects.personas_dir</c>: every <c>*.md</c> file is a persona, YAML front matter between two
/// <c>---</c> lines and its instructions after. Problems are reported like fleet.yaml's (file:line:column: field),
/// so a bad persona makes the whole load fail and <c>df reload</c> refuses it while the running fleet goes on.
/// </summary>
public static class PersonaLoader
{
    /// <param name="directory">The personas' directory (full path).</param>
    /// <param name="agents">The fleet's agent names: a persona's <c>agent</c> must be one of them.</param>
    /// <param name="diagnostics">Where problems go.</param>
    public static PersonaCatalog Load(string directory, IReadOnlyCollection<string> agents, List<FleetDiagnostic> diagnostics)
    {
        var personas = new List<Persona>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(directory, "*.md").Order(StringComparer.Ordinal))
        {
            if (Read(file, agents, diagnostics) is not { } persona)
            {
                continue;
            }

            if (seen.TryGetValue(persona.Name, out var first))
            {
                diagnostics.Add(new FleetDiagnostic(DiagnosticSeverity.Error, file, 2, 1, "name", $"persona '{persona.Name}' is also defined in {first}"));
                continue;
            }

            seen[persona.Name] = file;
            personas.Add(persona);
        }

        return new PersonaCatalog(personas);
    }

    /// <summary>One persona file; null (with its errors in <paramref name="diagnostics"/>) when it cannot be used.</summary>
    public static Persona? Read(string file, IReadOnlyCollection<string> agents, List<FleetDiagnostic> diagnostics)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            diagnostics.Add(new FleetDiagnostic(DiagnosticSeverity.Error, file, 1, 1, "", $"cannot read persona file: {ex.Message}"));
            return null;
        }

        var (frontMatter, body, error) = Split(text);
        if (error is not null)
        {
            diagnostics.Add(new FleetDiagnostic(DiagnosticSeverity.Error, file, 1, 1, "", error));
            return null;
        }

        var stream = new YamlStream();
        try
        {
            // The front matter keeps its opening "---" (a YAML document start), so lines are the file's own.
            stream.Load(new StringReader(frontMatter!));
        }
        catch (YamlException ex)
        {
            diagnostics.Add(new FleetDiagnostic(DiagnosticSeverity.Error, file, (int)ex.Start.Line, (int)ex.Start.Column, "", $"invalid YAML front matter: {ex.Message}"));
            return null;
        }

        var before = diagnostics.Count;
        var map = new FleetSourceMap();
        var reader = new FleetReader(file, Path.GetDirectoryName(file)!, map, diagnostics);
        if (stream.Documents.Count == 0)
        {
            diagnostics.Add(new FleetDiagnostic(DiagnosticSeverity.Error, file, 1, 1, "", "the front matter is empty (it needs at least 'name' and 'agent' or 'capabilities')"));
            return null;
        }

        var persona = reader.ReadPersona(stream.Documents[0].RootNode, body!, file);
        if (persona?.Agent is { } agent && !agents.Contains(agent))
        {
            var (line, column) = map.At("agent");
            diagnostics.Add(new FleetDiagnostic(DiagnosticSeverity.Error, file, line, column, "agent",
                $"'{agent}' is not an agent of the fleet (agents: {(agents.Count == 0 ? "none" : string.Join(", ", agents))})"));
        }

        return diagnostics.Skip(before).Any(d => d.IsError) ? null : persona;
    }

    /// <summary>The front matter (from the opening <c>---</c> to before the closing one) and the body after it.</summary>
    internal static (string? FrontMatter, string? Body, string? Error) Split(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        if (lines.Length == 0 || lines[0].TrimEnd() != "---")
        {
            return (null, null, "a persona file starts with '---' and YAML front matter (name, version, description, capabilities or agent, acceptance_criteria), closed by another '---'");
        }

        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].TrimEnd() == "---")
            {
                return (string.Join('\n', lines[..i]) + "\n", string.Join('\n', lines[(i + 1)..]), null);
            }
        }

        return (null, null, "the front matter is not closed (a line '---' after it is missing)");
    }
}
