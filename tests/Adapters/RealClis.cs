using Xunit;

namespace DarkFactory.Adapters.Tests;

/// <summary>
/// Where the real AI CLIs are: <c>DF_TEST_CLI_BIN</c> (set by .ci/run), else the cache .ci/install-clis
/// fills (~/.cache/darkfactory/clis/node_modules/.bin).
/// </summary>
public static class RealClis
{
    public static string? BinDirectory { get; } = Find();

    /// <summary>Why a test needing <paramref name="clis"/> is skipped; null when they are all installed.</summary>
    public static string? Missing(IEnumerable<string> clis)
    {
        var missing = clis.Where(c => Path(c) is null).ToList();
        return missing.Count == 0 ? null : $"{string.Join(", ", missing)} not installed (run .ci/install-clis, or set DF_TEST_CLI_BIN to its bin directory)";
    }

    public static string? Path(string cli) =>
        BinDirectory is { } dir && File.Exists(System.IO.Path.Combine(dir, cli)) ? System.IO.Path.Combine(dir, cli) : null;

    private static string? Find()
    {
        var dir = Environment.GetEnvironmentVariable("DF_TEST_CLI_BIN");
        if (string.IsNullOrEmpty(dir))
        {
            var home = Environment.GetEnvironmentVariable("HOME") ?? "/root";
            dir = System.IO.Path.Combine(home, ".cache", "darkfactory", "clis", "node_modules", ".bin");
        }

        return Directory.Exists(dir) ? dir : null;
    }
}

/// <summary>A test that runs a real CLI: skipped, saying how to install it, when the CLI is not there.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RealCliFactAttribute : FactAttribute
{
    public RealCliFactAttribute(params string[] clis) => Skip = RealClis.Missing(clis);
}

/// <summary>A theory that runs a real CLI: skipped, saying how to install it, when the CLI is not there.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RealCliTheoryAttribute : TheoryAttribute
{
    public RealCliTheoryAttribute(params string[] clis) => Skip = RealClis.Missing(clis);
}
