namespace DarkFactory.Host.Scenarios;

/// <summary>One invariant's verdict over a whole scenario run: held, or the first place it broke.</summary>
public sealed record InvariantResult(string Name, bool Held, string Detail);

/// <summary>One write the scenario's journal took: whose (persistence id, the writing incarnation) and which sequence number.</summary>
public sealed record JournalWrite(string PersistenceId, string WriterGuid, long SequenceNr);

/// <summary>
/// What must hold at every moment of any scenario, whatever its expectations say (issue 16): checked over the
/// finished timeline and the journal's writes, independently of the actors that keep them (their own
/// bookkeeping is what is under test). Pure.
/// </summary>
public static class Invariants
{
    public const string OneRunPerAgent = "no agent runs twice at once";
    public const string BudgetsKept = "no run routed to a provider over its budget or credits";
    public const string CompletedTasksStay = "no task of a project runs after it completed";
    public const string OneWriter = "one writer per persistence id";

    public static IReadOnlyList<InvariantResult> Check(IReadOnlyList<TimelineEntry> timeline, IReadOnlyList<JournalWrite> writes, FleetSpec fleet) =>
    [
        RunsNeverOverlap(timeline),
        BudgetsNeverExceeded(timeline, fleet),
        NoTaskRunsAfterItCompleted(timeline),
        OneWriterPerPersistenceId(writes),
    ];

    /// <summary>
    /// An agent's run starts only when its previous run has ended (exited, crashed, killed, stopped, limited). A
    /// daemon restart ends every run (they die with their host).
    /// </summary>
    public static InvariantResult RunsNeverOverlap(IReadOnlyList<TimelineEntry> timeline)
    {
        var open = new Dictionary<string, (string RunId, TimeSpan At)>(StringComparer.Ordinal);
        var runs = 0;
        foreach (var entry in timeline)
        {
            if (entry.Type == ScenarioEvents.Injected.Name(StepKind.DaemonRestart))
            {
                open.Clear();
                continue;
            }

            if (As<AgentLifecycle>(entry) is not { RunId: { } runId } e)
            {
                continue;
            }

            if (e.Kind == LifecycleKind.Started)
            {
                if (open.TryGetValue(e.Agent, out var other) && other.RunId != runId)
                {
                    return new InvariantResult(OneRunPerAgent, false,
                        $"at {TimelineEntry.Format(entry.Offset)}: {e.Agent} started run {runId} while run {other.RunId} (started at {TimelineEntry.Format(other.At)}) had not ended");
                }

                open[e.Agent] = (runId, entry.Offset);
                runs++;
            }
            else if (e.Kind.EndsRun() && open.TryGetValue(e.Agent, out var current) && current.RunId == runId)
            {
                open.Remove(e.Agent);
            }
        }

        return new InvariantResult(OneRunPerAgent, true, $"held over {runs} runs");
    }

    /// <summary>
    /// A run is routed to a provider only while the provider's recorded spend (the ledger's <see cref="CostRecorded"/>
    /// entries so far) is under each of its budgets — the UTC hour, day and month — and its credits. The run that
    /// crosses a budget may finish; the next one must go elsewhere or wait.
    /// </summary>
    public static InvariantResult BudgetsNeverExceeded(IReadOnlyList<TimelineEntry> timeline, FleetSpec fleet)
    {
        var limits = fleet.Providers.Where(p => p.Limits is { } l && (l.BudgetPerHour ?? l.BudgetPerDay ?? l.BudgetPerMonth ?? l.Credits) is not null)
            .ToDictionary(p => p.Name, p => p.Limits!, StringComparer.Ordinal);
        var spend = new List<CostRecorded>();
        var routes = 0;
        foreach (var entry in timeline)
        {
            if (As<CostRecorded>(entry) is { Provider: not null } cost)
            {
                spend.Add(cost);
                continue;
            }

            if (As<RouteChosen>(entry) is not { Provider: { } provider } route || !limits.TryGetValue(provider, out var l))
            {
                continue;
            }

            routes++;
            var at = route.At;
            var hour = new DateTimeOffset(at.Year, at.Month, at.Day, at.Hour, 0, 0, TimeSpan.Zero);
            var mine = spend.Where(c => c.Provider == provider).ToList();
            var over = Over("hourly budget", l.BudgetPerHour, mine.Where(c => c.At >= hour).Sum(c => c.CostUsd))
                ?? Over("daily budget", l.BudgetPerDay, mine.Where(c => c.At >= hour.AddHours(-hour.Hour)).Sum(c => c.CostUsd))
                ?? Over("monthly budget", l.BudgetPerMonth, mine.Where(c => c.At >= new DateTimeOffset(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero)).Sum(c => c.CostUsd))
                ?? Over("credits", l.Credits, mine.Sum(c => c.CostUsd));
            if (over is not null)
            {
                return new InvariantResult(BudgetsKept, false, $"at {TimelineEntry.Format(entry.Offset)}: run {route.RunId} of {route.Agent} routed to {provider}, whose {over}");
            }
        }

        return new InvariantResult(BudgetsKept, true, limits.Count == 0 ? "held (no provider declares a budget)" : $"held over {routes} routes to providers with budgets");

        static string? Over(string what, decimal? cap, decimal spent) =>
            cap is { } c && spent >= c ? $"{what} of {c} USD was spent ({spent} USD)" : null;
    }

