namespace DarkFactory.Host.Api;

/// <summary>Body of POST /api/providers (<c>df provider add</c>); <c>api_key_env</c> names the daemon's variable holding the key.</summary>
public sealed record AddProviderRequest(string? Name, string? Cli, string? Model, string? ApiKeyEnv, decimal? Credits, int? Priority);

/// <summary>
/// Runtime providers (<c>df provider add|list|remove</c>): GET /api/providers/config lists fleet.yaml's and the added
/// ones (source fleet | runtime), POST /api/providers adds one (or changes one added so), DELETE /api/providers/{name}
/// removes one added so. The router keeps them as events; a key is never sent, stored or shown, only its variable's name.
/// 400 names the field, 404 an unknown provider, 409 a fleet.yaml name.
/// </summary>
public static class ProviderEndpoints
{
    public static void MapProviderEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/providers/config", async (FactoryClient f, CancellationToken ct) =>
                Results.Json((await f.Ask<ProviderConfigs>(GetProviderConfigs.Instance, ct)).Providers, DarkFactoryJson.Options))
            .WithSummary("Every provider routed to: fleet.yaml's and those added at runtime (source), cli, model, api_key_env (the name), credits, priority")
            .Produces<List<ProviderConfig>>();
        api.MapPost("/providers", Add)
            .WithSummary("Add a provider at runtime (df provider add), or change one added so; 400 names the field, 409 a fleet.yaml name")
            .Produces<ProviderCommandResult>(201).ProducesProblem(400).ProducesProblem(409);
        api.MapDelete("/providers/{name}", async (string name, HttpContext http, FactoryClient f, CancellationToken ct) =>
                Answer(await f.Ask<ProviderCommandResult>(new RemoveProvider(name, ApiAuth.Principal(http).By), ct), "provider not removed"))
            .WithSummary("Remove a provider added at runtime (df provider remove); 404 unknown, 409 one of fleet.yaml")
            .Produces<ProviderCommandResult>().ProducesProblem(404).ProducesProblem(409);
    }

    private static async Task<IResult> Add(HttpRequest request, HttpContext http, FactoryClient f, CancellationToken ct)
    {
        AddProviderRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync<AddProviderRequest>(DarkFactoryJson.Options, ct);
        }
        catch (System.Text.Json.JsonException e)
        {
            return ApiProblems.Problem(400, "invalid request body", $"expected {{\"name\", \"cli\", \"model\", \"api_key_env\", \"credits\", \"priority\"}}: {ApiProblems.JsonProblem(e)}");
        }

        if (body is null || string.IsNullOrWhiteSpace(body.Name) || string.IsNullOrWhiteSpace(body.Cli))
        {
            return ApiProblems.Problem(400, "provider not added", body is null || string.IsNullOrWhiteSpace(body.Name) ? "name: a provider needs a name" : "cli: a provider needs a cli (claude, codex, opencode or gemini)");
        }

        var command = new AddProvider(body.Name, body.Cli, body.Model, body.ApiKeyEnv, body.Credits, body.Priority, ApiAuth.Principal(http).By);
        return Answer(await f.Ask<ProviderCommandResult>(command, ct), "provider not added");
    }

    private static IResult Answer(ProviderCommandResult result, string title) => result.Outcome switch
    {
        ProviderCommandOutcome.Added => Results.Json(result, DarkFactoryJson.Options, statusCode: 201),
        ProviderCommandOutcome.Updated or ProviderCommandOutcome.Removed => Results.Json(result, DarkFactoryJson.Options),
        ProviderCommandOutcome.Invalid => ApiProblems.Problem(400, title, result.Message),
        ProviderCommandOutcome.NotFound => ApiProblems.Problem(404, title, result.Message),
        _ => ApiProblems.Problem(409, title, result.Message),
    };
}
