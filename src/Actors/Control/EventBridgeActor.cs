using System.Collections.Concurrent;
using System.Reflection;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Control;

namespace DarkFactory.Actors.Control;

/// <summary>
/// The control plane's bridge from the actor system's event stream to live clients (SSE, dashboard).
/// Every <see cref="IDarkFactoryMessage"/> published on the event stream becomes one <see cref="ServerEvent"/>
/// named by its manifest, serialized once and offered to each client's queue, bounded in bytes (never
/// waiting: a slow client loses its oldest events and is told so). Agent output goes only to the clients that
/// asked for that agent. It also turns lifecycle events into <see cref="AgentStatus"/> changes: after
/// each lifecycle event (coalesced: one query in flight at a time) it asks the factory for the fleet's
/// status and publishes, on the event stream, the statuses that changed and the agents that are gone.
/// Each snapshot goes into the <see cref="FleetStatusView"/> first (before its changes are published), so
/// the API serves the fleet's status from it without asking the fleet, as fresh as the live stream.
/// Between lifecycle events it asks again every <see cref="EventBridgeSettings.StatusRefresh"/> only while a status
/// can change without one (<see cref="ChangesSilently"/>: starting, stopping, backoff, queued, unknown, or in a
/// cluster), or after a query failed: a fleet of settled agents costs nothing while nothing happens.
/// </summary>
public sealed class EventBridgeActor : ReceiveActor, IWithTimers
{
    private static readonly ConcurrentDictionary<Type, string?> ManifestNames = new();
    private readonly IActorRef _factory;
    private readonly EventBridgeSettings _settings;
    private readonly List<EventClient> _clients = [];
    private readonly StatusTracker _tracker = new();
    private readonly FleetStatusView _view;
    private readonly List<(IActorRef ReplyTo, long Query)> _awaiting = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private long _sequence;
    private long _queries;
    private bool _queryInFlight;
    private bool _dirty;
    private OutputConsumer? _output;
    private List<string> _watched = [];

    public EventBridgeActor(IActorRef factory, EventBridgeSettings settings, FleetStatusView view)
    {
        _factory = factory;
        _settings = settings;
        _view = view;

        Receive<Subscribe>(m => OnSubscribe(m.Client));
        Receive<Unsubscribe>(m =>
        {
            _clients.Remove(m.Client);
            m.Client.Close(); // whatever it still held goes with it
            Watch();
        });
        Receive<RefreshStatus>(_ => RequestStatus());
        Receive<AwaitStatus>(_ =>
        {
            // answered once a query that starts after this message has been applied to the view
            _awaiting.Add((Sender, _queries + 1));
            RequestStatus();
        });
        Receive<StatusArrived>(m =>
        {
            OnStatus(m.Snapshot);
            Answer(m.Query, ok: true);
        });
        Receive<StatusFailed>(m =>
        {
            _queryInFlight = false;
            Answer(m.Query, ok: false);
            if (_dirty)
            {
                RequestStatus();
            }
            else
            {
                RefreshLater(); // asked again in a while
            }
        });
        Receive<IDarkFactoryMessage>(OnEvent);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef factory, EventBridgeSettings? settings = null, FleetStatusView? view = null) =>
        Akka.Actor.Props.Create<EventBridgeActor>(factory, settings ?? new EventBridgeSettings(), view ?? new FleetStatusView());

    /// <summary>The SSE <c>event:</c> name of a message: its manifest (null for types without one).</summary>
    public static string? EventName(Type type) =>
        ManifestNames.GetOrAdd(type, t => t.GetCustomAttribute<ManifestAttribute>()?.Name);

    protected override void PreStart()
    {
        _topics.Subscribe(Self, typeof(IDarkFactoryMessage));
        _output = OutputFlow.For(Context.System).Join("events");
        RequestStatus();
    }

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        _output?.Dispose();
        foreach (var client in _clients)
        {
            client.Complete();
        }

