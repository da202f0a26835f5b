using System.Security.Cryptography;
using Akka.Hosting;
using DarkFactory.Actors.Control;
using DarkFactory.Actors.Processes;

namespace DarkFactory.Host.Api;

/// <summary>Who called the API: the operator (the data directory's token) or one run of an agent (its <c>DF_API_TOKEN</c>).</summary>
public sealed record ApiPrincipal(RunPrincipal? Run)
{
    public static readonly ApiPrincipal Operator = new((RunPrincipal?)null);

    public bool IsOperator => Run is null;

    /// <summary>The requester recorded in the agents' history for what this caller asks (<see cref="Requester"/>).</summary>
    public string By => Run is { } run ? Requester.Agent(run.Agent) : Requester.Operator;
}

/// <summary>
/// The API's authentication and the scope of run tokens. The operator's token may do everything. A run
/// token (<see cref="RunApi"/>) is accepted only while its run is the agent's current, live run, and only for
/// what an agent may do: read the fleet's status (<c>GET /api/status</c>, <c>/api/agents[/NAME]</c>,
/// <c>/api/capabilities[/NAME]</c>, <c>/api/schedule</c>) and start an on-demand agent of the growth layer
/// other than itself (<c>POST /api/agents/NAME/run|start</c>, an @mention). Anything else is 403; a token
/// that is neither is 401. What a caller asks is attributed to it (<see cref="ApiPrincipal.By"/>).
/// </summary>
public static class ApiAuth
{
    private const string PrincipalKey = "df.principal";

    /// <summary>The caller of this request (set by the token check; the operator for public paths).</summary>
    public static ApiPrincipal Principal(HttpContext context) =>
        context.Items.TryGetValue(PrincipalKey, out var p) && p is ApiPrincipal principal ? principal : ApiPrincipal.Operator;

    /// <summary>The token of an <c>Authorization: Bearer TOKEN</c> header (the scheme in any case, RFC 9110); empty when there is none.</summary>
    public static string BearerToken(string header)
    {
        var trimmed = header.TrimStart();
        return trimmed.Length > "Bearer ".Length && trimmed.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase) && trimmed[6] is ' ' or '\t'
            ? trimmed[7..].Trim()
            : string.Empty;
    }

    public static async Task RequireToken(HttpContext context, Func<Task> next)
    {
        if (ApiEndpoints.IsPublic(context.Request.Path))
        {
            await next();
            return;
        }

        var header = context.Request.Headers.Authorization.ToString();
        var given = BearerToken(header);
        var services = context.RequestServices;
        var expected = services.GetRequiredService<ApiToken>().Value;
        if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected)))
        {
            context.Items[PrincipalKey] = ApiPrincipal.Operator;
            await next();
            return;
        }

        if (services.GetService<RunApi>()?.Verify(given) is { } run)
        {
            var find = await AgentLookup(services, context.RequestAborted);
            if (!IsLive(run, find))
            {
                await Refuse(context, 401, "unauthorized", $"the run token of agent '{run.Agent}' is void: run {run.RunId} is over");
                return;
            }

            if (RunMayNot(context.Request.Method, context.Request.Path, run, find) is { } why)
            {
                await Refuse(context, 403, "forbidden", why);
                return;
            }

            context.Items[PrincipalKey] = new ApiPrincipal(run);
            await next();
            return;
        }

        await Refuse(context, 401, "unauthorized", "a valid bearer token is required (see the data directory's token file)");
    }

    /// <summary>True while the token's run is the agent's current run and not over.</summary>
    public static bool IsLive(RunPrincipal run, Func<string, AgentStatus?> find) =>
        find(run.Agent) is { } agent && agent.RunId == run.RunId && agent.State is AgentState.Starting or AgentState.Running or AgentState.Stopping;

    /// <summary>Why a run token may not make this request; null when it may (see the class summary).</summary>
    public static string? RunMayNot(string method, PathString path, RunPrincipal run, Func<string, AgentStatus?> find)
    {
        var segments = (path.Value ?? string.Empty).Trim('/').Split('/');
        var read = HttpMethods.IsGet(method) && segments switch
        {
            ["api", "status"] or ["api", "agents"] or ["api", "agents", _] or ["api", "capabilities"] or ["api", "capabilities", _] or ["api", "schedule"] => true,
            _ => false,
        };
        if (read)
        {
            return null;
        }

        if (HttpMethods.IsPost(method) && segments is ["api", "agents", var target, "run" or "start"])
        {
            if (target == run.Agent)
            {
                return $"agent '{run.Agent}' may not start itself";
            }

            return find(target) is { Layer: LayerName.Growth } ? null : $"agent '{run.Agent}' may start only on-demand agents of the growth layer; '{target}' is not one";
        }

        return $"a run's token (agent '{run.Agent}') may read the fleet's status and start on-demand growth agents, not {method} {path}";
    }

    /// <summary>The fleet's agents from the status view, or from the fleet itself before the view serves.</summary>
    private static async Task<Func<string, AgentStatus?>> AgentLookup(IServiceProvider services, CancellationToken ct)
    {
        if (services.GetRequiredService<FleetStatusView>().Live is { } live)
        {
            return live.Find;
        }

        var agents = (await services.GetRequiredService<FactoryClient>().Ask<AgentsSnapshot>(GetAgents.Instance, ct)).Agents.ToDictionary(a => a.Agent, StringComparer.Ordinal);
        return name => agents.GetValueOrDefault(name);
    }

    private static async Task Refuse(HttpContext context, int status, string title, string detail)
    {
        if (status == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        await ApiProblems.Problem(status, title, detail).ExecuteAsync(context);
    }
}
