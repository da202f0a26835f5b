using DarkFactory.Actors.Projects;

namespace DarkFactory.Host.Api;

/// <summary>Body of POST /api/projects (<c>df init</c>); <c>max_runtime</c> and <c>extend</c> are durations like <c>12h</c>.</summary>
public sealed record InitProjectRequest(
    string? Name,
    string? Description,
    IReadOnlyList<string>? Personas,
    string? Repo,
    string? BaseBranch,
    string? MaxRuntime,
    bool? CreatePr,
    string? Parent);

/// <summary>Body of POST /api/projects/{id}/resume (<c>df resume ID --extend 2h</c>).</summary>
public sealed record ResumeProjectRequest(string? Extend);

/// <summary>
/// /api/projects: GET lists them (<c>?status=</c>), POST creates one (<c>df init</c>); /api/projects/{id} (by id or
/// name) is its status, /tasks its task list, /costs its runs' costs, /export its report (<c>?format=markdown|json</c>);
/// POST /start, /pause and /resume act on it. A refused command changes nothing: 400 bad input (naming the field),
/// 404 unknown project, 409 not allowed in its status.
/// </summary>
public static class ProjectEndpoints
{
    public static void MapProjectEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/projects", async (string? status, FactoryClient f, CancellationToken ct) =>
        {
            ProjectStatus? filter = null;
            if (status is not null)
            {
                if (!TryStatus(status, out var s))
                {
                    return ApiProblems.Problem(400, "invalid parameter 'status'", $"status: must be one of {string.Join(", ", Enum.GetValues<ProjectStatus>().Select(Name))}; got '{status}'");
                }

                filter = s;
            }

            return Json((await f.Ask<ProjectsList>(new GetProjects(filter), ct)).Projects);
        }).WithSummary("The projects, newest first (status: initializing, active, paused, waiting_for_credits, completed, failed, timeout)")
            .Produces<List<ProjectView>>().ProducesProblem(400);
        api.MapPost("/projects", Init)
            .WithSummary("Create a project (df init): checked, its work branch and worktree made; 400 names the field of bad input")
            .Produces<ProjectView>(201).ProducesProblem(400);
        api.MapGet("/projects/{id}", async (string id, FactoryClient f, CancellationToken ct) =>
            {
                var found = await f.Ask<ProjectFound>(new GetProject(id), ct);
                return found.View is { } view ? Json(view) : Unknown(id, found.Recovering);
            })
            .WithSummary("A project's status, current task, progress, runtime left, cost and tokens").Produces<ProjectView>().ProducesProblem(404);
        api.MapGet("/projects/{id}/tasks", async (string id, FactoryClient f, CancellationToken ct) =>
            {
                var found = await f.Ask<ProjectTasksFound>(new GetProjectTasks(id), ct);
                return found.Tasks is { } tasks ? Json(tasks) : Unknown(id, found.Recovering);
            })
            .WithSummary("A project's task list: status, persona, attempts with gate results, audit notes").Produces<List<ProjectTaskView>>().ProducesProblem(404);
        api.MapGet("/projects/{id}/costs", async (string id, FactoryClient f, CancellationToken ct) =>
            {
                var found = await f.Ask<ProjectStateFound>(new GetProjectState(id), ct);
                return found.State is { } state ? Json(ProjectCosts.Report(state)) : Unknown(id, found.Recovering);
            })
            .WithSummary("What a project's runs cost, by task, persona and provider").Produces<ProjectCostReport>().ProducesProblem(404);
        api.MapGet("/projects/{id}/export", Export)
            .WithSummary("A project's report: format=markdown (text/markdown) or json ({project, tasks})").ProducesProblem(400).ProducesProblem(404);
        api.MapPost("/projects/{id}/start", (string id, FactoryClient f, CancellationToken ct) => Command(f, new StartProject(id), ct))
            .WithSummary("Start a project: plan -> tasks -> runs -> gates -> audit -> report; queued beyond projects.concurrency")
            .Produces<ProjectCommandResult>().ProducesProblem(404).ProducesProblem(409);
        api.MapPost("/projects/{id}/pause", (string id, FactoryClient f, CancellationToken ct) => Command(f, new PauseProject(id), ct))
            .WithSummary("Pause a project: its run stops gracefully, where it was is recorded")
            .Produces<ProjectCommandResult>().ProducesProblem(404).ProducesProblem(409);
        api.MapPost("/projects/{id}/resume", Resume)
            .WithSummary("Resume a paused (or timed out, with extend) project where it was")
            .Produces<ProjectCommandResult>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);
        api.MapGet("/personas", async (FactoryClient f, CancellationToken ct) =>
            Json(PersonaSummary.List((await f.Ask<CurrentFleet>(GetFleet.Instance, ct)).Fleet.Projects.Personas)))
            .WithSummary("The personas the daemon loaded from projects.personas_dir: name, version, description, agent, capabilities, checks, file")
            .Produces<List<PersonaSummary>>();
    }

    private static async Task<IResult> Init(HttpRequest request, FactoryClient f, CancellationToken ct)
    {
        var body = await Body<InitProjectRequest>(request, ct);
        if (body is null)
        {
            return ApiProblems.Problem(400, "invalid request body", "expected {\"name\", \"description\", \"personas\": [...], \"repo\", \"base_branch\", \"max_runtime\"}");
        }

        TimeSpan? maxRuntime = null;
        if (body.MaxRuntime is { } text)
        {
            if (!Durations.TryParse(text, out var d) || d <= TimeSpan.Zero)
            {
                return ApiProblems.Problem(400, "project not created", $"max_runtime: '{text}' is not a duration above 0 (e.g. 12h, 90m)");
            }

            maxRuntime = d;
        }

        var command = new InitProject(
            body.Name ?? string.Empty,
            body.Description ?? string.Empty,
            body.Personas ?? [],
            body.Repo ?? string.Empty,
            string.IsNullOrWhiteSpace(body.BaseBranch) ? "main" : body.BaseBranch,
            maxRuntime,
            body.CreatePr,
            body.Parent);
        var result = await f.Ask<ProjectCommandResult>(command, f.Options.ReviewAskTimeout, ct);
        return result.Ok
            ? Results.Json(result.Project, DarkFactoryJson.Options, statusCode: 201)
            : Refused(result, "project not created");
    }

    private static async Task<IResult> Resume(string id, HttpRequest request, FactoryClient f, CancellationToken ct)
    {
        TimeSpan? extend = null;
        if (request.ContentLength > 0 && await Body<ResumeProjectRequest>(request, ct) is { Extend: { } text })
        {
            if (!Durations.TryParse(text, out var d) || d <= TimeSpan.Zero)
            {
                return ApiProblems.Problem(400, "project not resumed", $"extend: '{text}' is not a duration above 0 (e.g. 2h)");
            }

            extend = d;
        }

        return await Command(f, new ResumeProject(id, extend), ct);
    }

    private static async Task<IResult> Export(string id, string? format, FactoryClient f, CancellationToken ct)
    {
        format ??= "markdown";
        if (format is not ("markdown" or "json"))
        {
            return ApiProblems.Problem(400, "invalid parameter 'format'", $"format: must be markdown or json; got '{format}'");
        }

        var found = await f.Ask<ProjectStateFound>(new GetProjectState(id), ct);
        if (found.State is not { } state)
        {
            return Unknown(id, found.Recovering);
        }

        var now = DateTimeOffset.UtcNow;
        return format == "markdown"
            ? Results.Text(ProjectReport.Markdown(state, now), "text/markdown; charset=utf-8")
            : Json(new ProjectExport(ProjectViews.Status(state, now), ProjectViews.Tasks(state), ProjectCosts.Report(state)));
    }

    private static async Task<IResult> Command(FactoryClient f, object command, CancellationToken ct)
    {
        var result = await f.Ask<ProjectCommandResult>(command, ct);
        return result.Ok ? Json(result) : Refused(result, "project unchanged");
    }

    private static IResult Refused(ProjectCommandResult result, string title)
    {
        var status = result.Outcome switch
        {
            ProjectCommandOutcome.NotFound => 404,
            ProjectCommandOutcome.Invalid => 400,
            _ => 409,
        };
        return ApiProblems.Problem(status, title, result.Message);
    }

    /// <summary>404, or 503 when the project is journaled but its actor has not recovered yet (the client asks again).</summary>
    private static IResult Unknown(string id, bool recovering = false) => recovering
        ? ApiProblems.Problem(503, "project recovering", $"id: project '{id}' is still being recovered from the journal; try again shortly")
        : ApiProblems.Problem(404, "unknown project", $"id: no project with id or name '{id}' (see GET /api/projects)");

    private static async Task<T?> Body<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return null; // no body (a body of another type is answered 415 before this)
        }

        try
        {
            return await request.ReadFromJsonAsync<T>(DarkFactoryJson.Options, ct);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static bool TryStatus(string text, out ProjectStatus status)
    {
        foreach (var s in Enum.GetValues<ProjectStatus>())
        {
            if (Name(s) == text)
            {
                status = s;
                return true;
            }
        }

        status = default;
        return false;
    }

    /// <summary>The status as JSON writes it (waiting_for_credits).</summary>
    public static string Name(ProjectStatus status) =>
        System.Text.Json.JsonSerializer.Serialize(status, DarkFactoryJson.Options).Trim('"');

    private static IResult Json(object? value) => Results.Json(value, DarkFactoryJson.Options);
}

/// <summary><c>df export ID --format json</c>: the status, the task list and the costs in one object.</summary>
public sealed record ProjectExport(ProjectView Project, IReadOnlyList<ProjectTaskView> Tasks, ProjectCostReport Costs);
