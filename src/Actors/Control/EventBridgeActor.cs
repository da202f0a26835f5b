using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Control;

namespace DarkFactory.Actors.Control;

/// <summary>
/// The control plane's bridge from the actor system's event stream to live clients (SSE, dashboard).
/// Every <see cref="IDarkFactoryMessage"/> published on the event stream becomes one <see cref="ServerEvent"/>
/// named by its manifest, serialized once and offered to each client's bounded queue (never waiting:
/// a slow client loses its oldest events and is told so). Agent output goes only to the clients that
/// asked for that agent. It also turns lifecycle events into <see cref="AgentStatus"/> changes: after
/// each lifecycle event (coalesced: one query in flight at a time) it asks the factory for the fleet's
/// status and publishes, on the event stream, the statuses that changed and the agents that are gone.
/// </summary>
public sealed class EventBridgeActor : ReceiveActor, IWithTimers
{
    private static readonly ConcurrentDictionary<Type, string?> ManifestNames = new();
    private readonly IActorRef _factory;
    private readonly EventBridgeSettings _settings;
    private readonly List<EventClient> _clients = [];
    private readonly StatusTracker _tracker = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _sequence;
    private bool _queryInFlight;
    private bool _dirty;

    public EventBridgeActor(IActorRef factory, EventBridgeSettings settings)
    {
        _factory = factory;
        _settings = settings;

        Receive<Subscribe>(m => OnSubscribe(m.Client));
        Receive<Unsubscribe>(m =>
        {
            _clients.Remove(m.Client);
            m.Client.Complete();
        });
        Receive<RefreshStatus>(_ => RequestStatus());
        Receive<StatusArrived>(m => OnStatus(m.Snapshot));
        Receive<StatusFailed>(_ =>
        {
            _queryInFlight = false;
            if (_dirty)
            {
                RequestStatus();
            }
        });
        Receive<IDarkFactoryMessage>(OnEvent);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef factory, EventBridgeSettings? settings = null) =>
        Akka.Actor.Props.Create<EventBridgeActor>(factory, settings ?? new EventBridgeSettings());

    /// <summary>The SSE <c>event:</c> name of a message: its manifest (null for types without one).</summary>
    public static string? EventName(Type type) =>
        ManifestNames.GetOrAdd(type, t => t.GetCustomAttribute<ManifestAttribute>()?.Name);

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(IDarkFactoryMessage));
        Timers.StartPeriodicTimer("refresh", RefreshStatus.Instance, _settings.StatusRefresh);
        RequestStatus();
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        foreach (var client in _clients)
        {
            client.Complete();
        }
    }

    private void OnSubscribe(EventClient client)
    {
        _clients.Add(client);

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
        if (message is AgentLifecycle)
        {
            RequestStatus();
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

        var e = ToServerEvent(message, name, outputAgent);
        foreach (var client in _clients)
        {
            if (client.Wants(e))
            {
                client.Offer(e);
            }
        }
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
        _factory.Ask<AgentsSnapshot>(GetAgents.Instance, _settings.QueryTimeout)
            .PipeTo(Self, success: s => new StatusArrived(s), failure: _ => StatusFailed.Instance);
    }

    private void OnStatus(AgentsSnapshot snapshot)
    {
        _queryInFlight = false;
        var (changed, removed) = _tracker.Update(snapshot.Agents);
        var stream = Context.System.EventStream;
        foreach (var status in changed)
        {
            stream.Publish(status);
        }

        var now = DateTimeOffset.UtcNow;
        foreach (var name in removed)
        {
            stream.Publish(new AgentRemoved(name, now));
        }

        if (_log.IsDebugEnabled && (changed.Count > 0 || removed.Count > 0))
        {
            _log.Debug("Status: [{0}] changed, [{1}] removed", changed.Count, removed.Count);
        }

        if (_dirty)
        {
            RequestStatus();
        }
    }

    /// <summary>Registers a live client (the HTTP handler owns it and unsubscribes when the connection ends).</summary>
    public sealed record Subscribe(EventClient Client);

    public sealed record Unsubscribe(EventClient Client);

    /// <summary>Query the fleet's status now (an API command changed it).</summary>
    public sealed record RefreshStatus
    {
        public static readonly RefreshStatus Instance = new();
    }

    private sealed record StatusArrived(AgentsSnapshot Snapshot);

    private sealed record StatusFailed
    {
        public static readonly StatusFailed Instance = new();
    }
}

/// <summary>Settings of the event bridge.</summary>
public sealed record EventBridgeSettings
{
    /// <summary>Status query even without lifecycle events (states that change silently, e.g. starting → running).</summary>
    public TimeSpan StatusRefresh { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
