using System.Collections.Frozen;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Actors.Routing;

/// <summary>Settings of the <see cref="ProviderRouterActor"/>; tests inject a clock, a probe and their own persistence id.</summary>
public sealed record RouterSettings
{
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public string PersistenceId { get; init; } = "router";

    /// <summary>A snapshot every this many events; older events are then deleted.</summary>
    public int SnapshotEvery { get; init; } = 200;

    /// <summary>Where the policy and the live board are published for the layers.</summary>
    public RouteBoard Board { get; init; } = new();

    /// <summary>A CLI binary's path on PATH, or null when it is not installed.</summary>
    public Func<string, string?> FindExecutable { get; init; } = _ => "installed";

    /// <summary>
    /// The cheap probe of a limited provider while polling: true when it answers again (anything but 429 or
    /// 5xx), false when still limited, null when it cannot tell (no base_url). Default: HTTP GET of base_url, 2 s.
    /// </summary>
    public Func<ProviderSpec, CancellationToken, Task<bool?>> Probe { get; init; } = HttpProbe.GetAsync;

    /// <summary>Where a waiting agent is resumed (the factory, which routes <see cref="ResumeAgent"/> to its layer).</summary>
    public IActorRef? Factory { get; init; }
}

/// <summary>
/// /user/factory/router: provider health, the cost ledger, budgets, failover and polling (persistent, id
/// <c>router</c>). It listens on the event stream for usage (<see cref="AgentUsage"/>), rate limits
/// (<see cref="ProviderLimited"/>) and run outcomes (<see cref="AgentLifecycle"/>, attributed to the provider
/// of the run's <see cref="RouteChosen"/>), persists what changes, and after each change publishes the
/// compiled <see cref="RoutingPolicy"/> with a fresh <see cref="ProviderBoard"/> into the shared
/// <see cref="RouteBoard"/>, against which each layer routes a run when it starts. Nightwatch's
/// <see cref="RouteAvoid"/> (severe drift) becomes a persisted <see cref="RouteAvoidRecorded"/>: the agent's
/// runs keep off that provider / model until it expires (<c>until</c> + <c>router.avoid_for</c>; a timer
/// re-publishes the board then), unless nothing else is available. An agent with no route
/// is remembered (<see cref="AwaitRoute"/>); while any waits, the router polls (reset times passing, an
/// HTTP probe of limited providers) and resumes it when a route returns. Decisions are pure
/// (<see cref="RoutingPolicy"/>, <see cref="ProviderHealth"/>, <see cref="CostLedger"/>, <see cref="Budgets"/>).
/// </summary>
public sealed class ProviderRouterActor : ReceivePersistentActor, IWithTimers
{
    private const string PollTimer = "poll";
    private const string ChangeTimer = "change";
    private const string AvoidTimer = "avoid";
    private const int KeepRoutes = 2000;
    private const int KeepSwitches = 100;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly RouterSettings _settings;
    private readonly ProviderHealth _health;
    private readonly CostLedger _ledger = new();

    // persisted (recent routes: run -> provider attribution; last provider of each agent)
    private readonly Dictionary<string, RouteChosen> _routes = new(StringComparer.Ordinal);
    private readonly Queue<string> _routeOrder = new();
    private readonly Dictionary<string, string> _lastProvider = new(StringComparer.Ordinal);
    private readonly LinkedList<ProviderSwitched> _switches = new();
    private readonly Dictionary<string, List<RouteAvoidRecorded>> _avoids = new(StringComparer.Ordinal);

    // runtime
    private FleetSpec _fleet = new();
    private RoutingPolicy _policy = new(new FleetSpec());
    private readonly Dictionary<string, AwaitRoute> _waiting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _latency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _started = new(StringComparer.Ordinal);
    private readonly HashSet<string> _timedOut = new(StringComparer.Ordinal);
    private readonly HashSet<string> _probing = new(StringComparer.Ordinal);

