using Akka.Hosting;
using DarkFactory.Actors.Routing.Admission;

namespace DarkFactory.Host.Api;

/// <summary>Body of POST /api/route (the query string works too).</summary>
public sealed record RouteRequest(string? Task, string? Agent);

/// <summary>
/// The router's API: POST /api/route (a routing decision against the live provider board, with the
/// best-fit agent), GET /api/providers (state, reset time and spend of each provider; /switches: recent
/// provider switches; /avoids: routes agents keep off after a severe drift), GET /api/costs
/// (the ledger grouped by agent, provider, day or run).
/// </summary>
public static class RouterEndpoints
{
    private static readonly string[] CostGroupings = ["agent", "provider", "day", "run"];

    /// <summary>The router's view of each provider with the admission gate's counts (in flight, queued, pace).</summary>
    public static IReadOnlyList<ProviderStatus> WithAdmission(IReadOnlyList<ProviderStatus> providers, AdmissionReport admission)
    {
        var gate = admission.Providers.ToDictionary(p => p.Provider, StringComparer.Ordinal);
        return providers.Select(p => gate.TryGetValue(p.Name, out var g)
            ? p with { InFlight = g.InFlight, MaxConcurrent = g.MaxConcurrent, Queued = g.Queued, RequestsLastMinute = g.RequestsLastMinute, TokensLastMinute = g.TokensLastMinute }
            : p).ToList();
    }

    public static void MapRouterEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/route", Route)
            .WithSummary("The route a task gets (cli, provider, model, reason), why each other candidate lost, and the best-fit agent")
            .Produces<RouteDecision>()
            .ProducesProblem(400)
            .ProducesProblem(404);
        api.MapGet("/providers", async (FactoryClient f, RunGate gate, CancellationToken ct) =>
                Json(WithAdmission((await Ask<ProvidersSnapshot>(f, GetProviders.Instance, ct)).Providers, gate.Report())))
            .WithSummary("Each provider: state (ok, limited, open, over_budget), reset_at, spend, runs in flight against max_concurrent, queued runs, requests and tokens in the last minute")
            .Produces<List<ProviderStatus>>();
        api.MapGet("/providers/queue", (RunGate gate) => Json(gate.Report()))
            .WithSummary("The admission gate: runs in flight against limits.max_concurrent_runs, the queued runs in order with what holds each, and each provider's runs, pace and throttled counts")
            .Produces<AdmissionReport>();
        api.MapGet("/providers/switches", async (FactoryClient f, CancellationToken ct) =>
                Json((await Ask<ProvidersSnapshot>(f, GetProviders.Instance, ct)).Switches ?? []))
            .WithSummary("The latest provider switches of agents, with their reasons")
            .Produces<List<ProviderSwitched>>();
        api.MapGet("/providers/avoids", async (FactoryClient f, CancellationToken ct) =>
                Json((await Ask<ProvidersSnapshot>(f, GetProviders.Instance, ct)).Avoids ?? []))
            .WithSummary("The routes agents keep off after a severe drift (Nightwatch's route-avoid): agent, provider, model, until, reason")
            .Produces<List<RouteAvoidRecorded>>();
        api.MapGet("/costs", async (string? by, FactoryClient f, CancellationToken ct) =>
        {
            by ??= "provider";
            if (!CostGroupings.Contains(by))
            {
                return Problem(400, "invalid parameter 'by'", $"by: must be one of {string.Join(", ", CostGroupings)}; got '{by}'");
            }

            return Json(await Ask<CostReport>(f, new GetCosts(by), ct));
        })
            .WithSummary("The cost ledger grouped by agent, provider, day or run, and spend against budgets")
            .Produces<CostReport>()
            .ProducesProblem(400);
    }

    private static async Task<IResult> Route(string? task, string? agent, HttpRequest request, FactoryClient f, CancellationToken ct)
    {
        if (task is null && request.ContentLength > 0)
        {
            try
            {
                var body = await request.ReadFromJsonAsync<RouteRequest>(DarkFactoryJson.Options, ct);
                task = body?.Task;
                agent ??= body?.Agent;
            }
            catch (System.Text.Json.JsonException e)
            {
                return Problem(400, "invalid request body", $"expected {{\"task\": \"...\", \"agent\": \"...\"}}: {ApiProblems.JsonProblem(e)}");
            }
        }

        if (string.IsNullOrWhiteSpace(task))
        {
            return Problem(400, "missing parameter 'task'", "task: give the task text: POST /api/route?task=... (or a JSON body {\"task\": \"...\"})");
        }

        if (agent is not null && !(await Ask<CurrentFleet>(f, GetFleet.Instance, ct)).Fleet.Agents.Any(a => a.Name == agent))
        {
            return Problem(404, "unknown agent", $"agent: no agent named '{agent}' in the fleet");
        }

        return Json(await Ask<RouteDecision>(f, new RouteTask(task, agent), ct));
    }

    private static Task<T> Ask<T>(FactoryClient factory, object message, CancellationToken ct) => factory.Ask<T>(message, ct);

    private static IResult Json(object value) => Results.Json(value, DarkFactoryJson.Options);

    private static IResult Problem(int status, string title, string detail) => ApiProblems.Problem(status, title, detail);
}
