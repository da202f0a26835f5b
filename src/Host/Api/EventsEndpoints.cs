using Akka.Hosting;
using DarkFactory.Actors.Control;
using DarkFactory.Host.Cluster;

namespace DarkFactory.Host.Api;

/// <summary>
/// GET /api/events: the live event stream (server-sent events). Every Dark Factory message published on
/// the actor system's event stream is one SSE event: <c>id:</c> a sequence number, <c>event:</c> its
/// manifest (<c>agent-status</c>, <c>agent-lifecycle</c>, <c>scheduler-fired</c>, <c>drift-verdict</c>,
/// <c>route-chosen</c>, ...), <c>data:</c> its JSON. A new client first gets every agent's status, then
/// <c>ready</c>. <c>?output=a,b</c> adds those agents' output (<c>agent-output</c>; on a cluster node any agent of the
/// cluster: another node's agent's output comes across while a client watches it, with <c>node</c>). A client that reads too
/// slowly loses its oldest events (its queue is bounded in bytes: <c>darkfactory.event-client-buffer</c>) and
/// gets <c>lagged</c> with how many events and bytes before the next event. A comment line every 15 s keeps
/// proxies from closing an idle stream.
/// </summary>
public static class EventsEndpoints
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static void MapEvents(this RouteGroupBuilder api)
    {
        api.MapGet("/events", Stream)
            .WithSummary("Live event stream (text/event-stream)")
            .WithDescription("Server-sent events: event name = message manifest, data = its JSON. ?output=AGENT[,AGENT] adds those agents' output lines. Each client's queue is bounded in bytes (darkfactory.event-client-buffer, 4 MiB): a slow client loses its oldest events and gets a 'lagged' event {dropped, dropped_bytes} before the next ones.")
            .Produces(200, contentType: "text/event-stream")
            .ProducesProblem(404);
    }

    private static async Task<IResult> Stream(string? output, HttpContext http, FactoryClient factory, IRequiredActor<EventBridgeActor> bridge, FleetTelemetry telemetry, ClusterMembership cluster, IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        // the stream ends when the daemon stops (SIGTERM): else the web server waits for it, up to the host's
        // shutdown timeout (3 min), before the daemon's own shutdown even begins
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        ct = stopping.Token;
        var agents = new HashSet<string>(StringComparer.Ordinal);
        if (!string.IsNullOrWhiteSpace(output))
        {
            // a cluster node's clients may watch any agent of the cluster: the node that runs it sends its output across
            var fleet = cluster.Enabled ? new CurrentFleet(cluster.Fleet, 0) : await (await factory.GetAsync(ct)).Ask<CurrentFleet>(GetFleet.Instance, factory.Options.AskTimeout, ct);
            foreach (var name in output.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!AgentNames.Readable(fleet.Fleet, name))
                {
                    return ApiProblems.Problem(404, "unknown agent", $"output: no agent named '{name}' in the fleet");
                }

                agents.Add(name);
            }
        }

        var response = http.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var client = new EventClient(factory.Options.EventClientBytes, agents, telemetry.Events);
        var bridgeRef = await bridge.GetAsync(ct);
        bridgeRef.Tell(new EventBridgeActor.Subscribe(client));
        try
        {
            await response.WriteAsync(": dark factory events\n\n", ct);
            await response.Body.FlushAsync(ct);
            var text = new StringBuilder();
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                idle.CancelAfter(KeepAlive);
                bool more;
                try
                {
                    more = await client.WaitToReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                    continue;
                }

                if (!more)
                {
                    break;
                }

                text.Clear();
                if (client.TakeLagged() is { Any: true } lag)
                {
                    text.Append("event: lagged\ndata: {\"dropped\":").Append(lag.Events).Append(",\"dropped_bytes\":").Append(lag.Bytes).Append("}\n\n");
                }

                while (text.Length < 64 * 1024 && client.TryRead(out var e))
                {
                    Format(text, e);
                }

                await response.WriteAsync(text.ToString(), ct);
                await response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException)
        {
            // the client went away
        }
        catch (IOException)
        {
            // the connection broke
        }
        finally
        {
            client.Close(); // at once, not when the bridge gets to it: a client that left holds nothing
            bridgeRef.Tell(new EventBridgeActor.Unsubscribe(client));
        }

        return Results.Empty;
    }

    /// <summary>One SSE event; the JSON is one line (JSON strings escape newlines), so one data line.</summary>
    public static void Format(StringBuilder text, ServerEvent e) =>
        text.Append("id: ").Append(e.Id).Append("\nevent: ").Append(e.Name).Append("\ndata: ").Append(e.Data).Append("\n\n");
}