    public ProviderRouterActor(RouterSettings settings)
    {
        _settings = settings;
        _health = new ProviderHealth(settings.Clock);
        PersistenceId = settings.PersistenceId;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is RouterSnapshot s)
            {
                Restore(s);
            }
        });
        Recover<CostRecorded>(_ledger.Apply);
        Recover<ProviderLimitRecorded>(_health.Apply);
        Recover<BreakerTransitioned>(_health.Apply);
        Recover<RouteChosen>(ApplyRoute);
        Recover<ProviderSwitched>(ApplySwitch);
        Recover<RouteAvoidRecorded>(ApplyAvoid);
        Recover<RecoveryCompleted>(_ => OnAvoidExpired());

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
        Command<ProbeAnswered>(OnProbeAnswered);
        Command<GetProviders>(_ => Sender.Tell(Providers()));
        Command<GetCosts>(q => Sender.Tell(_ledger.Report(q.By) with { Budgets = BudgetLines() }));
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteMessages(s.Metadata.SequenceNr);
            if (s.Metadata.SequenceNr > 1)
            {
                DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
            }
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("Router snapshot failed: {0}", f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("Deleting old router events failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(RouterSettings settings) => Akka.Actor.Props.Create(() => new ProviderRouterActor(settings));

    private DateTimeOffset Now => _settings.Clock.GetUtcNow();

    protected override void PreStart()
    {
        base.PreStart();
        _topics.Subscribe(Self, typeof(AgentUsage));
        _topics.Subscribe(Self, typeof(ProviderLimited));
        _topics.Subscribe(Self, typeof(AgentLifecycle));
        _topics.Subscribe(Self, typeof(RouteAvoid));
    }

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        base.PostStop();
    }

    // ---------------------------------------------------------------- fleet and queries

    private void OnFleet(FleetSpec fleet)
    {
        _fleet = fleet;
        _policy = new RoutingPolicy(fleet);
        _health.FailuresToOpen = fleet.Router.BreakerFailures;
        _health.OpenFor = fleet.Router.BreakerOpenFor;
        _health.DefaultLimit = fleet.Router.LimitBackoff;
        Publish();
    }

    private void OnRouteTask(RouteTask q)
    {
        var agent = q.Agent is { } name ? _policy.Agent(name) : _policy.BestFitAgent(q.Task);
        // what-if: a CLI that is not installed is noted, not rejected (runs themselves reject it)
        var decision = _policy.Decide(q.Task, agent, BuildBoard() with { EnforceInstalled = false });
        Sender.Tell(decision with { Agent = agent?.Name });
    }

    private ProvidersSnapshot Providers()
    {
        var board = BuildBoard();
        var today = CostLedger.Day(Now);
        var providers = _fleet.Providers.Select(p =>
        {
            var c = board.Of(p.Name);
            return new ProviderStatus(
                p.Name, p.Cli, c.State, c.ResetAt, _ledger.ProviderSpend(p.Name),
                c.State == ProviderState.Ok ? board.MissingClis.GetValueOrDefault(p.Cli) : c.Reason,
                _ledger.ProviderSpend(p.Name, today), _health.ConsecutiveFailures(p.Name), Polling: _waiting.Count > 0);
        }).ToList();
        return new ProvidersSnapshot(providers, _waiting.Keys.Order(StringComparer.Ordinal).ToList(), _switches.Reverse().Take(20).ToList(), ActiveAvoids().ToList());
    }

    private List<BudgetLine> BudgetLines()
    {
        var now = Now;
        var (today, month) = (CostLedger.Day(now), CostLedger.Month(now));
        var lines = _fleet.Providers.Select(p => new BudgetLine(
            p.Name, "provider", _ledger.ProviderSpend(p.Name, today), p.Limits.BudgetPerDay, _ledger.ProviderSpend(p.Name, month), p.Limits.BudgetPerMonth, p.Limits.Credits)).ToList();
        lines.AddRange(_fleet.Agents.Where(a => a.Budget.Any).Select(a => new BudgetLine(
            a.Name, "agent", _ledger.AgentSpend(a.Name, today), a.Budget.PerDay, _ledger.AgentSpend(a.Name, month), a.Budget.PerMonth)));
        return lines;
    }

    // ---------------------------------------------------------------- events of runs

    private void OnRouteChosen(RouteChosen chosen)
    {
        var events = new List<object> { chosen };
        if (chosen.Route.Provider is { } provider)
        {
            var previous = _lastProvider.GetValueOrDefault(chosen.Agent);
            if (previous is not null && previous != provider)
            {
                var (reason, detail) = WhySwitched(chosen.Agent, previous);
                events.Add(new ProviderSwitched(chosen.Agent, chosen.RunId, previous, provider, reason, $"{detail}; {chosen.Route.Reason}", chosen.At));
            }

            if (_health.RouteTaken(provider) is { } probe)
            {
                events.Add(probe);
            }

            _started[chosen.RunId] = chosen.At;
        }

        _waiting.Remove(chosen.Agent);
        PersistAll(events, Persisted);
    }

    private (SwitchReason, string) WhySwitched(string agent, string previous)
    {
        if (_timedOut.Remove(agent))
        {
            return (SwitchReason.Timeout, $"the last run on {previous} timed out");
        }

        var board = BuildBoard();
        if (board.Avoids.TryGetValue(agent, out var avoids) && avoids.FirstOrDefault(a => a.Provider == previous) is { } avoided)
        {
            return (SwitchReason.Drift, $"{previous} avoided after severe drift until {avoided.Until.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} ({avoided.Reason})");
        }

        var c = board.Of(previous);
        return c.State switch
        {
            ProviderState.Limited => (SwitchReason.RateLimit, $"{previous} is rate limited ({c.Reason})"),
            ProviderState.Open => (SwitchReason.Error, $"{previous}'s circuit breaker is open ({c.Reason})"),
            ProviderState.OverBudget when !c.Budget => (SwitchReason.CreditsExhausted, $"{previous}: {c.Reason}"),
            ProviderState.OverBudget => (SwitchReason.BudgetExceeded, $"{previous}: {c.Reason}"),
            _ => (SwitchReason.Routing, "the task routes elsewhere"),
        };
    }

    private void OnUsage(AgentUsage usage)
    {
        var provider = usage.Provider ?? _routes.GetValueOrDefault(usage.RunId)?.Route.Provider;
        var spec = provider is null ? null : _fleet.Providers.FirstOrDefault(p => p.Name == provider);
        Persist(CostLedger.Price(usage, provider, spec), Persisted);
    }

    private void OnLimited(ProviderLimited limited)
    {
        var provider = limited.Provider ?? (limited.RunId is { } run ? _routes.GetValueOrDefault(run)?.Route.Provider : null);
        if (provider is null)
        {
            _log.Info("Agent [{0}] is rate limited but its run has no known provider: {1}", limited.Agent, limited.Reason);
            return;
        }

        if (_health.Limited(provider, limited.ResetAt, limited.Reason) is { } e)
        {
            _log.Warning("Provider [{0}] rate limited until {1:o}: {2} (agent {3}, {4})", provider, e.Until, limited.Reason, limited.Agent, limited.Source);

            // the layers see the limit at once: the run's restart (100 ms later) must not wait for the journal
            // write and land on this provider again (applying twice is harmless; a failed write stops the router)
            _health.Apply(e);
            Publish();
            Persist(e, Persisted);
        }
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (e.RunId is null || !_routes.TryGetValue(e.RunId, out var route) || route.Route.Provider is not { } provider)
        {
            return;
        }

        BreakerTransitioned? transition = null;
        switch (e.Kind)
        {
            case LifecycleKind.Exited:
                transition = _health.Success(provider);
                if (_started.Remove(e.RunId, out var at))
                {
                    var ms = (e.At - at).TotalMilliseconds;
                    _latency[provider] = _latency.TryGetValue(provider, out var old) ? (0.7 * old) + (0.3 * ms) : ms;
                }

                break;
            case LifecycleKind.Crashed:
                _started.Remove(e.RunId);
                transition = _health.Failure(provider, $"run {e.RunId} of {e.Agent} crashed{(e.Detail is null ? string.Empty : $": {e.Detail}")}");
                break;
            case LifecycleKind.Killed:
                _started.Remove(e.RunId);
                _timedOut.Add(e.Agent);
                transition = _health.Failure(provider, $"run {e.RunId} of {e.Agent} timed out");
                break;
            case LifecycleKind.Stopped:
                _started.Remove(e.RunId);
                break;
        }

        if (transition is not null)
        {
            _log.Warning("Provider [{0}] circuit breaker {1}: {2}", provider, transition.State, transition.Reason);
            Persist(transition, Persisted);
        }
        else
        {
            Publish();
        }
    }

    // ---------------------------------------------------------------- Nightwatch's severe drift: avoid a route

    private void OnAvoid(RouteAvoid avoid)
    {
        if (avoid.Provider is null && avoid.Model is null)
        {
            _log.Info("Agent [{0}]: a route-avoid names neither a provider nor a model; nothing to avoid", avoid.Agent);
            return;
        }

        var until = avoid.Until + _fleet.Router.AvoidFor;
        if (until <= Now)
        {
            return;
        }

        Persist(new RouteAvoidRecorded(avoid.Agent, avoid.Provider, avoid.Model, until, avoid.Reason, Now), Persisted);
    }

    /// <summary>Adds (or, for the same provider and model, replaces) an avoid entry of an agent.</summary>
    private void ApplyAvoid(RouteAvoidRecorded a)
    {
        if (!_avoids.TryGetValue(a.Agent, out var entries))
        {
            _avoids[a.Agent] = entries = [];
        }

        entries.RemoveAll(e => e.Provider == a.Provider && e.Model == a.Model);
        entries.Add(a);
    }

    /// <summary>Drops expired avoid entries, re-publishes the board and waits for the next expiry (also after recovery).</summary>
    private void OnAvoidExpired()
    {
        var now = Now;
        foreach (var (agent, entries) in _avoids.ToList())
        {
            entries.RemoveAll(e => e.Until <= now);
            if (entries.Count == 0)
            {
                _avoids.Remove(agent);
            }
        }

        Publish();
        ArmAvoidTimer();
        if (_waiting.Count > 0)
        {
            ResumeWaiting(BuildBoard());
        }
    }

    private void ArmAvoidTimer()
    {
        DateTimeOffset? next = null;
        foreach (var a in _avoids.Values.SelectMany(e => e))
        {
            next = next is null || a.Until < next ? a.Until : next;
        }

        if (next is { } at)
        {
            Timers.StartSingleTimer(AvoidTimer, AvoidExpired.Instance, at > Now ? at - Now : TimeSpan.Zero);
        }
        else
        {
            Timers.Cancel(AvoidTimer);
        }
    }

    private IEnumerable<RouteAvoidRecorded> ActiveAvoids()
    {
        var now = Now;
        return _avoids.Values.SelectMany(e => e).Where(a => a.Until > now).OrderBy(a => a.Agent, StringComparer.Ordinal).ThenBy(a => a.Until);
    }

    // ---------------------------------------------------------------- waiting and polling

    private void OnAwait(AwaitRoute wait)
    {
        _log.Info("Agent [{0}] waits for a route: {1}", wait.Agent, wait.Reason);
        _waiting[wait.Agent] = wait;
        if (!Timers.IsTimerActive(PollTimer))
        {
            Timers.StartPeriodicTimer(PollTimer, Poll.Instance, _fleet.Router.PollingInterval);
        }

        ArmChangeTimer();
    }

    private void OnPoll()
    {
        if (_waiting.Count == 0)
        {
            Timers.Cancel(PollTimer);
            return;
        }

        // cheap probes of limited providers that may have returned before their reset time
        var board = BuildBoard();
        foreach (var p in _fleet.Providers.Where(p => board.Of(p.Name).State == ProviderState.Limited && _probing.Add(p.Name)))
        {
            var provider = p;
            _settings.Probe(provider, CancellationToken.None).PipeTo(
                Self,
                success: ok => new ProbeAnswered(provider.Name, ok),
                failure: _ => new ProbeAnswered(provider.Name, false));
        }

        ResumeWaiting(board);
    }

    private void OnProbeAnswered(ProbeAnswered answer)
    {
        _probing.Remove(answer.Provider);
        if (answer.Ok == true && _health.Condition(answer.Provider) is { State: ProviderState.Limited })
        {
            _log.Info("Provider [{0}] answered the router's probe: limit lifted", answer.Provider);
            Persist(new ProviderLimitRecorded(answer.Provider, Now, "answered the router's probe", Now), e =>
            {
                Persisted(e);
                ResumeWaiting(BuildBoard());
            });
        }
    }

    private void ResumeWaiting(ProviderBoard board)
    {
        foreach (var wait in _waiting.Values.ToList())
        {
            var agent = _policy.Agent(wait.Agent);
            if (agent is null)
            {
                _waiting.Remove(wait.Agent);
                continue;
            }

            var decision = _policy.Choose(wait.Task ?? agent.Task ?? string.Empty, agent, board);
            if (decision.Chosen is { } route)
            {
                _log.Info("Agent [{0}] resumed: a route returned ({1})", wait.Agent, route.Provider);
                _waiting.Remove(wait.Agent);
                _settings.Factory?.Tell(new ResumeAgent(wait.Agent, wait.Task));
            }
        }

        if (_waiting.Count == 0)
        {
            Timers.Cancel(PollTimer);
            Timers.Cancel(ChangeTimer);
        }
    }

    /// <summary>Wakes the router when a limit resets, a breaker may be probed or a budget window ends.</summary>
    private void ArmChangeTimer()
    {
        var now = Now;
        var board = BuildBoard();
        var next = _health.NextChange();
        foreach (var at in board.Providers.Values.Select(c => c.ResetAt).Concat(board.Agents.Values.Select(a => a.ResetAt)).OfType<DateTimeOffset>())
        {
            next = next is null || at < next ? at : next;
        }

        if (next is { } t && t > now)
        {
            Timers.StartSingleTimer(ChangeTimer, Poll.Instance, t - now + TimeSpan.FromMilliseconds(50));
        }
    }

    // ---------------------------------------------------------------- persistence and the board

    private void Persisted(object e)
    {
        switch (e)
        {
            case CostRecorded c:
                _ledger.Apply(c);
                break;
            case ProviderLimitRecorded l:
                _health.Apply(l);
                break;
            case BreakerTransitioned b:
                _health.Apply(b);
                break;
            case RouteChosen r:
                ApplyRoute(r);
                break;
            case ProviderSwitched s:
                ApplySwitch(s);
                _log.Info("Agent [{0}] switched provider {1} -> {2} ({3}): {4}", s.Agent, s.From, s.To, s.Reason, s.Detail);
                break;
            case RouteAvoidRecorded a:
                ApplyAvoid(a);
                _log.Warning("Agent [{0}] avoids {1}{2} until {3:o}: {4}", a.Agent, a.Provider ?? "any provider", a.Model is null ? string.Empty : $" (model {a.Model})", a.Until, a.Reason);
                ArmAvoidTimer();
                break;
        }

        // the board first: whoever acts on the event (a layer stopping a run on a limit) routes against it
        Publish();
        _topics.Publish((IDarkFactoryMessage)e);
        if (LastSequenceNr % Math.Max(1, _settings.SnapshotEvery) == 0)
        {
            _ledger.Compact(Now);
            SaveSnapshot(Snapshot());
        }

        if (_waiting.Count > 0)
        {
            ArmChangeTimer();
        }
    }

    private void ApplyRoute(RouteChosen r)
    {
        if (!_routes.ContainsKey(r.RunId))
        {
            _routeOrder.Enqueue(r.RunId);
        }

        _routes[r.RunId] = r;
        while (_routeOrder.Count > KeepRoutes)
        {
            _routes.Remove(_routeOrder.Dequeue());
        }

        if (r.Route.Provider is { } p)
        {
            _lastProvider[r.Agent] = p;
        }
    }

    private void ApplySwitch(ProviderSwitched s)
    {
        _switches.AddLast(s);
        while (_switches.Count > KeepSwitches)
        {
            _switches.RemoveFirst();
        }
    }

    private RouterSnapshot Snapshot()
    {
        var (buckets, runs) = _ledger.ToSnapshot();
        return new RouterSnapshot(buckets, runs, _health.ActiveLimits(), _health.BreakerStates(), _routeOrder.Select(r => _routes[r]).ToList(), _switches.ToList(), ActiveAvoids().ToList());
    }

    private void Restore(RouterSnapshot s)
    {
        _ledger.Restore(s.Buckets, s.Runs);
        foreach (var l in s.Limits)
        {
            _health.Apply(l);
        }

        foreach (var b in s.Breakers)
        {
            _health.Apply(b);
        }

        foreach (var r in s.Routes)
        {
            ApplyRoute(r);
        }

        foreach (var sw in s.Switches)
        {
            ApplySwitch(sw);
        }

        foreach (var a in s.Avoids ?? [])
        {
            ApplyAvoid(a);
        }
    }

    private ProviderBoard BuildBoard()
    {
        var now = Now;
        var providers = new Dictionary<string, ProviderCondition>(StringComparer.Ordinal);
        foreach (var p in _fleet.Providers)
        {
            var c = _health.Condition(p.Name) ?? Budgets.Provider(_ledger, p, now);
            if (_latency.TryGetValue(p.Name, out var ms))
            {
                c = (c ?? ProviderCondition.Ok) with { LatencyMs = ms };
            }

            if (c is not null)
            {
                providers[p.Name] = c;
            }
        }

        var agents = new Dictionary<string, AgentCondition>(StringComparer.Ordinal);
        foreach (var a in _fleet.Agents)
        {
            if (Budgets.Agent(_ledger, a, now) is { } over)
            {
                agents[a.Name] = over;
            }
        }

        var avoids = new Dictionary<string, IReadOnlyList<RouteAvoidRecorded>>(StringComparer.Ordinal);
        foreach (var (agent, entries) in _avoids)
        {
            var active = entries.Where(a => a.Until > now).ToArray();
            if (active.Length > 0)
            {
                avoids[agent] = active;
            }
        }

        return new ProviderBoard(providers.ToFrozenDictionary(), agents.ToFrozenDictionary(), MissingClis(_fleet, _settings.FindExecutable))
        {
            Avoids = avoids.ToFrozenDictionary(StringComparer.Ordinal),
        };
    }

    /// <summary>The providers' CLI kinds that are not installed, each with why and the command that installs it.</summary>
    public static IReadOnlyDictionary<string, string> MissingClis(FleetSpec fleet, Func<string, string?> findExecutable)
    {
        var missing = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var cli in fleet.Providers.Select(p => p.Cli).Distinct())
        {
            if (CliCatalog.Known.TryGetValue(cli, out var info) && info.Binary is { } binary && findExecutable(binary) is null)
            {
                missing[cli] = $"'{binary}' is not installed (install: {info.InstallCommand})";
            }
        }

        return missing.ToFrozenDictionary();
    }

    private void Publish() => _settings.Board.Publish(_policy, BuildBoard());

    private sealed record Poll
    {
        public static readonly Poll Instance = new();
    }

    private sealed record ProbeAnswered(string Provider, bool? Ok);

    private sealed record AvoidExpired
    {
        public static readonly AvoidExpired Instance = new();
    }
}

/// <summary>The default probe: an HTTP GET of the provider's base_url with a short timeout.</summary>
public static class HttpProbe
{
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(2) };

    public static async Task<bool?> GetAsync(ProviderSpec provider, CancellationToken ct)
    {
        if (provider.BaseUrl is null)
        {
            return null;
        }

        try
        {
            using var response = await Client.GetAsync(provider.BaseUrl, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            return code != 429 && code < 500;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
