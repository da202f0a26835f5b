using DarkFactory.Actors.Supervision;

namespace DarkFactory.Actors.Fleet;

/// <summary>
/// Reconciles the declared fleet with the running one, like a Kubernetes controller: each
/// <see cref="ApplyFleet"/> revision is handed to the three layer supervisors, which start new agents,
/// restart changed ones and stop removed ones, leaving the rest untouched. Routes operator commands
/// to the layer that holds the agent. A layer that escalates (restart intensity exceeded) is stopped
/// with its agents and started again after the layer's <see cref="Backoff"/> (doubling with each
/// escalation in a row, jitter; counted from 1 again once the layer stayed up <c>reset_after</c>).
/// </summary>
public sealed class FleetActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly LayerServices _services;
    private readonly Dictionary<LayerName, IActorRef> _layers = [];
    private readonly Dictionary<LayerName, (int InARow, DateTimeOffset StartedAt)> _escalations = [];
    private readonly Dictionary<int, PendingApply> _pending = [];
    private FleetSpec _fleet = new();
    private int _revision;
    private IActorRef? _drainRequester;
    private int _drainWaiting;

    public FleetActor(LayerServices services)
    {
        _services = services;
        Receive<ApplyFleet>(OnApply);
        Receive<LayerReconciled>(OnReconciled);
        Receive<IAgentCommand>(OnAgentCommand);
        Receive<GetAgents>(_ => OnGetAgents());
        Receive<LayerTerminated>(OnLayerTerminated);
        Receive<RecreateLayer>(OnRecreateLayer);
        Receive<DrainFleet>(_ => OnDrain());
        Receive<LayerDrained>(_ => OnLayerDrained());
        Receive<GetFleet>(_ => Sender.Tell(new CurrentFleet(_fleet, _revision)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(LayerServices services) => Akka.Actor.Props.Create(() => new FleetActor(services));

    protected override void PreStart()
    {
        foreach (var name in Enum.GetValues<LayerName>())
        {
            StartLayer(name);
        }
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: -1,
        withinTimeRange: Timeout.InfiniteTimeSpan,
        localOnlyDecider: cause =>
        {
            _log.Error(cause, "Layer supervisor failed: {0}", cause.Message);
            return Directive.Stop;
        });

    private void StartLayer(LayerName name)
    {
        var layer = Context.ActorOf(LayerSupervisor.Props(_fleet.Layer(name), _services), name.ToString().ToLowerInvariant());
        Context.WatchWith(layer, new LayerTerminated(name));
        _layers[name] = layer;
        _escalations[name] = (_escalations.GetValueOrDefault(name).InARow, _services.Clock.GetUtcNow());
    }

    private static IReadOnlyList<AgentSpec> AgentsOf(FleetSpec fleet, LayerName layer) => fleet.Agents.Where(a => a.Layer == layer).ToList();

    /// <summary>Every agent's declared working directory: each layer's sandboxed runs are kept out of the others' (<see cref="Processes.RunConfinement.OtherWorkdirs"/>).</summary>
    private static IReadOnlyList<string> Workdirs(FleetSpec fleet) => fleet.Agents.Select(a => a.Workdir).OfType<string>().Distinct(StringComparer.Ordinal).ToList();

    private void OnApply(ApplyFleet apply)
    {
        _fleet = apply.Fleet;
        _services.Gate?.Configure(_fleet); // the limits first: the layers' starts of this revision are admitted against them
        _revision++;
        _pending[_revision] = new PendingApply(Sender, _layers.Count);
        foreach (var (name, layer) in _layers)
        {
            layer.Tell(new ReconcileLayer(_fleet.Layer(name), AgentsOf(_fleet, name), _revision, _fleet.Providers) { Held = apply.Held, Workdirs = Workdirs(_fleet) });
        }

        if (_layers.Count == 0)
        {
            Complete(_revision);
        }
    }

    private void OnReconciled(LayerReconciled done)
    {
        if (!_pending.TryGetValue(done.Revision, out var pending))
        {
            return;
        }

        pending.Results.Add(done);
        if (pending.Results.Count >= pending.Expected)
        {
            Complete(done.Revision);
        }
    }

    private void Complete(int revision)
    {
        var pending = _pending[revision];
        _pending.Remove(revision);
        var r = pending.Results;
        var applied = new FleetApplied(revision)
        {
            Started = r.SelectMany(x => x.Started).ToList(),
            Restarted = r.SelectMany(x => x.Restarted).ToList(),
            Stopped = r.SelectMany(x => x.Stopped).ToList(),
            Unchanged = r.SelectMany(x => x.Unchanged).ToList(),
            Updated = r.SelectMany(x => x.Updated).ToList(),
        };
        _log.Info(
            "Fleet revision {0} applied: {1} started, {2} restarted, {3} stopped, {4} updated, {5} unchanged",
            revision, applied.Started.Count, applied.Restarted.Count, applied.Stopped.Count, applied.Updated.Count, applied.Unchanged.Count);
        if (!pending.ReplyTo.IsNobody())
        {
            pending.ReplyTo.Tell(applied);
        }
    }

    private void OnAgentCommand(IAgentCommand cmd)
    {
        var agent = AgentInstance.BaseOf(cmd.Agent); // a project's instance lives in its agent's layer
        var spec = _fleet.Agents.FirstOrDefault(a => a.Name == agent);
        if (spec is null)
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.UnknownAgent, $"unknown agent '{cmd.Agent}'"));
            return;
        }

        if (_drainRequester is not null && cmd is StartAgent or RestartAgent or ResumeAgent)
        {
            // a run started now would only be stopped by the drain's closing sweep (a cluster's scheduler on
            // another node fires while this node drains): refused, typed, so the caller records why
            Sender.Tell(CommandResult.Refused(CommandOutcome.ShuttingDown, $"the daemon is shutting down: no new run of '{cmd.Agent}' starts while its fleet drains"));
            return;
        }

        if (!_layers.TryGetValue(spec.Layer, out var layer))
        {
            Sender.Tell(CommandResult.Refused(CommandOutcome.LayerRestarting, $"the {spec.Layer.ToString().ToLowerInvariant()} layer is restarting after an escalation; try again shortly"));
            return;
        }

        layer.Forward(cmd);
    }

    private void OnGetAgents()
    {
        var replyTo = Sender;
        var layers = _layers.ToList();
        var fleet = _fleet;
        var asks = layers.Select(l => l.Value.Ask<AgentsSnapshot>(GetAgents.Instance, AskTimeout)).ToList();
        Task.WhenAll(asks).ContinueWith(
            t =>
            {
                var live = t.IsCompletedSuccessfully ? t.Result.SelectMany(s => s.Agents).ToList() : [];
                var known = live.Select(a => a.Agent).ToHashSet(StringComparer.Ordinal);

                // agents of a layer that is down (escalated, being restarted) are still listed
                var missing = fleet.Agents.Where(a => !known.Contains(a.Name)).Select(a => new AgentStatus
                {
                    Agent = a.Name,
                    Layer = a.Layer,
                    Cli = a.Cli,
                    State = AgentState.Backoff,
                    Reason = "its layer is restarting after an escalation",
                });
                var order = fleet.Agents.Select((a, i) => (a.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
                return new AgentsSnapshot(live.Concat(missing).OrderBy(a => a.Layer).ThenBy(a => order.GetValueOrDefault(a.Agent, int.MaxValue)).ToList());
            },
            TaskScheduler.Default).PipeTo(replyTo);
    }

    private void OnLayerTerminated(LayerTerminated msg)
    {
        _layers.Remove(msg.Layer);
        foreach (var revision in _pending.Keys.ToList())
        {
            var p = _pending[revision];
            p.Expected--;
            if (p.Results.Count >= p.Expected)
            {
                Complete(revision);
            }
        }

        if (_drainRequester is not null)
        {
            OnLayerDrained();
            return;
        }

        var (inARow, startedAt) = _escalations[msg.Layer];
        var (count, delay) = Backoff.Next(_fleet.Layer(msg.Layer).Backoff, inARow, _services.Clock.GetUtcNow() - startedAt, _services.Random());
        _escalations[msg.Layer] = (count, startedAt);
        _log.Error("Layer [{0}] escalated (restart intensity exceeded, {1} time(s) in a row); starting it again in {2}", msg.Layer, count, delay);
        Timers.StartSingleTimer("recreate-" + msg.Layer, new RecreateLayer(msg.Layer), delay);
    }

    private void OnRecreateLayer(RecreateLayer msg)
    {
        if (_layers.ContainsKey(msg.Layer) || _drainRequester is not null)
        {
            return;
        }

        StartLayer(msg.Layer);
        _revision++;
        _pending[_revision] = new PendingApply(ActorRefs.Nobody, 1);
        _layers[msg.Layer].Tell(new ReconcileLayer(_fleet.Layer(msg.Layer), AgentsOf(_fleet, msg.Layer), _revision, _fleet.Providers) { Workdirs = Workdirs(_fleet) });
    }

    private void OnDrain()
    {
        _drainRequester = Sender;
        _drainWaiting = _layers.Count;
        Timers.CancelAll();
        foreach (var layer in _layers.Values)
        {
            layer.Tell(DrainLayer.Instance);
        }

        if (_drainWaiting == 0)
        {
            _drainRequester.Tell(FleetDrained.Instance);
        }
    }

    private void OnLayerDrained()
    {
        _drainWaiting--;
        if (_drainWaiting <= 0 && _drainRequester is not null)
        {
            _drainRequester.Tell(FleetDrained.Instance);
        }
    }

    private sealed class PendingApply(IActorRef replyTo, int expected)
    {
        public IActorRef ReplyTo { get; } = replyTo;
        public int Expected { get; set; } = expected;
        public List<LayerReconciled> Results { get; } = [];
    }

    private sealed record LayerTerminated(LayerName Layer);

    private sealed record RecreateLayer(LayerName Layer);
}