        foreach (var (replyTo, _) in _awaiting)
        {
            replyTo.Tell(new StatusCurrent(false));
        }
    }

    private void OnSubscribe(EventClient client)
    {
        _clients.Add(client);
        Watch();

        // the current fleet first, so a new client needs no separate query and misses nothing in between
        foreach (var status in _tracker.Current)
        {
            client.Offer(ToServerEvent(status, "agent-status"));
        }

        client.Offer(new ServerEvent(++_sequence, "ready", JsonSerializer.Serialize(new { agents = _tracker.Current.Count, known = _tracker.Known }, DarkFactoryJson.Options)));
        RequestStatus();
    }

    private void OnEvent(IDarkFactoryMessage message)
    {
        if (message is NodeLifecycle remote)
        {
            // another cluster node's agent (its relay told this bridge directly, never the topics): the live stream
            // only, as that node's own clients see it; this node's status view keeps this node's agents
            Offer(new ServerEvent(++_sequence, "agent-lifecycle", WithNode(remote.Lifecycle, remote.Node)));
            return;
        }

        if (message is NodeEvent shown)
        {
            // another cluster node's agent's status, drift or route: the live stream only, as that node's clients see it
            if (_clients.Count > 0 && shown.Event is { } inner && EventName(inner.GetType()) is { } innerName)
            {
                Offer(new ServerEvent(++_sequence, innerName, WithNode(inner, shown.Node)));
            }

            return;
        }

        if (message is NodeOutput crossed)
        {
            // another cluster node's agent's output, sent across only while a client here watches it (OutputRelay)
            if (_clients.Exists(c => c.OutputAgents.Contains(crossed.Agent)))
            {
                Offer(new ServerEvent(++_sequence, "agent-output", WithNode(crossed), crossed.Agent));
            }

            return;
        }

        if (message is AgentOutput taken)
        {
            _output?.Taken(taken); // out of the mailbox; what a client keeps of it is bounded by its own queue
        }
        else if (message is AgentLifecycle)
        {
            RequestStatus();
        }
        else if (message is RouteChosen route)
        {
            _view.SetRoute(route);
        }

        if (_clients.Count == 0 || EventName(message.GetType()) is not { } name)
        {
            return;
        }

        string? outputAgent = null;
        if (message is AgentOutput output)
        {
            outputAgent = output.Agent;
            if (!_clients.Exists(c => c.OutputAgents.Contains(outputAgent)))
            {
                return;
            }
        }

        Offer(message is AgentLifecycle or AgentStatus && _settings.Node is { } node
            ? new ServerEvent(++_sequence, name, WithNode(message, node))
            : ToServerEvent(message, name, outputAgent));
    }

    private void Offer(ServerEvent e)
    {
        foreach (var client in _clients)
        {
            if (client.Wants(e))
            {
                client.Offer(e);
            }
        }
    }

    /// <summary>
    /// On a cluster node, the agents whose output this node's clients watch, told to the node's
    /// <see cref="Cluster.OutputRelay"/> when it changes: the nodes that run them send it across while it is watched.
    /// </summary>
    private void Watch()
    {
        if (_settings.Node is null)
        {
            return;
        }

        var agents = _clients.SelectMany(c => c.OutputAgents).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (!agents.SequenceEqual(_watched))
        {
            _watched = agents;
            Context.System.ActorSelection("/user/output-relay").Tell(new WatchOutput(agents));
        }
    }

    /// <summary>Another node's agent's output as this node's own would be sent, with the node and the lines held back on the way.</summary>
    private static string WithNode(NodeOutput crossed)
    {
        var json = JsonSerializer.SerializeToNode(crossed.Output, DarkFactoryJson.Options)!.AsObject();
        json["node"] = crossed.Node;
        if (crossed.Skipped > 0)
        {
            json["skipped_lines"] = crossed.Skipped;
        }

        return json.ToJsonString(DarkFactoryJson.Options);
    }

    /// <summary>An event's JSON with the node that runs the agent (cluster nodes: every node's events look alike).</summary>
    private static string WithNode(IDarkFactoryMessage e, string node)
    {
        var json = JsonSerializer.SerializeToNode(e, e.GetType(), DarkFactoryJson.Options)!.AsObject();
        json["node"] = node;
        return json.ToJsonString(DarkFactoryJson.Options);
    }

    private ServerEvent ToServerEvent(IDarkFactoryMessage message, string name, string? outputAgent = null) =>
        new(++_sequence, name, JsonSerializer.Serialize(message, message.GetType(), DarkFactoryJson.Options), outputAgent);

    private void RequestStatus()
    {
        if (_queryInFlight)
        {
            _dirty = true;
            return;
        }

        _queryInFlight = true;
        _dirty = false;
        var query = ++_queries;
        _factory.Ask<AgentsSnapshot>(GetAgents.Instance, _settings.QueryTimeout)
            .PipeTo(Self, success: s => new StatusArrived(s, query), failure: _ => new StatusFailed(query));
    }

    private void Answer(long query, bool ok)
    {
        if (_awaiting.Count == 0)
        {
            return;
        }

        foreach (var (replyTo, _) in _awaiting.Where(a => a.Query <= query))
        {
            replyTo.Tell(new StatusCurrent(ok));
        }

        _awaiting.RemoveAll(a => a.Query <= query);
    }

    private void OnStatus(AgentsSnapshot snapshot)
    {
        _queryInFlight = false;
        _view.Set(snapshot.Agents); // before the changes go out: whoever sees one on the stream reads it from the view
        var (changed, removed) = _tracker.Update(snapshot.Agents);
        foreach (var status in changed)
        {
            _topics.Publish(status);
        }

        var now = DateTimeOffset.UtcNow;
        foreach (var name in removed)
        {
            _view.Forget(name);
            _topics.Publish(new AgentRemoved(name, now));
        }

        if (_log.IsDebugEnabled && (changed.Count > 0 || removed.Count > 0))
        {
            _log.Debug("Status: [{0}] changed, [{1}] removed", changed.Count, removed.Count);
        }

        if (_dirty)
        {
            RequestStatus();
        }
        else if (_settings.Node is not null || snapshot.Agents.Any(a => ChangesSilently(a.State)))
        {
            RefreshLater();
        }
    }

    /// <summary>
    /// A state left without a lifecycle event (a start becomes a run, a stop ends, a backoff or the admission queue
    /// runs out, a node answers again): the status is asked for again until none is left. The others change only with a
    /// lifecycle event, which asks at once.
    /// </summary>
    public static bool ChangesSilently(AgentState state) =>
        state is AgentState.Starting or AgentState.Stopping or AgentState.Backoff or AgentState.Queued or AgentState.Unknown;

    // the next refresh, unless one is armed already (its cadence is kept: a busy fleet is asked at most every StatusRefresh)
    private void RefreshLater()
    {
        if (!Timers.IsTimerActive("refresh"))
        {
            Timers.StartSingleTimer("refresh", RefreshStatus.Instance, _settings.StatusRefresh);
        }
    }

    /// <summary>Registers a live client (the HTTP handler owns it and unsubscribes when the connection ends).</summary>
    public sealed record Subscribe(EventClient Client);

    public sealed record Unsubscribe(EventClient Client);

    /// <summary>Query the fleet's status now (an API command changed it).</summary>
    public sealed record RefreshStatus : Signal<RefreshStatus>;

    /// <summary>
    /// Answer <see cref="StatusCurrent"/> once the <see cref="FleetStatusView"/> holds a status queried after
    /// this message arrived (an API command or a reload changed the fleet: its caller reads its own change).
    /// </summary>
    public sealed record AwaitStatus : Signal<AwaitStatus>;

    /// <param name="Ok">False when the fleet did not answer the query in time (the view is older).</param>
    public sealed record StatusCurrent(bool Ok);

    private sealed record StatusArrived(AgentsSnapshot Snapshot, long Query);

    private sealed record StatusFailed(long Query);
}

/// <summary>Settings of the event bridge.</summary>
public sealed record EventBridgeSettings
{
    /// <summary>Status query even without lifecycle events, while a state can change silently (e.g. starting → running).</summary>
    public TimeSpan StatusRefresh { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A cluster node's name: its agents' lifecycle events carry it as <c>node</c> (null on a single node).</summary>
    public string? Node { get; init; }
}
