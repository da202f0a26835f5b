using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Persistence;
using DarkFactory.Actors.Persistence;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Routing;

/// <summary>
/// /user/router (persistent, id <c>router</c>): provider health, the cost ledger, budgets, failover, polling. In a cluster
/// one for the cluster (a cluster singleton, <see cref="RouterSettings.Cluster"/>): every node's <see cref="RouterFeed"/>
/// brings it the node's inputs and takes its board and events to the node.
/// <list type="table">
/// <item><term>listens to</term><description><see cref="AgentUsage"/>, <see cref="ProviderLimited"/>, <see cref="AgentLifecycle"/> (attributed to the run's <see cref="RouteChosen"/>), <see cref="RouteAvoid"/></description></item>
/// <item><term>persists</term><description>what changes, into <see cref="RouterState"/>; an avoid as <see cref="RouteAvoidRecorded"/> (until <c>until</c> + <c>router.avoid_for</c>)</description></item>
/// <item><term>publishes</term><description>after each change a <see cref="ProviderBoard"/> (<see cref="BoardBuilder"/>) as <see cref="ProviderBoardPublished"/>, copied by each node's <see cref="RouteBoardSubscriber"/>; answers <see cref="GetProviderBoard"/> for a late one</description></item>
/// <item><term>waits</term><description>agents with no route (<see cref="RouteWaitList"/>): polls, probes limited providers, resumes them when a route returns</description></item>
/// <item><term>decides with</term><description><see cref="RoutingPolicy"/>, <see cref="ProviderHealth"/>, <see cref="CostLedger"/>, <see cref="Budgets"/>, <see cref="RunOutcomes"/> (all pure)</description></item>
/// </list>
/// </summary>
public sealed partial class ProviderRouterActor : PersistentActorBase
{
    private const string PollTimer = "poll";
    private const string ChangeTimer = "change";
    private const string AvoidTimer = "avoid";

    private readonly RouterSettings _settings;
    private readonly RouterState _state;

    // runtime
    private readonly RunOutcomes _outcomes = new();
    private readonly RouteWaitList _waiting = new();
    private FleetSpec _base = new(); // fleet.yaml's
    private FleetSpec _fleet = new(); // with the providers added at runtime
    private RoutingPolicy _policy = new(new FleetSpec());
    private AgentMatcher _agents = new(new FleetSpec());

    public ProviderRouterActor(RouterSettings settings)
        : base(settings.PersistenceId, settings.SnapshotEvery, settings.Clock)
    {
        _settings = settings;
        _state = new RouterState(settings.Clock);

        RecoverSnapshot<RouterSnapshot>(s => _state.Restore(s));
        Recover<IRouterEvent>(e => _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            Merge();
            OnAvoidExpired();
            if (settings.Cluster)
            {
                Broadcast(new RouterStarted(settings.Node ?? "?", Now)); // every node's feed sends its waiting agents again
            }
        });

