namespace DarkFactory.Host.Daemon;

/// <summary>
/// Refuses a reload that would take the whole fleet, or its whole safety layer, away: a file an editor
/// truncated mid-save or a <c>&gt;</c> racing a SIGHUP looks exactly like that. Asked for explicitly
/// (<c>df reload --allow-empty</c>, <c>POST /api/reload?allow_empty=true</c>) it goes through; a SIGHUP never
/// asks. Pure: the fleet running now and the one read from the file.
/// </summary>
public static class ReloadGuard
{
    /// <summary>
    /// The whole decision on a fleet file read for a reload: refused when it is invalid (its errors) or when
    /// <see cref="Check"/> refuses it; null when <paramref name="loaded"/>'s fleet may be applied. The daemon's
    /// reload and a scenario's <c>inject: reload</c> both decide here.
    /// </summary>
    public static FleetReloadRefused? Refusal(FleetSpec? running, FleetLoadResult loaded, bool allowEmpty, string source, DateTimeOffset at)
    {
        if (!loaded.Ok)
        {
            var errors = loaded.Diagnostics.Where(d => d.IsError).Select(d => d.ToString()).ToList();
            var first = errors.Count > 0 ? ": " + errors[0] : "";
            return new FleetReloadRefused(at, source, $"the fleet file is invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}{first}); the running fleet is unchanged", [], errors);
        }

        return Check(running, loaded.Fleet!, allowEmpty) is { } refusal
            ? new FleetReloadRefused(at, source, refusal.Reason, refusal.WouldStop, [])
            : null;
    }

    /// <summary>Why the reload is refused and which agents it would have stopped; null when it may go on.</summary>
    public static ReloadRefusal? Check(FleetSpec? running, FleetSpec next, bool allowEmpty)
    {
        if (allowEmpty || running is null || running.Agents.Count == 0)
        {
            return null;
        }

        var kept = next.Agents.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        if (next.Agents.Count == 0)
        {
            return new ReloadRefusal(
                $"the new fleet file declares no agents: the reload would stop every agent ({string.Join(", ", running.Agents.Select(a => a.Name))}); pass --allow-empty (API: allow_empty=true) if that is what you want",
                running.Agents.Select(a => a.Name).ToList());
        }

        var safety = running.Agents.Where(a => a.Layer == LayerName.Safety).Select(a => a.Name).ToList();
        if (safety.Count > 0 && !next.Agents.Any(a => a.Layer == LayerName.Safety))
        {
            var stopped = safety.Where(n => !kept.Contains(n)).ToList();
            var what = stopped.Count > 0 ? $"stop every safety agent ({string.Join(", ", stopped)})" : $"leave no agent in the safety layer ({string.Join(", ", safety)} move out of it)";
            return new ReloadRefusal(
                $"the new fleet file declares no safety agent: the reload would {what}; pass --allow-empty (API: allow_empty=true) if that is what you want",
                stopped);
        }

        return null;
    }
}

/// <param name="Reason">One line for the operator: what the reload would have done and how to insist.</param>
/// <param name="WouldStop">The agents the reload would have stopped.</param>
public sealed record ReloadRefusal(string Reason, IReadOnlyList<string> WouldStop);
