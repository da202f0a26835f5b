using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using DarkFactory.Actors.Routing;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Bench;

/// <summary>
/// In-process routing benchmark (bench/run --only route): decisions of the real <see cref="RoutingPolicy"/>
/// over 50 providers and 200 rules (<see cref="RoutingBenchFleet"/>, a board with 5 providers limited), on
/// the two paths the daemon has: a run start (<see cref="RouteBoard.Decide"/>: the choice and its reason
/// only) and the explained decision of `df route` / /api/route (every candidate with why it lost). Side by
/// side in the same run with a naive router that scans the rules one by one with word-bounded regular
/// expressions (and, cheaper but not word-bounded, with <c>Contains</c>) and ranks providers with LINQ.
/// Per decision: latency percentiles from one timestamp pair each; throughput from the whole loop; bytes
/// allocated (this thread). Single thread.
/// </summary>
public static class RouteBench
{
    public static string Run(bool quick)
    {
        const int providers = 50, rules = 200;
        var fleet = RoutingBenchFleet.Create(providers, rules);
        var limited = Enumerable.Range(0, 5).ToDictionary(i => $"p{i * 9 + 2:00}", _ => new ProviderCondition(ProviderState.Limited, DateTimeOffset.UtcNow.AddHours(1), "429"));
        var board = ProviderBoard.Empty.With(providers: limited);
        var policy = new RoutingPolicy(fleet);
        var routes = new RouteBoard();
        routes.Publish(policy, board);
        var agent = RoutingBenchFleet.Agent;
        var regex = new NaiveRouter(fleet, wordBounded: true);
        var contains = new NaiveRouter(fleet, wordBounded: false);
        var n = quick ? 50_000 : 200_000;

        // the same answer from all four
        var explained = policy.Decide(RoutingBenchFleet.Task, agent, board);
        var runStart = routes.Decide(RoutingBenchFleet.Task, agent)!;
        var expected = explained.Chosen!.Provider;
        var fromRegex = regex.Decide(RoutingBenchFleet.Task, board);
        var fromContains = contains.Decide(RoutingBenchFleet.Task, board);
        if (expected != RoutingBenchFleet.ExpectedProvider || runStart.Chosen != explained.Chosen || fromRegex != expected || fromContains != expected)
        {
            throw new InvalidOperationException($"routers disagree: policy {expected}, run start {runStart.Chosen?.Provider}, regex {fromRegex}, contains {fromContains}");
        }

        var results = new List<(string Name, Result R)>
        {
            ("RoutingPolicy, run start (RouteBoard.Decide: the choice)", Measure(n, _ => routes.Decide(RoutingBenchFleet.Task, agent))),
            ("RoutingPolicy, explained (df route: all 50 candidates)", Measure(n, i => policy.Decide(RoutingBenchFleet.Task, agent, board, i))),
            ("naive: regex \\b scan of every rule", Measure(n / 10, _ => regex.Decide(RoutingBenchFleet.Task, board))),
            ("naive: Contains scan of every rule", Measure(n / 10, _ => contains.Decide(RoutingBenchFleet.Task, board))),
        };

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Routing decision, {providers} providers x {rules} rules (3 keywords each), task of {RoutingBenchFleet.Task.Length} chars, 5 providers limited; single thread; {Environment.ProcessorCount} cores, load {Machine.LoadAverage()}");
        md.AppendLine();
        md.AppendLine("| router | decisions | p50 µs | p99 µs | p99.9 µs | max µs | decisions/s (wall) | decisions per CPU-s | bytes/decision |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var (name, r) in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {r.Count:N0} | {r.P50:0.0} | {r.P99:0.0} | {r.P999:0.0} | {r.Max:0} | {r.PerSecond:N0} | {r.PerCpuSecond:N0} | {r.BytesPer:N0} |");
        }

        md.AppendLine();
        foreach (var (name, p) in results.Take(2))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"Targets, {name}: p99 < 50 µs: {(p.P99 < 50 ? "met" : "MISSED")} ({p.P99:0.0} µs); >= 100,000 decisions/s: {(p.PerSecond >= 100_000 ? "met" : "MISSED")} ({p.PerSecond:N0}/s wall clock, {p.PerCpuSecond:N0} per CPU-second).");
        }

        return md.ToString();
    }

    private static Result Measure<T>(int n, Func<int, T> decide)
    {
        Console.Error.WriteLine($"route: {n:N0} decisions...");
        for (var i = 0; i < Math.Min(n, 20_000); i++)
        {
            decide(i);
        }

        GC.Collect();
        var latencies = new double[n];
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var cpu = Environment.CpuUsage.TotalTime;
        var total = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            decide(i);
            latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }

        total.Stop();
        var cpuSeconds = (Environment.CpuUsage.TotalTime - cpu).TotalSeconds;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Array.Sort(latencies);
        double At(double q) => latencies[Math.Min(n - 1, (int)(q * n))];
        return new Result(n, At(0.5), At(0.99), At(0.999), latencies[^1], n / total.Elapsed.TotalSeconds, n / cpuSeconds, bytes / n);
    }

    /// <param name="PerCpuSecond">Decisions per second of process CPU time: the cost itself, whatever else the machine runs.</param>
    private sealed record Result(int Count, double P50, double P99, double P999, double Max, double PerSecond, double PerCpuSecond, long BytesPer);

    /// <summary>The obvious router: test each rule's keywords against the task in order, then rank the providers with LINQ.</summary>
    private sealed class NaiveRouter(FleetSpec fleet, bool wordBounded)
    {
        private readonly List<(RoutingRuleSpec Rule, Regex[] Patterns)> _rules = fleet.Routing
            .Select(r => (r, r.Keywords.Select(k => new Regex($@"\b{Regex.Escape(k)}\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled)).ToArray()))
            .ToList();

        public string? Decide(string task, ProviderBoard board)
        {
            var matched = _rules.Where(r => wordBounded
                    ? r.Patterns.Any(p => p.IsMatch(task))
                    : r.Rule.Keywords.Any(k => task.Contains(k, StringComparison.OrdinalIgnoreCase)))
                .Select(r => r.Rule.Provider)
                .ToList();
            var ranked = fleet.Providers
                .Select(p => (p, Rank: matched.IndexOf(p.Name) is var i and >= 0 ? i : int.MaxValue, Ok: board.Of(p.Name).Available))
                .OrderBy(x => x.Rank).ThenBy(x => x.p.Priority)
                .Select(x => new RouteCandidate(x.p.Cli, x.p.Name, x.p.Model, x.Rank == int.MaxValue ? 0 : 1, x.Ok ? null : "limited"))
                .ToList();
            return ranked.FirstOrDefault(c => c.RejectedBecause is null)?.Provider;
        }
    }
}
