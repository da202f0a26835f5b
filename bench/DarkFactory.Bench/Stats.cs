using System.Diagnostics;
using System.Globalization;

namespace DarkFactory.Bench;

internal static class Stats
{
    public static double Median(IReadOnlyList<double> xs) => Percentile(xs, 0.5);

    public static double Percentile(IReadOnlyList<double> xs, double p)
    {
        if (xs.Count == 0)
        {
            return double.NaN;
        }

        var s = xs.Order().ToArray();
        var rank = p * (s.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return s[lo] + ((s[hi] - s[lo]) * (rank - lo));
    }

    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    public static string F(double x, string format = "0.00") => double.IsNaN(x) ? "n/a" : x.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>"median (min–max, n=N)" in the given unit.</summary>
    public static string Summary(IReadOnlyList<double> xs, string unit, string format = "0.00") =>
        xs.Count == 0 ? "n/a" : xs.Count == 1 ? $"{F(xs[0], format)} {unit}" :
        $"{F(Median(xs), format)} {unit} ({F(xs.Min(), format)}–{F(xs.Max(), format)}, p90 {F(Percentile(xs, 0.9), format)}, n={xs.Count})";
}

/// <summary>One line of the results table, for one supervisor.</summary>
/// <param name="Median">The figure compared across supervisors (NaN: none).</param>
/// <param name="HigherIsBetter">True for rates (lines/s); false for times, memory, CPU, leftovers.</param>
/// <param name="Supervisor">The target's name (set by <see cref="Bench.Add"/>).</param>
internal sealed record Row(string Scenario, string Metric, string Value, string Baseline, string Target, string Verdict, double Median = double.NaN, bool HigherIsBetter = false, string Supervisor = "");

internal static class Verdicts
{
    public static string AtMost(double value, double limit) => double.IsNaN(value) ? "n/a" : value <= limit ? "PASS" : "MISS";

    public static string AtLeast(double value, double limit) => double.IsNaN(value) ? "n/a" : value >= limit ? "PASS" : "MISS";
}
