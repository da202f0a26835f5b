using System.Net.Http.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>Settings of the <see cref="NightwatchActor"/>; tests inject a virtual clock and a short tick.</summary>
public sealed record NightwatchSettings
{
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public string PersistenceId { get; init; } = "nightwatch";

    /// <summary>How often stalls and decaying windows are looked at (output is judged as it arrives).</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromSeconds(1);

    public int SnapshotEvery { get; init; } = 200;
    public int KeepCorrections { get; init; } = 1000;
    public int KeepEscalations { get; init; } = 500;

    /// <summary>The same agent's rate-limit lines within this time make one provider-limited event.</summary>
    public TimeSpan LimitDebounce { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Least time between two @mention starts of the same agent.</summary>
    public TimeSpan MentionCooldown { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Posts escalations; null = a shared client with a 10 s timeout.</summary>
    public HttpClient? Http { get; init; }
}

/// <summary>
/// Watches every agent's output for drift (/user/factory/nightwatch). It subscribes to the event stream
/// (<see cref="AgentOutput"/>, <see cref="AgentLifecycle"/>, <see cref="AgentUsage"/>), keeps an
/// <see cref="AgentSignals"/> window per agent, and judges each batch as it arrives: a changed level is
/// published as a <see cref="DriftVerdict"/>, and the level's rung of the correction ladder
/// (<see cref="DriftPolicy"/>) is persisted as a <see cref="DriftCorrection"/> and carried out through
/// the factory (hint, restart, pause + <see cref="RouteAvoid"/>, stop + <see cref="Escalation"/> with a
/// webhook POST). Plain lines matching <c>rate_limit_patterns</c> become <see cref="ProviderLimited"/>
/// events with the reset time they name; lines that @mention an on-demand agent start it.
/// </summary>
public sealed class NightwatchActor : ReceivePersistentActor, IWithTimers
{
    private const string TickTimer = "tick";
    private static readonly HttpClient SharedHttp = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly IActorRef _factory;
    private readonly IActorRef _history;
    private readonly NightwatchSettings _settings;

    // persisted state
    private readonly LinkedList<DriftCorrection> _corrections = new();
    private readonly List<EscalationEntry> _escalations = [];
    private readonly Dictionary<string, string> _pendingHints = new(StringComparer.Ordinal);

    // runtime state
    private readonly Dictionary<string, Watch> _watches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AgentSpec> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProviderSpec> _providers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _mentioned = new(StringComparer.Ordinal);
    private NightwatchSpec _spec = new();
    private LinePatterns _patterns = LinePatterns.From(new NightwatchSpec());
    private string[] _mentionTargets = [];
    private bool _hintsResent;

    public NightwatchActor(IActorRef factory, IActorRef history, NightwatchSettings settings)
    {
        _factory = factory;
        _history = history;
        _settings = settings;
        PersistenceId = settings.PersistenceId;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is NightwatchSnapshot s)
            {
                _corrections.Clear();
                foreach (var c in s.Corrections)
                {
                    _corrections.AddLast(c);
                }

                _escalations.Clear();
                _escalations.AddRange(s.Escalations);
                _pendingHints.Clear();
                foreach (var (agent, hint) in s.PendingHints)
                {
                    _pendingHints[agent] = hint;
                }
            }
        });
        Recover<DriftCorrection>(Apply);
        Recover<Escalation>(Apply);
        Recover<EscalationDelivered>(Apply);
        Recover<DriftHintUsed>(Apply);

        Command<AgentOutput>(OnOutput);
        Command<AgentLifecycle>(OnLifecycle);
        Command<AgentUsage>(OnUsage);
        Command<RouteChosen>(r =>
        {
            if (_agents.ContainsKey(r.Agent))
            {
                var w = WatchOf(r.Agent);
                (w.Provider, w.Model) = (r.Route.Provider, r.Route.Model);
                w.RouteOf(r.RunId, r.Route.Provider, r.Route.Model);
            }
        });
        Command<ApplyFleet>(OnFleet);
        Command<Tick>(_ => OnTick());
        Command<Resume>(OnResume);
        Command<GetDrift>(OnGetDrift);
        Command<GetEscalations>(q => Sender.Tell(new EscalationList(_escalations.AsEnumerable().Reverse().Take(Math.Max(1, q.Limit)).ToList())));
        Command<GetNightwatchRecords>(q => Sender.Tell(new NightwatchRecords(
            _corrections.Where(c => c.At >= q.Since).ToList(),
            _escalations.Where(e => e.Escalation.At >= q.Since).ToList())));
        Command<EscalationDelivered>(d => PersistAsync(d, Apply));
        Command<CommandResult>(r =>
        {
            if (!r.Ok)
            {
                _log.Info("Nightwatch correction refused: {0}", r.Message);
            }
        });
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning("Nightwatch snapshot failed: {0}", f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("Deleting old Nightwatch events failed: {0}", f.Cause.Message));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public override string PersistenceId { get; }

