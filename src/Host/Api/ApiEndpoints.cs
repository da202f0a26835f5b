using Akka.Hosting;
using DarkFactory.Actors.Cluster;
using DarkFactory.Actors.Control;
using DarkFactory.Actors.Isolation;
using DarkFactory.Actors.Output;
using DarkFactory.Host.Cluster;
using DarkFactory.Host.Dashboard;
using DarkFactory.Messages.Cluster;
using Microsoft.AspNetCore.Mvc;

namespace DarkFactory.Host.Api;

public sealed record ApiToken(string Value);

/// <summary>Body of POST /api/agents/{name}/start and /run.</summary>
public sealed record StartRequest(string? Task);

/// <summary>
/// The daemon's HTTP API on loopback. Every endpoint but /api/health requires the bearer token from the
/// data directory, or a run's scoped token for the few things an agent may do (<see cref="ApiAuth"/>). Answers use the snake_case JSON of <see cref="DarkFactoryJson"/>; errors are
/// problem details naming what is wrong.
/// </summary>
public static partial class ApiEndpoints
{
    private const string JsonContentType = "application/json; charset=utf-8";

    public static void MapDarkFactoryApi(this WebApplication app)
    {
        app.Use(ApiProblems.Guard);
        app.Use(ApiAuth.RequireToken);
        app.Use(ApiProblems.Bodies);
        app.MapDashboard();
        var api = app.MapGroup("/api").WithTags("agents");
        api.MapGet("/health/ready", async (Readiness readiness, CancellationToken ct) =>
        {
            var report = await readiness.CheckAsync(ct);
            var body = new { status = report.Ready ? "ready" : "not_ready", reason = report.Reason, checks = report.Checks.Select(c => new { name = c.Name, ok = c.Ok, detail = c.Detail }) };
            return Results.Json(body, DarkFactoryJson.Options, statusCode: report.Ready ? 200 : 503);
        }).WithSummary("Readiness (public): 200 when the actor tree answers, the journal takes writes and the disk has room; else 503 with the reason").Produces(200).Produces(503);
        api.MapGet("/health", () => Json(new { status = "ok" }))
            .WithSummary("Liveness probe (no token needed)");
        api.MapGet("/status", Status).WithSummary("The daemon and a summary of its fleet");
        api.MapGet("/cluster", (ClusterMembership cluster) => cluster.Report() is { } report
                ? Json(report)
                : Problem(404, "not a cluster", "this daemon is a single node, not a cluster member (a cluster node is started with df up --node NAME)"))
            .WithSummary("The cluster as this node sees it: members (node, address, roles, status, agents) and where the singletons run; 404 on a single node");
        api.MapGet("/agents", async (FleetStatusView view, FactoryClient f, ClusterMembership cluster, CancellationToken ct) =>
            cluster.Enabled
                ? Json(ClusterAgents.ToJson(await ClusterWideAgents(f, cluster, ct)))
                : view.Live is { } snapshot
                    ? Results.Bytes(snapshot.Json, JsonContentType)
                    : Json((await Ask<AgentsSnapshot>(f, GetAgents.Instance, ct)).Agents))
            .WithSummary("Every agent: layer, state, pid, restarts, last exit; on a cluster node every agent of the fleet with its node (null: placed nowhere, reason says why; the other nodes are asked, and one that does not answer in 3 s shows its agents as unknown)").Produces<List<AgentStatus>>();
        api.MapGet("/agents/{name}", async (string name, FleetStatusView view, FactoryClient f, ClusterMembership cluster, CancellationToken ct) =>
        {
            if (cluster.Enabled)
            {
                // wherever it runs: the cluster-wide answer (the other nodes asked, 3 s each), with its node
                var everywhere = ClusterAgents.ToJson(await ClusterWideAgents(f, cluster, ct));
                var found = everywhere.FirstOrDefault(a => (string?)a!["name"] == name);
                return found is null ? UnknownAgent(name) : Json(found.DeepClone());
            }

            // from the live view; an agent it does not know yet (a reload just added it) is asked for
            var agent = view.Live?.Find(name) ?? (await Ask<AgentsSnapshot>(f, GetAgents.Instance, ct)).Agents.FirstOrDefault(a => a.Agent == name);
            return agent is null ? UnknownAgent(name) : Json(agent);
        }).WithSummary("One agent; on a cluster node wherever it runs, with its node").Produces<AgentStatus>().ProducesProblem(404);
        api.MapPost("/agents/{name}/start", Start)
            .WithSummary("Start a run now; body {\"task\": \"...\"} (optional) overrides the agent's task")
            .Accepts<StartRequest>("application/json").Produces<CommandResult>().Produces<CommandResult>(409).ProducesProblem(404);
        api.MapPost("/agents/{name}/run", Start) // an on-demand run (df run); answers its run id
            .WithSummary("An on-demand run; answers its run id")
            .Accepts<StartRequest>("application/json").Produces<CommandResult>().Produces<CommandResult>(409).ProducesProblem(404);
        api.MapPost("/agents/{name}/stop", (string name, HttpContext http, FactoryClient f, IRequiredActor<EventBridgeActor> b, ClusterMembership cluster, CancellationToken ct) => Command(f, b, cluster, new StopAgent(name, ApiAuth.Principal(http).By), ct))
            .WithSummary("Stop gracefully (SIGTERM, grace, SIGKILL) and keep stopped").Produces<CommandResult>().Produces<CommandResult>(409).ProducesProblem(404);
        api.MapPost("/agents/{name}/restart", (string name, HttpContext http, FactoryClient f, IRequiredActor<EventBridgeActor> b, ClusterMembership cluster, CancellationToken ct) => Command(f, b, cluster, new RestartAgent(name, ApiAuth.Principal(http).By), ct))
            .WithSummary("Stop and start again; releases a quarantined agent").Produces<CommandResult>().Produces<CommandResult>(409).ProducesProblem(404);
        api.MapGet("/agents/{name}/history", History)
            .WithSummary("Persisted lifecycle history (newest last); limit 1..500; on a cluster node the history kept by the node that runs the agent (header X-DF-Node)")
            .Produces<List<AgentLifecycle>>().ProducesProblem(404).ProducesProblem(409).ProducesProblem(503);
        api.MapGet("/agents/{name}/logs", Logs)
            .WithSummary("The agent's output log: tail=N lines, follow=true keeps streaming").Produces(200, contentType: "text/plain").ProducesProblem(404);
        api.MapGet("/schedule", Schedule).WithSummary("Each scheduled agent's next firings (UTC and its own time zone)");
        api.MapGet("/branches", async (string? agent, FactoryClient f, DataDirectory data, CancellationToken ct) =>
        {
            if (agent is not null && !await Exists(f, agent, ct))
            {
                return UnknownAgent(agent);
            }

            return Json(await AgentWorktrees.ListAsync(Path.Combine(data.Path, RunIsolation.BranchesDirectory), agent, ct));
        }).WithSummary("The branches isolated runs left to review or merge (newest first; ?agent=A): agent, branch, run_id, commits, files_changed, gates")
            .Produces<List<AgentBranch>>().ProducesProblem(404);
        api.MapReviewEndpoints();
        api.MapProjectEndpoints();
        api.MapRouterEndpoints();
        api.MapProviderEndpoints();
        MapNightwatch(api);
        api.MapPost("/reload", async ([FromQuery(Name = "allow_empty")] bool? allowEmpty, FleetReloader reloader, CancellationToken ct) =>
        {
            var result = await reloader.ReloadAsync(allowEmpty: allowEmpty ?? false, cancel: ct);
            return result switch
            {
                { Applied: true } => Json(new { applied = true, changes = result.Changes, diagnostics = result.Diagnostics }),
                { Refusal: { } refusal } => Results.Json(new { applied = false, refused = refusal.Reason, would_stop = refusal.WouldStop, diagnostics = result.Diagnostics }, DarkFactoryJson.Options, statusCode: 409),
                _ => Results.Json(new { applied = false, diagnostics = result.Diagnostics }, DarkFactoryJson.Options, statusCode: 422),
            };
        }).WithSummary("Re-read fleet.yaml and apply it by reconciliation (422 with diagnostics when invalid; 409 naming the agents when it would stop every agent or every safety agent, unless allow_empty=true)");
        api.MapEvents();
        api.MapCapabilities();
    }

