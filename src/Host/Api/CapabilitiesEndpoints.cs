using Akka.Hosting;
using DarkFactory.Actors.Control;

namespace DarkFactory.Host.Api;

/// <summary>One agent in the capability registry.</summary>
/// <param name="CurrentTask">The task of the running run (the API's task for it, else the agent's own); null when idle.</param>
/// <param name="Route">The route of the running run (CLI, provider, model, reason) when the router chose one; null otherwise.</param>
public sealed record AgentCapabilities(
    string Agent,
    LayerName Layer,
    string Cli,
    IReadOnlyList<string> Capabilities,
    string? Provider,
    string? Model,
    AgentState State,
    string? RunId,
    string? CurrentTask,
    AgentLoad Load,
    int Restarts,
    string? Schedule,
    RunRoute? Route = null);

/// <summary>The route a run got from the router.</summary>
public sealed record RunRoute(string Cli, string? Provider, string? Model, string Reason);

/// <param name="Running">Runs going now (an agent has at most one process).</param>
/// <param name="Queued">Scheduled firings waiting for the current run to end.</param>
public sealed record AgentLoad(int Running, int Queued);

/// <summary>
/// The capability registry: GET /api/capabilities (every agent's capabilities from fleet.yaml, its
/// current task and load) and GET /api/capabilities/{agent}. Nothing of an agent's environment is shown
/// (secrets never leave the daemon).
/// </summary>
public static class CapabilitiesEndpoints
{
    public static void MapCapabilities(this RouteGroupBuilder api)
    {
        api.MapGet("/capabilities", async (FactoryClient f, FleetStatusView view, RunTasks tasks, CancellationToken ct) =>
                Results.Json(await Registry(f, view, tasks, ct), Messages.DarkFactoryJson.Options))
            .WithSummary("Every agent's capabilities, current task and load")
            .Produces<List<AgentCapabilities>>();
        api.MapGet("/capabilities/{agent}", async (string agent, FactoryClient f, FleetStatusView view, RunTasks tasks, CancellationToken ct) =>
                (await Registry(f, view, tasks, ct)).FirstOrDefault(a => a.Agent == agent) is { } found
                    ? Results.Json(found, Messages.DarkFactoryJson.Options)
                    : ApiProblems.Problem(404, "unknown agent", $"agent: no agent named '{agent}' in the fleet"))
            .WithSummary("One agent's capabilities, current task and load")
            .Produces<AgentCapabilities>()
            .ProducesProblem(404);
    }

    /// <summary>The registry: the fleet and the scheduler's queues asked for, the agents' status from the live view.</summary>
    public static async Task<IReadOnlyList<AgentCapabilities>> Registry(FactoryClient factory, FleetStatusView view, RunTasks tasks, CancellationToken ct)
    {
        var actor = await factory.GetAsync(ct);
        var fleetTask = actor.Ask<CurrentFleet>(GetFleet.Instance, factory.Options.AskTimeout, ct);
        var snapshot = view.Live;
        var agentsTask = snapshot is null ? actor.Ask<AgentsSnapshot>(GetAgents.Instance, factory.Options.AskTimeout, ct) : null;
        var scheduleTask = factory.Ask<ScheduleSnapshot>(new GetSchedule(1), factory.Options.AskTimeout, ct);
        var fleet = await fleetTask;
        var agents = snapshot?.Agents ?? (await agentsTask!).Agents;
        var statuses = agents.ToDictionary(a => a.Agent, StringComparer.Ordinal);
        var queued = (await Queues(scheduleTask)).Agents.ToDictionary(a => a.Agent, a => a.Queued, StringComparer.Ordinal);
        return Build(fleet.Fleet, statuses, queued, tasks, view.RouteOf);
    }

    /// <summary>The scheduler's queues; none known while the cluster's scheduler singleton is moving (the registry still answers).</summary>
    private static async Task<ScheduleSnapshot> Queues(Task<ScheduleSnapshot> schedule)
    {
        try
        {
            return await schedule;
        }
        catch (SingletonUnavailableException)
        {
            return new ScheduleSnapshot([]);
        }
    }

    /// <summary>Pure: the registry from the fleet, the agents' status and the scheduler's queues.</summary>
    public static IReadOnlyList<AgentCapabilities> Build(FleetSpec fleet, IReadOnlyDictionary<string, AgentStatus> statuses, IReadOnlyDictionary<string, int> queued, RunTasks tasks, Func<string, string?, RouteChosen?>? routeOf = null) =>
        fleet.Agents.Select(spec =>
        {
            var status = statuses.GetValueOrDefault(spec.Name);
            var state = status?.State ?? AgentState.Stopped;
            var running = state is AgentState.Running or AgentState.Starting or AgentState.Stopping;
            var route = running ? routeOf?.Invoke(spec.Name, status?.RunId) : null;
            return new AgentCapabilities(
                spec.Name,
                spec.Layer,
                spec.Cli,
                spec.Capabilities,
                spec.Provider,
                spec.Model,
                state,
                running ? status?.RunId : null,
                running ? tasks.Find(status?.RunId) ?? spec.Task : null,
                new AgentLoad(running ? 1 : 0, queued.GetValueOrDefault(spec.Name)),
                status?.Restarts ?? 0,
                spec.Schedule,
                route is null ? null : new RunRoute(route.Cli, route.Provider, route.Model, route.Reason));
        }).ToList();
}