    private DateTimeOffset Now => _settings.Clock.GetUtcNow();

    public static Props Props(IActorRef factory, IActorRef history, NightwatchSettings settings) =>
        Akka.Actor.Props.Create(() => new NightwatchActor(factory, history, settings));

    protected override void PreStart()
    {
        base.PreStart();
        _topics.Subscribe(Self, typeof(AgentOutput));
        _topics.Subscribe(Self, typeof(AgentLifecycle));
        _topics.Subscribe(Self, typeof(AgentUsage));
        _topics.Subscribe(Self, typeof(RouteChosen));
        Timers.StartPeriodicTimer(TickTimer, Tick.Instance, _settings.Tick);
    }

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        base.PostStop();
    }

    // ---------------------------------------------------------------- fleet

    private void OnFleet(ApplyFleet msg)
    {
        var fleet = msg.Fleet;
        if (!_spec.ErrorPatterns.SequenceEqual(fleet.Nightwatch.ErrorPatterns) || !_spec.RateLimitPatterns.SequenceEqual(fleet.Nightwatch.RateLimitPatterns))
        {
            _patterns = LinePatterns.From(fleet.Nightwatch);
        }

        var windowChanged = _spec.Window != fleet.Nightwatch.Window;
        _spec = fleet.Nightwatch;
        _agents.Clear();
        foreach (var a in fleet.Agents)
        {
            _agents[a.Name] = a;
        }

        _providers.Clear();
        foreach (var p in fleet.Providers)
        {
            _providers[p.Name] = p;
        }

        foreach (var gone in _watches.Keys.Where(k => !_agents.ContainsKey(k)).ToList())
        {
            _watches.Remove(gone);
        }

        if (windowChanged)
        {
            _watches.Clear();
        }

        // on-demand agents (no schedule, not autostarted) can be called by name from another agent's output
        _mentionTargets = fleet.Agents
            .Where(a => a.Layer == LayerName.Growth && a.Schedule is null && a.Autostart != true)
            .Select(a => a.Name)
            .ToArray();

        if (!_hintsResent)
        {
            // hints recorded before a daemon restart still go into the agents' next runs
            _hintsResent = true;
            foreach (var (agent, hint) in _pendingHints)
            {
                if (_agents.ContainsKey(agent))
                {
                    _factory.Tell(new AgentHint(agent, hint), Self);
                }
            }
        }
    }

    // ---------------------------------------------------------------- signals

    private void OnOutput(AgentOutput batch)
    {
        if (!_agents.ContainsKey(batch.Agent))
        {
            return;
        }

        var w = WatchOf(batch.Agent);
        w.RunId = batch.RunId;
        var mentions = _mentionTargets.Length > 0;
        foreach (var line in batch.Lines)
        {
            var error = false;
            if (line.Kind == OutputKind.Text)
            {
                var flags = _patterns.Classify(line.Text);
                error = flags == LineFlags.Error;
                if (flags == LineFlags.RateLimit)
                {
                    RateLimited(w, batch, line.Text);
                }
            }

            w.Signals.Line(line.Kind, line.Text, error, batch.At);
            if (error || line.Kind is OutputKind.Error or OutputKind.ToolError)
            {
                w.Blame(batch.RunId);
            }

            if (mentions && line.Text.Contains('@'))
            {
                Mentions(batch.Agent, line.Text);
            }
        }

        Judge(w, Now);
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (!_agents.ContainsKey(e.Agent))
        {
            return;
        }

        var w = WatchOf(e.Agent);
        w.Signals.Lifecycle(e.Kind, e.At);
        if (e.Kind is LifecycleKind.Crashed or LifecycleKind.Killed or LifecycleKind.Quarantined && e.RunId is { } run)
        {
            w.Blame(run);
        }

        if (e.Kind == LifecycleKind.Started)
        {
            w.RunId = e.RunId;
            w.Stopped = false; // an operator (or the ladder's resume) started it again
            if (_pendingHints.ContainsKey(e.Agent))
            {
                PersistAsync(new DriftHintUsed(e.Agent, e.At, e.RunId), Apply);
            }
        }

        Judge(w, Now);
    }

    private void OnUsage(AgentUsage u)
    {
        if (!_agents.TryGetValue(u.Agent, out var spec))
        {
            return;
        }

        var cost = u.CostUsd ?? Price(u, u.Provider ?? _watches.GetValueOrDefault(u.Agent)?.Provider ?? spec.Provider);
        if (cost > 0)
        {
            var w = WatchOf(u.Agent);
            w.Signals.Cost(cost, u.At);
            Judge(w, Now);
        }
    }

    private decimal Price(AgentUsage u, string? provider)
    {
        if (provider is null || !_providers.TryGetValue(provider, out var p))
        {
            return 0;
        }

        var uncached = Math.Max(0, u.InputTokens - u.CachedInputTokens);
        return ((uncached * p.Prices.InputPerMillion) + (u.CachedInputTokens * p.Prices.CachedInputPerMillion) + (u.OutputTokens * p.Prices.OutputPerMillion)) / 1_000_000m;
    }

    private void OnTick()
    {
        var now = Now;
        foreach (var w in _watches.Values)
        {
            if (w.Signals.Running || w.Level != DriftLevel.Normal)
            {
                Judge(w, now);
            }
        }
    }

    private void RateLimited(Watch w, AgentOutput batch, string line)
    {
        var now = Now;
        if (w.LastLimitRun == batch.RunId && now - w.LastLimitAt < _settings.LimitDebounce)
        {
            return;
        }

        w.LastLimitAt = now;
        w.LastLimitRun = batch.RunId;
        var provider = w.Provider ?? (_agents.TryGetValue(w.Agent, out var spec) ? spec.Provider : null);
        var text = line.Length > 300 ? line[..300] : line;
        var limited = new ProviderLimited(provider, w.Agent, batch.RunId, now, ResetTimes.Parse(line, now), "output matched a rate-limit pattern", LimitSource.Pattern, text);
        _topics.Publish(limited);
        _log.Info("Agent [{0}] is rate limited on [{1}] until {2}", w.Agent, provider ?? "its provider", limited.ResetAt?.ToString("u") ?? "unknown");
    }

    private void Mentions(string source, string text)
    {
        foreach (var target in _mentionTargets)
        {
            if (target == source)
            {
                continue;
            }

            var at = text.IndexOf("@" + target, StringComparison.Ordinal);
            var end = at + target.Length + 1;
            if (at < 0 || (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] is '-' or '_')))
            {
                continue;
            }

            var now = Now;
            if (_mentioned.TryGetValue(target, out var last) && now - last < _settings.MentionCooldown)
            {
                continue;
            }

            _mentioned[target] = now;
            var task = text[end..].Trim(' ', ':', ',', '-', '\t');
            _log.Info("Agent [{0}] mentioned @{1}: starting it", source, target);
            _factory.Tell(new StartAgent(target, task.Length == 0 ? null : $"{task} (asked by {source})"), Self);
        }
    }

    // ---------------------------------------------------------------- verdicts and corrections

    private void Judge(Watch w, DateTimeOffset now)
    {
        var c = w.Signals.Evaluate(now, _spec.StallAfter, _spec.LoopRepeats, _spec.MaxBurnPerHour);
        var score = DriftPolicy.Score(c, _spec);
        var level = DriftPolicy.Next(w.Level, score, _spec.Thresholds, _spec.Hysteresis);
        w.Score = score;
        w.Components = c;
        w.UpdatedAt = now;
        if (level != w.Level)
        {
            var verdict = new DriftVerdict(w.Agent, now, score, level, w.Level, c, DriftPolicy.Reason(score, level, c, _spec), w.RunId);
            w.Level = level;
            _topics.Publish(verdict);
        }

        if (level == DriftLevel.Normal || w.Paused || w.Stopped)
        {
            return;
        }

        if (DriftPolicy.Due(level, w.LastFired, now, _spec.Cooldown) is { } action)
        {
            if (action == CorrectionAction.Restart && DriftPolicy.Dominant(c, _spec).Signal == "health")
            {
                // the drift is the crashes themselves: the layer supervisor has already restarted the
                // agent with a fresh context, so a second restart would only cut its new run short
                w.LastFired[action] = now; // the rung is spent for its cooldown all the same
                action = CorrectionAction.Hint;
            }

            Correct(w, action, level, score, c, now);
        }
    }

    private void Correct(Watch w, CorrectionAction action, DriftLevel level, double score, DriftComponents c, DateTimeOffset now)
    {
        var spec = _agents[w.Agent];
        var hint = DriftPolicy.Hint(c, _spec);
        var reason = DriftPolicy.Reason(score, level, c, _spec);
        var (provider, model) = w.RouteToAvoid(DriftPolicy.Dominant(c, _spec).Signal);
        var correction = new DriftCorrection(w.Agent, now, level, action, score, reason, hint, w.RunId, provider ?? spec.Provider);
        w.LastFired[action] = now;
        if (action != CorrectionAction.Hint)
        {
            w.Signals.ResetOutputSignals(now); // the agent gets a fresh context
        }

        w.Paused = action == CorrectionAction.Pause;
        w.Stopped = action == CorrectionAction.Stop;

        // recorded first, then carried out: a crash in between never loses the decision
        PersistAsync(correction, e =>
        {
            Apply(e);
            _topics.Publish(e);
            _history.Tell(new AgentLifecycle(e.Agent, action == CorrectionAction.Stop ? LifecycleKind.Escalated : LifecycleKind.Corrected, e.At, e.RunId, Detail: $"{Describe(action)}: {reason}"));
            _log.Warning("Agent [{0}]: {1} ({2})", e.Agent, Describe(action), reason);
            CarryOut(e, model ?? spec.Model, c);
        });
    }

    private void CarryOut(DriftCorrection e, string? model, DriftComponents c)
    {
        _factory.Tell(new AgentHint(e.Agent, e.Hint), Self);
        switch (e.Action)
        {
            case CorrectionAction.Restart:
                _factory.Tell(new RestartAgent(e.Agent), Self);
                break;
            case CorrectionAction.Pause:
                _factory.Tell(new StopAgent(e.Agent), Self);
                _topics.Publish(new RouteAvoid(e.Agent, e.Provider, model, e.At + _spec.PauseFor, e.Reason));
                Timers.StartSingleTimer("resume-" + e.Agent, new Resume(e.Agent), _spec.PauseFor);
                break;
            case CorrectionAction.Stop:
                _factory.Tell(new StopAgent(e.Agent), Self);
                Escalate(e, c);
                break;
        }
    }

    private void OnResume(Resume msg)
    {
        if (_watches.TryGetValue(msg.Agent, out var w) && w.Paused)
        {
            w.Paused = false;
            if (!w.Stopped && _agents.ContainsKey(msg.Agent))
            {
                _log.Info("Agent [{0}]: pause over, starting it again", msg.Agent);
                _factory.Tell(new StartAgent(msg.Agent), Self);
            }
        }
    }

    private void Escalate(DriftCorrection stop, DriftComponents c)
    {
        var escalation = new Escalation(Guid.NewGuid().ToString("N")[..12], stop.Agent, stop.At, stop.Level, stop.Score, stop.Reason, c, stop.RunId);
        PersistAsync(escalation, e =>
        {
            Apply(e);
            _topics.Publish(e);
        });

        if (_spec.EscalationWebhook is not { } url)
        {
            return;
        }

        var http = _settings.Http ?? SharedHttp;
        var body = new
        {
            text = $"Dark Factory: agent {escalation.Agent} stopped — {escalation.Reason}",
            escalation.Id,
            escalation.Agent,
            escalation.At,
            level = escalation.Level.ToString().ToLowerInvariant(),
            escalation.Score,
            escalation.Reason,
            escalation.Components,
            escalation.RunId,
        };
        var id = escalation.Id;
        var clock = _settings.Clock;
        var target = Redacted(url);
        http.PostAsJsonAsync(url, body, DarkFactoryJson.Options).ContinueWith(
            t => t.IsCompletedSuccessfully
                ? new EscalationDelivered(id, clock.GetUtcNow(), t.Result.IsSuccessStatusCode, $"{target}: HTTP {(int)t.Result.StatusCode}")
                : new EscalationDelivered(id, clock.GetUtcNow(), false, $"{target}: {t.Exception?.GetBaseException().Message ?? "timed out"}"),
            TaskScheduler.Default).PipeTo(Self);
    }

    /// <summary>Only the scheme and host of a webhook URL (its path and query often hold a secret).</summary>
    private static string Redacted(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? $"{u.Scheme}://{u.Authority}" : "webhook";

    private static string Describe(CorrectionAction action) => action switch
    {
        CorrectionAction.Hint => "hint for the next task",
        CorrectionAction.Restart => "restart with fresh context and a hint",
        CorrectionAction.Pause => "paused; asking for another provider or model",
        _ => "stopped and escalated to a human",
    };

    // ---------------------------------------------------------------- queries

    private void OnGetDrift(GetDrift q)
    {
        var list = new List<AgentDrift>();
        foreach (var name in _agents.Keys.Order(StringComparer.Ordinal))
        {
            if (q.Agent is not null && q.Agent != name)
            {
                continue;
            }

            var w = _watches.GetValueOrDefault(name);
            var last = _corrections.LastOrDefault(c => c.Agent == name);
            list.Add(new AgentDrift(
                name,
                w?.Score ?? 0,
                w?.Level ?? DriftLevel.Normal,
                w?.Components ?? DriftComponents.Zero,
                w?.UpdatedAt ?? Now,
                last,
                _pendingHints.GetValueOrDefault(name),
                w?.Paused ?? false,
                w?.Provider ?? _agents[name].Provider));
        }

        Sender.Tell(new DriftSnapshot(list));
    }

    // ---------------------------------------------------------------- persisted state

    private void Apply(DriftCorrection c)
    {
        _corrections.AddLast(c);
        while (_corrections.Count > _settings.KeepCorrections)
        {
            _corrections.RemoveFirst();
        }

        _pendingHints[c.Agent] = c.Hint;
        MaybeSnapshot();
    }

    private void Apply(Escalation e)
    {
        _escalations.Add(new EscalationEntry(e, null));
        if (_escalations.Count > _settings.KeepEscalations)
        {
            _escalations.RemoveRange(0, _escalations.Count - _settings.KeepEscalations);
        }

        MaybeSnapshot();
    }

    private void Apply(EscalationDelivered d)
    {
        var i = _escalations.FindIndex(x => x.Escalation.Id == d.Id);
        if (i >= 0)
        {
            _escalations[i] = _escalations[i] with { Delivery = d };
        }

        if (!d.Ok && !IsRecovering)
        {
            _log.Warning("Escalation {0} was not delivered: {1}", d.Id, d.Detail);
        }

        MaybeSnapshot();
    }

    private void Apply(DriftHintUsed u)
    {
        _pendingHints.Remove(u.Agent);
        MaybeSnapshot();
    }

    private void MaybeSnapshot()
    {
        if (!IsRecovering && LastSequenceNr > 0 && LastSequenceNr % _settings.SnapshotEvery == 0)
        {
            SaveSnapshot(new NightwatchSnapshot(_corrections.ToList(), _escalations.ToList(), new Dictionary<string, string>(_pendingHints)));
        }
    }

    private Watch WatchOf(string agent)
    {
        if (!_watches.TryGetValue(agent, out var w))
        {
            w = new Watch(agent, new AgentSignals(_spec.Window));
            _watches[agent] = w;
        }

        return w;
    }

    private sealed class Watch(string agent, AgentSignals signals)
    {
        public string Agent { get; } = agent;
        public AgentSignals Signals { get; } = signals;
        public DriftLevel Level { get; set; }
        public double Score { get; set; }
        public DriftComponents Components { get; set; } = DriftComponents.Zero;
        public DateTimeOffset UpdatedAt { get; set; }
        public string? RunId { get; set; }
        public Dictionary<CorrectionAction, DateTimeOffset> LastFired { get; } = [];
        public bool Paused { get; set; }
        public bool Stopped { get; set; }
        public DateTimeOffset LastLimitAt { get; set; }
        public string? LastLimitRun { get; set; }

        /// <summary>The provider and model of the agent's current run, as the router chose them.</summary>
        public string? Provider { get; set; }

        public string? Model { get; set; }

        /// <summary>The route of the last run that crashed, was killed or printed errors (null: none seen).</summary>
        public (string? Provider, string? Model)? Blamed { get; private set; }

        // the routes of the agent's recent runs: crash events and the next run's RouteChosen come from
        // different actors, so the crash is matched to its own run's route, not to whatever runs now
        private readonly Dictionary<string, (string? Provider, string? Model)> _routes = new(StringComparer.Ordinal);
        private readonly Queue<string> _routeOrder = new();

        public void RouteOf(string runId, string? provider, string? model)
        {
            if (_routes.TryAdd(runId, (provider, model)))
            {
                _routeOrder.Enqueue(runId);
                if (_routeOrder.Count > 8)
                {
                    _routes.Remove(_routeOrder.Dequeue());
                }
            }
        }

        public void Blame(string runId)
        {
            if (_routes.TryGetValue(runId, out var route))
            {
                Blamed = route;
            }
        }

        /// <summary>
        /// Errors, failed tool calls and crashes belong to the run that produced them (the agent may already
        /// run on another route); stalls, loops and cost are the current run's.
        /// </summary>
        public (string? Provider, string? Model) RouteToAvoid(string dominant) =>
            dominant is "health" or "errors" or "tool_failures" && Blamed is { } blamed ? blamed : (Provider, Model);
    }

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record Resume(string Agent);
}