    /// <summary>Once a task completed, no run works on it again — unless an audit found it incomplete and reopened it.</summary>
    public static InvariantResult NoTaskRunsAfterItCompleted(IReadOnlyList<TimelineEntry> timeline)
    {
        var done = new Dictionary<(string, string), TimeSpan>();
        var runs = 0;
        foreach (var entry in timeline)
        {
            switch (Read(entry))
            {
                case TaskCompleted c:
                    done[(c.ProjectId, c.TaskId)] = entry.Offset;
                    break;
                case AuditRecorded a:
                    foreach (var v in a.Verdicts.Where(v => !v.Complete))
                    {
                        done.Remove((a.ProjectId, v.TaskId));
                    }

                    break;
                case ProjectRunStarted { TaskId: { } task, Purpose: ProjectRunPurpose.Task } r:
                    runs++;
                    if (done.TryGetValue((r.ProjectId, task), out var at))
                    {
                        return new InvariantResult(CompletedTasksStay, false,
                            $"at {TimelineEntry.Format(entry.Offset)}: project {r.ProjectId} started run {r.RunId} on task {task}, completed at {TimelineEntry.Format(at)}");
                    }

                    break;
            }
        }

        return new InvariantResult(CompletedTasksStay, true, runs == 0 ? "held (no project task ran)" : $"held over {runs} task runs");
    }

    /// <summary>
    /// Each persistence id is written by one incarnation at a time: once another writer took it over (a restarted
    /// actor, a recovered daemon), the earlier writer never writes again, and no sequence number is written twice.
    /// </summary>
    public static InvariantResult OneWriterPerPersistenceId(IReadOnlyList<JournalWrite> writes)
    {
        var current = new Dictionary<string, (string Writer, long Seq)>(StringComparer.Ordinal);
        var retired = new HashSet<(string, string)>();
        foreach (var w in writes)
        {
            if (current.TryGetValue(w.PersistenceId, out var last))
            {
                if (w.SequenceNr <= last.Seq)
                {
                    return new InvariantResult(OneWriter, false,
                        $"{w.PersistenceId}: sequence number {w.SequenceNr} written by {Short(w.WriterGuid)} after {last.Seq} by {Short(last.Writer)}");
                }

                if (last.Writer != w.WriterGuid)
                {
                    if (retired.Contains((w.PersistenceId, w.WriterGuid)))
                    {
                        return new InvariantResult(OneWriter, false,
                            $"{w.PersistenceId}: writer {Short(w.WriterGuid)} wrote sequence number {w.SequenceNr} after {Short(last.Writer)} had taken it over: two writers at once");
                    }

                    retired.Add((w.PersistenceId, last.Writer));
                }
            }

            current[w.PersistenceId] = (w.WriterGuid, w.SequenceNr);
        }

        return new InvariantResult(OneWriter, true, $"held over {writes.Count} writes to {current.Count} persistence ids");

        static string Short(string guid) => guid.Length > 8 ? guid[..8] : guid;
    }

    private static T? As<T>(TimelineEntry entry)
        where T : class =>
        entry.Source == EntrySource.Observed && entry.Type == typeof(T).Name ? entry.Fields.Deserialize<T>(DarkFactoryJson.Options) : null;

    private static object? Read(TimelineEntry entry) =>
        entry.Source != EntrySource.Observed ? null : entry.Type switch
        {
            nameof(TaskCompleted) => As<TaskCompleted>(entry),
            nameof(AuditRecorded) => As<AuditRecorded>(entry),
            nameof(ProjectRunStarted) => As<ProjectRunStarted>(entry),
            _ => null,
        };
}
