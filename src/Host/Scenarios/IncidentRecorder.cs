namespace DarkFactory.Host.Scenarios;

/// <summary>
/// <c>df scenario record</c>: a live daemon's persisted history turned into a scenario file. The facts are kept
/// (each run's length and how it ended, what an operator did and when) and the fleet's decisions are left to
/// the policy (when a run was restarted, quarantined, corrected): replayed under the daemon's fleet, the
/// recorded outcomes are the scenario's expectations; under a changed fleet (<c>df scenario diff</c>) they show
/// what the change would have done. Pure: history in, YAML out.
/// </summary>
public static class IncidentRecorder
{
    /// <summary>
    /// Outcomes recorded as expectations (how many times each happened). Output is not recorded, so what
    /// Nightwatch judged from it (loops, floods, stalls) is not replayed and its corrections are not expected.
    /// </summary>
    private static readonly LifecycleKind[] Outcomes = [LifecycleKind.Exited, LifecycleKind.Crashed, LifecycleKind.Limited, LifecycleKind.Quarantined];

    /// <param name="fleetPath">The fleet the daemon runs (the scenario names it).</param>
    /// <param name="history">Each agent's persisted history (oldest first or in any order).</param>
    /// <param name="autostart">The agents the fleet starts by itself (a run going when the window opened is replayed for them).</param>
    /// <returns>The scenario file, or null when no agent has a history entry in the window (nothing to replay).</returns>
    public static string? Record(string name, string fleetPath, DateTimeOffset since, DateTimeOffset now, IReadOnlyDictionary<string, IReadOnlyList<AgentLifecycle>> history, IReadOnlySet<string> autostart)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine(CultureInfo.InvariantCulture, $"# recorded by df scenario record at {Instant(now)} from the daemon's history since {Instant(since)}");
        yaml.AppendLine("# runs keep their recorded length and end; restarts, quarantines and corrections are left to the fleet's policy;");
        yaml.AppendLine("# output is not recorded (fake runs print nothing), so what Nightwatch judged from output is not replayed");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"scenario: {Quote(name)}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"description: {Quote($"What the fleet did between {Instant(since)} and {Instant(now)}, replayed from its history.")}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"fleet: {Quote(fleetPath)}");
        yaml.AppendLine("seed: 1");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"start: {Instant(since)}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"until: {Seconds(now - since)}");

        var agents = new StringBuilder();
        var steps = new List<(DateTimeOffset At, string Yaml)>();
        var expect = new StringBuilder();
        foreach (var (agent, entries) in history.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            var window = entries.Where(e => e.At >= since && e.At <= now).OrderBy(e => e.At).ToList();
            if (window.Count == 0)
            {
                continue;
            }

            var runs = Runs(window, since, autostart.Contains(agent));
            if (runs.Count > 0)
            {
                agents.AppendLine(CultureInfo.InvariantCulture, $"  {Quote(agent)}:");
                foreach (var (run, _) in runs)
                {
                    agents.AppendLine("    - " + run);
                }

                agents.AppendLine("    - { hang: true }   # after the recorded runs: quiet until the end");
            }

            foreach (var e in window)
            {
                if (Step(e) is { } inject)
                {
                    steps.Add((e.At, $"  - {{ at: {Seconds(e.At - since)}, inject: {inject}, agent: {Quote(agent)} }}"));
                }
            }

            foreach (var kind in Outcomes)
            {
                // the ends of the runs replayed (not of one left out), quarantines as they happened
                var count = kind == LifecycleKind.Quarantined ? window.Count(e => e.Kind == kind) : runs.Count(r => r.End == kind);
                if (count > 0)
                {
                    expect.AppendLine(CultureInfo.InvariantCulture, $"  - {{ event: AgentLifecycle, where: {{ agent: {Quote(agent)}, kind: {Kind(kind)} }}, count: {count} }}");
                }
                else if (kind == LifecycleKind.Quarantined && runs.Count > 0)
                {
                    expect.AppendLine(CultureInfo.InvariantCulture, $"  - {{ event: AgentLifecycle, where: {{ agent: {Quote(agent)}, kind: quarantined }}, never: true }}");
                }
            }
        }

        if (agents.Length == 0)
        {
            return null;
        }

        yaml.AppendLine("agents:");
        yaml.Append(agents);

        if (steps.Count > 0)
        {
            yaml.AppendLine("steps:");
            foreach (var step in steps.OrderBy(s => s.At))
            {
                yaml.AppendLine(step.Yaml);
            }
        }

        yaml.AppendLine("expect:");
        yaml.Append(expect);

        return yaml.ToString();
    }

    /// <summary>
    /// Each run of the window as a fake run: its recorded length and how it ended; one still running, or stopped
    /// from outside (an operator, max_runtime, Nightwatch), hangs. A run already going when the window opened is
    /// replayed from the start for an agent the fleet starts by itself (autostart), and left out otherwise.
    /// </summary>
    private static List<(string Yaml, LifecycleKind End)> Runs(List<AgentLifecycle> window, DateTimeOffset since, bool autostart)
    {
        var runs = new List<(string, LifecycleKind)>();
        AgentLifecycle? open = null;
        for (var i = 0; i < window.Count; i++)
        {
            var e = window[i];
            if (e.Kind == LifecycleKind.Started)
            {
                if (open is not null)
                {
                    runs.Add(("{ hang: true }", LifecycleKind.Started));
                }

                open = e;
                continue;
            }

            if (!e.Kind.EndsRun())
            {
                continue;
            }

            if (open is null && autostart && !window.Take(i).Any(w => w.Kind == LifecycleKind.Started))
            {
                open = e with { Kind = LifecycleKind.Started, At = since };
            }

            if (open is null || (e.RunId is not null && open.RunId is not null && e.RunId != open.RunId))
            {
                continue;
            }

            var length = Seconds((e.ExitedAt ?? e.At) - open.At);
            runs.Add((e.Kind switch
            {
                LifecycleKind.Exited => $"{{ run: {length}, exit: {e.ExitCode ?? 0} }}",
                LifecycleKind.Crashed when e.Signal is { } signal => $"{{ run: {length}, signal: {signal} }}",
                LifecycleKind.Crashed => $"{{ run: {length}, exit: {e.ExitCode ?? 1} }}",
                LifecycleKind.Limited => $"{{ run: {length}, exit: {e.ExitCode ?? 1}, limited: {{ when: exit, reason: \"recorded rate limit\" }} }}",
                _ => "{ hang: true }",
            }, e.Kind));
            open = null;
        }

        if (open is not null)
        {
            runs.Add(("{ hang: true }   # still running when recorded", LifecycleKind.Started));
        }

        return runs;
    }

    /// <summary>What an operator did, replayed as a step; the fleet's own decisions are not steps.</summary>
    private static string? Step(AgentLifecycle e) =>
        e.By != Requester.Operator
            ? null
            : e.Kind switch
            {
                LifecycleKind.Started => "run",
                LifecycleKind.Stopped => "stop",
                LifecycleKind.Released => "restart",
                _ => null,
            };

    private static string Kind(LifecycleKind kind) => kind.ToString().ToLowerInvariant();

    private static string Instant(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    /// <summary>A duration as the scenario format reads it (milliseconds when not whole seconds).</summary>
    private static string Seconds(TimeSpan span)
    {
        var ms = Math.Max(0, (long)Math.Round(span.TotalMilliseconds));
        return ms % 1000 == 0 ? $"{ms / 1000}s" : $"{ms}ms";
    }

    /// <summary>A YAML double-quoted scalar (names and paths may hold anything).</summary>
    private static string Quote(string text)
    {
        var s = new StringBuilder("\"");
        foreach (var c in text)
        {
            s.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return s.Append('"').ToString();
    }
}