        Command<ApplyFleet>(m => OnFleet(m.Fleet));
        Command<RouteTask>(OnRouteTask);
        Command<RouteChosen>(OnRouteChosen);
        Command<AgentUsage>(OnUsage);
        Command<ProviderLimited>(OnLimited);
        Command<AgentLifecycle>(OnLifecycle);
        Command<RouteAvoid>(OnAvoid);
        Command<AvoidExpired>(_ => OnAvoidExpired());
        Command<AwaitRoute>(OnAwait);
        Command<Poll>(_ => OnPoll());
        Command<BoardChange>(_ => OnBoardChange());
        Command<ProbeAnswered>(OnProbeAnswered);
        Command<AddProvider>(OnAdd);
        Command<RemoveProvider>(OnRemove);
        Command<GetProviderConfigs>(_ => Sender.Tell(new ProviderConfigs(RuntimeProviders.Configs(_base, _state.Added.Values))));
        Command<GetProviderBoard>(_ => Sender.Tell(new CurrentProviderBoard(BuildBoard())));
        Command<GetProviders>(_ => Sender.Tell(RouterReports.Providers(_fleet, _state, BuildBoard(), _waiting.Agents, Now)));
        Command<GetCosts>(q => Sender.Tell(_state.Ledger.Report(q.By) with { Budgets = RouterReports.Budgets(_fleet, _state.Ledger, Now) }));
    }

    public static Props Props(RouterSettings settings) => Akka.Actor.Props.Create(() => new ProviderRouterActor(settings));

    protected override void PreStart()
    {
        base.PreStart();
        if (_settings.Cluster)
        {
            Subscribe(typeof(AgentLifecycle)); // this node's runs; the other nodes' come through its ControlSingleton, the rest through every node's RouterFeed
        }
        else
        {
            Subscribe(typeof(AgentUsage), typeof(ProviderLimited), typeof(AgentLifecycle), typeof(RouteAvoid));
        }
    }

    // ---------------------------------------------------------------- fleet and queries

    private void OnFleet(FleetSpec fleet)
    {
        _base = fleet;
        Merge();
        _state.Health.FailuresToOpen = fleet.Router.BreakerFailures;
        _state.Health.OpenFor = fleet.Router.BreakerOpenFor;
        _state.Health.DefaultLimit = fleet.Router.LimitBackoff;
        Publish();
        if (_waiting.Count > 0)
        {
            ResumeWaiting(BuildBoard()); // a reload may have raised a provider's credits or budget, or added one
        }
    }

    /// <summary>fleet.yaml's providers with those added at runtime: what the router routes, prices and reports.</summary>
    private void Merge()
    {
        _fleet = RuntimeProviders.Merge(_base, _state.AddedSpecs);
        _policy = new RoutingPolicy(_fleet);
        _agents = new AgentMatcher(_fleet);
    }

    // ---------------------------------------------------------------- providers added at runtime (df provider)

    private void OnAdd(AddProvider cmd)
    {
        var (added, refusal) = RuntimeProviders.Add(cmd, _base, v => !string.IsNullOrEmpty(_settings.ReadEnvironment(v)), Now);
        if (refusal is not null)
        {
            Sender.Tell(refusal);
            return;
        }

        var update = _state.Added.ContainsKey(cmd.Name);
        var sender = Sender;
        Persist(added!, e =>
        {
            Persisted(e);
            Log.Info("Provider [{0}] {1} by {2}: {3}", e.Name, update ? "changed" : "added", e.By, RuntimeProviders.Config(e));
            sender.Tell(RuntimeProviders.Added(e, update));
        });
    }

    private void OnRemove(RemoveProvider cmd)
    {
        var (removed, refusal) = RuntimeProviders.Remove(cmd, _base, _state.Added, Now);
        if (refusal is not null)
        {
            Sender.Tell(refusal);
            return;
        }

        var sender = Sender;
        Persist(removed!, e =>
        {
            Persisted(e);
            Log.Info("Provider [{0}] removed by {1}", e.Name, e.By);
            sender.Tell(RuntimeProviders.Removed(e));
        });
    }

    private void OnRouteTask(RouteTask q)
    {
        var agent = q.Agent is { } name ? _agents.Named(name) : _agents.BestFit(q.Task);
        // what-if: a CLI that is not installed is noted, not rejected (runs themselves reject it)
        var decision = _policy.Decide(q.Task, agent, BuildBoard() with { EnforceInstalled = false });
        Sender.Tell(decision with { Agent = agent?.Name });
    }

    // ---------------------------------------------------------------- events of runs

    private void OnRouteChosen(RouteChosen chosen)
    {
        var events = _state.EventsOf(chosen, BuildBoard, () => _outcomes.TakeTimedOut(chosen.Agent));
        if (chosen.Provider is not null)
        {
            _outcomes.Started(chosen.RunId, chosen.At);
        }

        _waiting.Remove(chosen.Agent);
        PersistAll(events, Persisted);
    }

    private void OnUsage(AgentUsage usage)
    {
        var provider = usage.Provider ?? _state.RouteOf(usage.RunId)?.Provider;
        var spec = provider is null ? null : _fleet.Providers.FirstOrDefault(p => p.Name == provider);
        Persist(CostLedger.Price(usage, provider, spec), Persisted);
    }

    private void OnLimited(ProviderLimited limited)
    {
        var provider = limited.Provider ?? (limited.RunId is { } run ? _state.RouteOf(run)?.Provider : null);
        if (provider is null)
        {
            Log.Info("Agent [{0}] is rate limited but its run has no known provider: {1}", limited.Agent, limited.Reason);
            return;
        }

        if (_state.Health.Limited(provider, limited.ResetAt, limited.Reason) is { } e)
        {
            Log.Warning("Provider [{0}] rate limited until {1:o}: {2} (agent {3}, {4})", provider, e.Until, limited.Reason, limited.Agent, limited.Source);

            // the layers see the limit at once: the run's restart (100 ms later) must not wait for the journal
            // write and land on this provider again (applying twice is harmless; a failed write stops the router)
            _state.Apply(e);
            Publish();
            Persist(e, Persisted);
        }
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (e.RunId is null || _state.RouteOf(e.RunId)?.Provider is not { } provider)
        {
            return;
        }

        if (_outcomes.Ended(e, provider, _state.Health) is { } transition)
        {
            Log.Warning("Provider [{0}] circuit breaker {1}: {2}", provider, transition.State, transition.Reason);
            Persist(transition, Persisted);
        }
        else
        {
            Publish();
        }
    }

    // ---------------------------------------------------------------- persistence and the board

    private void Persisted(object e)
    {
        _state.Apply(e);
        switch (e)
        {
            case ProviderAdded or ProviderRemoved:
                Merge();
                if (_waiting.Count > 0)
                {
                    ResumeWaiting(BuildBoard()); // a provider with credits may take the agents waiting for a route
                }

                break;
            case ProviderSwitched s:
                Log.Info("Agent [{0}] switched provider {1} -> {2} ({3}): {4}", s.Agent, s.From, s.To, s.Reason, s.Detail);
                break;
            case RouteAvoidRecorded a:
                Log.Warning("Agent [{0}] avoids {1}{2} until {3:o}: {4}", a.Agent, a.Provider ?? "any provider", a.Model is null ? string.Empty : $" (model {a.Model})", a.Until, a.Reason);
                ArmAvoidTimer();
                break;
        }

        // the board first: whoever acts on the event (a layer stopping a run on a limit) routes against it
        Publish();
        if (!(_settings.Cluster && e is RouteChosen))
        {
            Broadcast((IDarkFactoryMessage)e); // a cluster's run's route is on its node's topics already (RouterFeed)
        }

        SnapshotWhenDue(() =>
        {
            _state.Ledger.Compact(Now);
            return _state.Snapshot(Now);
        });
    }

    private ProviderBoard BuildBoard() =>
        BoardBuilder.Build(_fleet, _state, _outcomes.LatencyMs, BoardBuilder.MissingClis(_fleet, _settings.FindExecutable), Now) with { Added = _state.AddedSpecs };

    /// <summary>The board to every node's <see cref="RouteBoard"/> (their <see cref="RouteBoardSubscriber"/>).</summary>
    private void Publish()
    {
        var board = BuildBoard();
        Broadcast(new ProviderBoardPublished(board));
        ArmChangeTimer(board);
    }

    /// <summary>On this node's topics; a cluster's router on every node's (through their <see cref="RouterFeed"/>).</summary>
    private void Broadcast(IDarkFactoryMessage message)
    {
        if (_settings.Cluster)
        {
            DistributedPubSub.Get(Context.System).Mediator.Tell(new Publish(RouterFeed.Topic, message));
        }
        else
        {
            Topics.Publish(message);
        }
    }

    private sealed record Poll : Signal<Poll>;

    private sealed record BoardChange : Signal<BoardChange>;

    private sealed record ProbeAnswered(string Provider, bool? Ok);

    private sealed record AvoidExpired : Signal<AvoidExpired>;
}
