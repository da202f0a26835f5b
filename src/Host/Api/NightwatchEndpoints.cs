using Akka.Hosting;

namespace DarkFactory.Host.Api;

/// <summary>Nightwatch's endpoints: drift per agent and the escalations list.</summary>
public static partial class ApiEndpoints
{
    private static void MapNightwatch(RouteGroupBuilder api)
    {
        // Each agent: {agent, score, level, components, updated_at, last_correction, pending_hint, paused, provider}
        api.MapGet("/drift", async (FactoryClient f, CancellationToken ct) =>
            Json((await Ask<DriftSnapshot>(f, new GetDrift(), ct)).Agents))
            .WithSummary("Each agent's drift score, level, signal components and last correction").Produces<List<AgentDrift>>();
        api.MapGet("/drift/{name}", async (string name, FactoryClient f, CancellationToken ct) =>
        {
            var agent = (await Ask<DriftSnapshot>(f, new GetDrift(name), ct)).Agents.FirstOrDefault();
            return agent is null ? UnknownAgent(name) : Json(agent);
        }).WithSummary("One agent's drift").Produces<AgentDrift>().ProducesProblem(404);

        // Newest first: {escalation: {id, agent, at, level, score, reason, components, run_id}, delivery: {ok, detail, at} | null}
        api.MapGet("/escalations", async (int? limit, FactoryClient f, CancellationToken ct) =>
        {
            if (limit is <= 0 or > 1000)
            {
                return Problem(400, "invalid limit", $"limit must be between 1 and 1000 (got {limit})");
            }

            return Json((await Ask<EscalationList>(f, new GetEscalations(limit ?? 100), ct)).Escalations);
        }).WithSummary("Drifts escalated to a human, newest first (limit 1..1000), with the webhook delivery").Produces<List<EscalationEntry>>().ProducesProblem(400);
    }
}
