using System.Text.RegularExpressions;
using DarkFactory.Actors.Processes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>The outcome of loading a fleet file: the fleet when there is no error, and every diagnostic found.</summary>
public sealed record FleetLoadResult(FleetSpec? Fleet, IReadOnlyList<FleetDiagnostic> Diagnostics)
{
    public bool Ok => Fleet is not null && !Diagnostics.Any(d => d.IsError);
}

/// <summary>
/// Loads and validates fleet.yaml. All problems are collected (not just the first) with file, line, column and
/// field path; <see cref="FleetLoadResult.Fleet"/> is null when any of them is an error.
/// </summary>
public static partial class FleetLoader
{
    private static readonly IFleetValidator[] Validators =
    [
        new UniqueNamesValidator(),
        new ReferencesValidator(),
        new InstallationValidator(),
        new RunawayCostValidator(),
        new IsolationValidator(),
        new ClusterValidator(),
    ];

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", RegexOptions.CultureInvariant)]
    private static partial Regex MarkPrefix();

    public static FleetLoadResult LoadFile(string path, Func<string, bool>? isInstalled = null)
    {
        string yaml;
        try
        {
            yaml = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var why = ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : ex.Message;
            return Failed(new FleetDiagnostic(DiagnosticSeverity.Error, path, 1, 1, "", $"cannot read fleet file '{Path.GetFullPath(path)}': {why}"));
        }

        return Parse(yaml, path, isInstalled);
    }

    /// <param name="yaml">The document.</param>
    /// <param name="fileName">Its path: used in messages, and its directory resolves relative paths.</param>
    /// <param name="isInstalled">Whether a binary is on PATH; default <see cref="Executables.IsOnPath"/>.</param>
    public static FleetLoadResult Parse(string yaml, string fileName, Func<string, bool>? isInstalled = null)
    {
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yaml));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException ex)
        {
            var message = MarkPrefix().Replace(ex.Message, "");
            if (ex.InnerException is YamlException inner && message.Contains("see inner exception", StringComparison.OrdinalIgnoreCase))
            {
                message = MarkPrefix().Replace(inner.Message, "");
            }

            return Failed(new FleetDiagnostic(DiagnosticSeverity.Error, fileName, (int)ex.Start.Line, (int)ex.Start.Column, "",
                $"invalid YAML: {message}"));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet gives up this way on some truncated documents (an unclosed flow collection at the end),
            // and with an ArgumentException on some mangled ones (the fleet fuzz suite found both).
            var at = scanner.CurrentPosition;
            return Failed(new FleetDiagnostic(DiagnosticSeverity.Error, fileName, (int)at.Line, (int)at.Column, "",
                e is InvalidOperationException
                    ? "invalid YAML: unexpected end of the document (an unclosed '[', '{' or quote?)"
                    : "invalid YAML: the parser cannot read the document from here (a stray tag, anchor, '?' key or unclosed bracket?)"));
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            return Failed(new FleetDiagnostic(DiagnosticSeverity.Error, fileName, (int)second.Line, (int)second.Column, "",
                "a fleet file holds exactly one YAML document"));
        }

        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(fileName)) ?? Directory.GetCurrentDirectory();
        var diagnostics = new List<FleetDiagnostic>();
        var map = new FleetSourceMap();
        var reader = new FleetReader(fileName, baseDirectory, map, diagnostics);

        FleetSpec fleet;
        if (stream.Documents.Count == 0)
        {
            // an editor truncating the file mid-save, or a `>` racing a SIGHUP, looks like this: never a fleet of nothing
            diagnostics.Add(new FleetDiagnostic(DiagnosticSeverity.Error, fileName, 1, 1, "", "the fleet file is empty (or only comments): declare `version: 1` and `agents:` (`agents: []` for a fleet with no agents)"));
            fleet = new FleetSpec { CompoundReview = new CompoundReviewSpec { Repo = baseDirectory, Enabled = false } };
        }
        else
        {
            fleet = reader.Read(stream.Documents[0].RootNode);
        }

        fleet = WithPersonas(fleet, fileName, baseDirectory, map, diagnostics) with { SourcePath = Path.GetFullPath(fileName) };
        var ctx = new FleetValidationContext(fileName, baseDirectory, map, isInstalled ?? Executables.IsOnPath, diagnostics);
        foreach (var validator in Validators)
        {
            validator.Validate(fleet, ctx);
        }

        var ordered = diagnostics.OrderBy(d => d.Line).ThenBy(d => d.Column).ToArray();
        return new FleetLoadResult(ordered.Any(d => d.IsError) ? null : fleet, ordered);
    }

    /// <summary>
    /// Loads the personas of <c>projects.personas_dir</c> (relative to the fleet file). A directory named in the file
    /// must exist; the default one (personas/) is read when it is there.
    /// </summary>
    private static FleetSpec WithPersonas(FleetSpec fleet, string fileName, string baseDirectory, FleetSourceMap map, List<FleetDiagnostic> diagnostics)
    {
        var directory = Path.GetFullPath(Path.Combine(baseDirectory, fleet.Projects.PersonasDir));
        if (!Directory.Exists(directory))
        {
            if (map.Has("projects.personas_dir"))
            {
                var (line, column) = map.At("projects.personas_dir");
                diagnostics.Add(new FleetDiagnostic(DiagnosticSeverity.Error, fileName, line, column, "projects.personas_dir",
                    $"'{directory}' is not a directory"));
            }

            return fleet with { Projects = fleet.Projects with { PersonasDir = directory } };
        }

        var catalog = PersonaLoader.Load(directory, [.. fleet.Agents.Select(a => a.Name)], diagnostics);
        return fleet with { Projects = fleet.Projects with { PersonasDir = directory, Personas = catalog.All } };
    }

    private static FleetLoadResult Failed(FleetDiagnostic diagnostic) => new(null, [diagnostic]);
}