    /// <summary>Paths anyone on the machine may fetch: the health probe and the dashboard's static files (which hold no data).</summary>
    public static bool IsPublic(PathString path) =>
        path.StartsWithSegments("/api/health") || path == "/" || path.StartsWithSegments("/ui");

    private static async Task<IResult> Start(string name, HttpRequest request, FactoryClient f, IRequiredActor<EventBridgeActor> bridge, RunTasks tasks, ClusterMembership cluster, CancellationToken ct)
    {
        string? task = null;
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            try
            {
                task = (await request.ReadFromJsonAsync<StartRequest>(DarkFactoryJson.Options, ct))?.Task;
            }
            catch (System.Text.Json.JsonException e)
            {
                return Problem(400, "invalid request body", $"task: expected {{\"task\": \"...\"}}: {ApiProblems.JsonProblem(e)}");
            }
        }

        if (task is not null && !RunTasks.Fits(task, f.Options.MaxTaskBytes, out var bytes))
        {
            return Problem(413, "task too large", $"task: {bytes} bytes, over the limit of {f.Options.MaxTaskBytes} bytes (darkfactory.max-task-size)");
        }

        var result = await Command(f, bridge, cluster, new StartAgent(name, task, By: ApiAuth.Principal(request.HttpContext).By), ct);
        if (task is not null && result is IValueHttpResult { Value: CommandResult { RunId: { } runId } })
        {
            tasks.Record(runId, task);
        }

