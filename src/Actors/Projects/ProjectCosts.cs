namespace DarkFactory.Actors.Projects;

/// <summary>A project's costs from its runs (each priced as the router's ledger prices it, as its usage arrived).</summary>
public static class ProjectCosts
{
    public static ProjectCostReport Report(ProjectState s) => new(
        s.Created.ProjectId,
        s.Created.Name,
        s.CostUsd,
        s.InputTokens + s.OutputTokens,
        Rows(s.Runs, r => r.TaskId ?? r.Purpose.ToString().ToLowerInvariant(), byKey: false),
        Rows(s.Runs, r => r.Persona, byKey: true),
        Rows(s.Runs, r => r.Provider ?? "none", byKey: true));

    /// <summary>Tasks in the order they first ran; personas and providers by name.</summary>
    private static List<ProjectCostRow> Rows(IEnumerable<ProjectRunCost> runs, Func<ProjectRunCost, string> key, bool byKey)
    {
        var rows = runs.GroupBy(key, StringComparer.Ordinal)
            .Select(g => new ProjectCostRow(g.Key, g.Count(), g.Sum(r => r.InputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.CostUsd)));
        return byKey ? rows.OrderBy(r => r.Key, StringComparer.Ordinal).ToList() : rows.ToList();
    }
}
