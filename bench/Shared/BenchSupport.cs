using System.Globalization;

namespace DarkFactory.Bench;

/// <summary>What the benchmark programs share (linked into each): the repository root, command-line options, medians.</summary>
internal static class BenchSupport
{
    /// <summary>The directory of DarkFactory.sln above the program (its hocon/ and tests/agents/ are read from there).</summary>
    public static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DarkFactory.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("DarkFactory.sln not found");
    }

    public static int Arg(string[] args, string name, int fallback) => ArgString(args, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public static string? ArgString(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public static double Median(List<double> xs) => xs.OrderBy(x => x).ElementAt(xs.Count / 2);
}