        return result;
    }

    /// <summary>Each scheduled agent's next firings: <c>next</c> in UTC (ISO-8601, Z), <c>next_local</c> in its own time zone.</summary>
    private static async Task<IResult> Schedule(int? count, FactoryClient f, CancellationToken ct)
    {
        var schedule = await Ask<ScheduleSnapshot>(f, new GetSchedule(Math.Clamp(count ?? 5, 1, 100)), ct);
        return Json(schedule.Agents.Select(a =>
        {
            var zone = FindZone(a.Timezone);
            return new
            {
                agent = a.Agent,
                next = a.Next.Select(t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).ToList(),
                timezone = a.Timezone,
                next_local = a.Next.Select(t => TimeZoneInfo.ConvertTime(t, zone).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)).ToList(),
                schedule = a.Schedule,
                overlap = a.Overlap,
                catch_up = a.CatchUp,
                jitter_seconds = a.Jitter.TotalSeconds,
                queued = a.Queued,
                last_firing = a.LastFiring,
            };
        }).ToList());
    }

    private static TimeZoneInfo FindZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    private static async Task<IResult> Status(FactoryClient f, FleetStatusView view, FleetReloader reloader, DataDirectory data, CancellationToken ct)
    {
        var agents = view.Live?.Agents ?? (await Ask<AgentsSnapshot>(f, GetAgents.Instance, ct)).Agents;
        var fleet = await Ask<CurrentFleet>(f, GetFleet.Instance, ct);
        return Json(new
        {
            daemon = new { pid = Environment.ProcessId, started_at = data.StartedAt, data_dir = data.Path, fleet = reloader.FleetPath, revision = fleet.Revision },
            agents = new
            {
                total = agents.Count,
                by_state = agents.GroupBy(a => a.State).ToDictionary(g => g.Key.ToString().ToLowerInvariant(), g => g.Count()),
                by_layer = agents.GroupBy(a => a.Layer).ToDictionary(g => g.Key.ToString().ToLowerInvariant(), g => g.Count()),
            },
        });
    }

    private static async Task<IResult> Command(FactoryClient f, IRequiredActor<EventBridgeActor> bridge, ClusterMembership cluster, IAgentCommand command, CancellationToken ct)
    {
        if (!await Exists(f, cluster, command.Agent, ct))
        {
            return UnknownAgent(command.Agent);
        }

        if (cluster.Enabled && cluster.OwnerOf(command.Agent) is { Kind: not OwnerKind.Here } owner)
        {
            return CommandAnswer(await RemoteCommand(f, cluster, owner, command, ct));
        }

        var result = await Ask<CommandResult>(f, command, ct);
        await AwaitStatus(bridge, f.Options.AskTimeout, ct); // live views see the change at once, and so does the caller's next GET
        return CommandAnswer(result);
    }

    private static IResult CommandAnswer(CommandResult result) => Results.Json(result, DarkFactoryJson.Options, statusCode: result.Ok ? 200 : 409);

    /// <summary>A command for an agent this cluster node does not run: to the node that runs it, or refused naming why not.</summary>
    private static async Task<CommandResult> RemoteCommand(FactoryClient f, ClusterMembership cluster, AgentOwner owner, IAgentCommand command, CancellationToken ct)
    {
        switch (owner.Kind)
        {
            case OwnerKind.Unplaced:
                return CommandResult.Refused(CommandOutcome.Unplaced, owner.Reason!);
            case OwnerKind.Unreachable:
                return CommandResult.Refused(CommandOutcome.NoAnswer, owner.Reason!);
        }

        try
        {
            return await cluster.AskOwnerAsync<CommandResult>(owner, command, f.Options.AskTimeout, ct);
        }
        catch (AskTimeoutException)
        {
            return CommandResult.Refused(CommandOutcome.NoAnswer, $"node {owner.Node}, which runs agent '{command.Agent}', did not answer within {f.Options.AskTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>Waits until the status view holds the fleet's status as of now (bounded; a late fleet leaves it as it is).</summary>
    public static async Task AwaitStatus(IRequiredActor<EventBridgeActor> bridge, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await (await bridge.GetAsync(ct)).Ask<EventBridgeActor.StatusCurrent>(EventBridgeActor.AwaitStatus.Instance, timeout, ct);
        }
        catch (AskTimeoutException)
        {
            // the view catches up with the next lifecycle event or refresh
        }
    }

    private static async Task<bool> Exists(FactoryClient f, string name, CancellationToken ct) =>
        (await Ask<CurrentFleet>(f, GetFleet.Instance, ct)).Fleet.Agents.Any(a => a.Name == name);

    /// <summary>In the fleet: on a cluster node the whole fleet (this node's own fleet holds only the agents placed on it).</summary>
    private static async Task<bool> Exists(FactoryClient f, ClusterMembership cluster, string name, CancellationToken ct) =>
        cluster.Enabled ? cluster.Fleet.Agents.Any(a => a.Name == name) : await Exists(f, name, ct);

    private static async Task<bool> ExistsOrInstance(FactoryClient f, string name, CancellationToken ct) =>
        AgentNames.Readable((await Ask<CurrentFleet>(f, GetFleet.Instance, ct)).Fleet, name);

    /// <summary>
    /// On a cluster node, where a declared agent runs (<paramref name="owner"/>), or the answer when there is no node to
    /// ask: not declared, 404; placed on no node, 409; its node not reachable, 503. Null when the owner is here or remote.
    /// </summary>
    private static IResult? NoOwner(string name, ClusterMembership cluster, out AgentOwner owner)
    {
        owner = AgentOwner.Here;
        if (!cluster.Fleet.Agents.Any(a => a.Name == name))
        {
            return UnknownAgent(name);
        }

        owner = cluster.OwnerOf(name);
        return owner.Kind switch
        {
            OwnerKind.Unplaced => Problem(409, "agent placed on no node", owner.Reason!),
            OwnerKind.Unreachable => Problem(503, "agent's node not reachable", owner.Reason!),
            _ => null,
        };
    }

    /// <summary>
    /// An agent's persisted history. On a cluster node, an agent another node runs is asked of that node (its
    /// placement-node hands the typed <see cref="GetHistory"/> to its fleet's history, which answers here): the node that
    /// runs an agent is the one writing its history, so its record is the current one. Placed nowhere: read from the store
    /// (nobody writes it then; every node's entries are there), on this node; its node unreachable or silent: 503.
    /// </summary>
    private static async Task<IResult> History(string name, int? limit, HttpContext http, FactoryClient f, ClusterMembership cluster, CancellationToken ct)
    {
        var query = new GetHistory(name, Math.Clamp(limit ?? 200, 1, 500));
        if (cluster.Enabled && !AgentInstance.IsInstance(name))
        {
            if (NoOwner(name, cluster, out var owner) is { } refused)
            {
                if (owner.Kind != OwnerKind.Unplaced)
                {
                    return refused;
                }

                // placed on no node: nobody writes its history now; the store has every node's entries
                http.Response.Headers["X-DF-Node"] = cluster.Options!.Node;
                try
                {
                    return Json((await Ask<AgentHistory>(f, query with { FromStore = true }, ct)).Entries);
                }
                catch (AskTimeoutException)
                {
                    return Problem(503, "history not read", $"the history of agent '{name}' (placed on no node) could not be read from the store within {f.Options.AskTimeout.TotalSeconds:0} s");
                }
            }

            if (owner.Kind == OwnerKind.Remote)
            {
                http.Response.Headers["X-DF-Node"] = owner.Node;
                try
                {
                    return Json((await cluster.AskOwnerAsync<AgentHistory>(owner, query, f.Options.AskTimeout, ct)).Entries);
                }
                catch (AskTimeoutException)
                {
                    return Problem(503, "agent's node did not answer", $"node {owner.Node}, which runs agent '{name}', did not answer within {f.Options.AskTimeout.TotalSeconds:0} s");
                }
            }

            http.Response.Headers["X-DF-Node"] = cluster.Options!.Node;
        }
        else if (!await ExistsOrInstance(f, name, ct))
        {
            return UnknownAgent(name);
        }

        return Json((await Ask<AgentHistory>(f, query, ct)).Entries);
    }

    private static async Task<IResult> Logs(string name, int? tail, bool? follow, HttpContext http, FactoryClient f, LogSinks sinks, ClusterMembership cluster, IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        // a follow ends when the daemon stops (SIGTERM): else the web server waits for it, up to the host's shutdown
        // timeout (3 min), before the daemon's own shutdown even begins
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        ct = stopping.Token;
        // on a cluster node, an agent's log is on the node that runs it; a project's instance runs where its project
        // runs, so its log is this node's own (below)
        if (cluster.Enabled && !AgentInstance.IsInstance(name))
        {
            if (NoOwner(name, cluster, out var owner) is { } refused)
            {
                return refused;
            }

            if (owner.Kind == OwnerKind.Remote)
            {
                return await RemoteLog(name, owner, Math.Clamp(tail ?? 100, 0, LogReaderActor.MaxTail), follow == true, http, cluster, ct);
            }
        }
        else if (!(cluster.Enabled ? AgentNames.Readable(cluster.Fleet, name) : await ExistsOrInstance(f, name, ct)))
        {
            return UnknownAgent(name);
        }

        var path = sinks.PathOf(name);
        http.Response.ContentType = "text/plain; charset=utf-8";
        var (text, offset) = LogTail.Read(path, Math.Clamp(tail ?? 100, 0, 100_000));
        await http.Response.WriteAsync(text, ct);
        if (follow != true)
        {
            return Results.Empty;
        }

        await http.Response.Body.FlushAsync(ct);
        try
        {
            await LogTail.Follow(path, offset, async chunk =>
            {
                await http.Response.Body.WriteAsync(chunk, ct);
                await http.Response.Body.FlushAsync(ct);
            }, ct);
        }
        catch (OperationCanceledException)
        {
            // the client went away
        }

        return Results.Empty;
    }

    /// <summary>
    /// The log of an agent another cluster node runs, pulled from it page by page (<see cref="RemoteLogs"/>); when that
    /// node goes away or the agent moves, the stream ends with a last line <c>df: ...</c> saying so (before anything was
    /// written: a problem instead).
    /// </summary>
    private static async Task<IResult> RemoteLog(string name, AgentOwner owner, int tail, bool follow, HttpContext http, ClusterMembership cluster, CancellationToken ct)
    {
        http.Response.Headers["X-DF-Node"] = owner.Node;
        var lineEnded = true;
        LogFollowEnded? ended;
        try
        {
            ended = await RemoteLogs.CopyAsync(
                owner,
                name,
                tail,
                follow,
                (read, c) => cluster.AskOwnerAsync<LogPage>(owner, read, RemoteLogs.PageTimeout, c),
                () => cluster.OwnerOf(name),
                async chunk =>
                {
                    if (!http.Response.HasStarted)
                    {
                        http.Response.ContentType = "text/plain; charset=utf-8";
                    }

                    await http.Response.Body.WriteAsync(chunk, ct);
                    await http.Response.Body.FlushAsync(ct);
                    lineEnded = chunk.Span[^1] == (byte)'\n';
                },
                ct);
        }
        catch (OperationCanceledException)
        {
            return Results.Empty; // the client went away
        }

        if (ended is null)
        {
            http.Response.ContentType ??= "text/plain; charset=utf-8";
            return Results.Empty;
        }

        if (!http.Response.HasStarted && ended.Reason is not LogEndReason.Moved)
        {
            return Problem(ended.Reason == LogEndReason.Refused ? 409 : 503, "log not available", ended.Detail);
        }

        http.Response.ContentType ??= "text/plain; charset=utf-8";
        await http.Response.WriteAsync((lineEnded ? string.Empty : "\n") + "df: " + ended.Detail + "\n", ct);
        return Results.Empty;
    }

    private static Task<T> Ask<T>(FactoryClient factory, object message, CancellationToken ct) => factory.Ask<T>(message, ct);

    private static async Task<IReadOnlyList<AgentStatus>> ClusterWideAgents(FactoryClient factory, ClusterMembership cluster, CancellationToken ct)
    {
        var others = cluster.OtherNodesAgentsAsync(ClusterMembership.AskOthersTimeout);
        var local = await Ask<AgentsSnapshot>(factory, GetAgents.Instance, ct);
        return ClusterAgents.Merge(cluster.Options!.Node, cluster.Fleet.Agents, local.Agents, await others, cluster.Assignment?.Placement ?? Placement.None);
    }

    private static IResult Json(object value) => Results.Json(value, DarkFactoryJson.Options);

    private static IResult UnknownAgent(string name) => Problem(404, "unknown agent", $"no agent named '{name}' in the fleet");

    private static IResult Problem(int status, string title, string detail) => ApiProblems.Problem(status, title, detail);
}
