using DarkFactory.Host.Fleet;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Fleet;

internal static class FleetTestSupport
{
    public const string FileName = "fleet.yaml";

    /// <summary>A valid one-agent fleet; <paramref name="extra"/> lines are appended to the agent (indent 4).</summary>
    public static string Agent(string extra = "") =>
        "version: 1\n" +
        "agents:\n" +
        "  - name: a\n" +
        "    layer: core\n" +
        "    cli: command\n" +
        "    command: [bash]\n" +
        string.Concat(extra.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l + "\n"));

    public static FleetLoadResult Load(string yaml, Func<string, bool>? isInstalled = null) =>
        FleetLoader.Parse(yaml, FileName, isInstalled ?? (_ => true));

    /// <summary>1-based line and column of the first occurrence of <paramref name="marker"/>, which must be unique.</summary>
    public static (int Line, int Column) Pos(string yaml, string marker)
    {
        var index = yaml.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(index >= 0, $"marker '{marker}' not in the document");
        Assert.True(yaml.IndexOf(marker, index + 1, StringComparison.Ordinal) < 0, $"marker '{marker}' is not unique");
        var before = yaml[..index];
        var line = before.Count(c => c == '\n') + 1;
        var column = index - (before.LastIndexOf('\n') + 1) + 1;
        return (line, column);
    }

    /// <summary>Asserts an error on <paramref name="field"/> at the position of <paramref name="marker"/>, and returns it.</summary>
    public static FleetDiagnostic AssertError(FleetLoadResult result, string yaml, string field, string marker, string? messagePart = null)
    {
        Assert.False(result.Ok);
        Assert.Null(result.Fleet);
        var errors = result.Diagnostics.Where(d => d.IsError && d.Field == field).ToList();
        Assert.True(errors.Count == 1, $"expected one error on '{field}', got: {string.Join(" | ", result.Diagnostics)}");
        var e = errors[0];
        var (line, column) = Pos(yaml, marker);
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.Equal(FileName, e.File);
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, e.Message, StringComparison.Ordinal);
        }

        return e;
    }

    public static void AssertValid(FleetLoadResult result)
    {
        Assert.True(result.Ok, string.Join("\n", result.Diagnostics));
        Assert.NotNull(result.Fleet);
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DarkFactory.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("DarkFactory.sln not found above " + AppContext.BaseDirectory);
    }
}
