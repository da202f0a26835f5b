using System.Runtime.CompilerServices;
using Akka.Persistence;
using DarkFactory.Actors.Persistence;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// Watches every agent's output for drift (/user/factory/nightwatch). It subscribes to the event stream
/// (<see cref="AgentOutput"/>, <see cref="AgentLifecycle"/>, <see cref="AgentUsage"/>, <see cref="RouteChosen"/>),
/// keeps an <see cref="AgentWatch"/> per agent, and judges each batch as it arrives: a changed level is
/// published as a <see cref="DriftVerdict"/>, and the level's rung of the correction ladder
/// (<see cref="DriftPolicy"/>) is persisted as a <see cref="DriftCorrection"/> (<see cref="NightwatchState"/>)
/// and carried out through the factory (hint, restart, pause + <see cref="RouteAvoid"/>, stop +
/// <see cref="Escalation"/> with an <see cref="EscalationWebhook"/> POST). Plain lines matching
/// <c>rate_limit_patterns</c> become <see cref="ProviderLimited"/> events with the reset time they name; lines
/// that @mention an on-demand agent start it (<see cref="Mentions"/>).
/// <para>In a cluster the actor is split in two (<see cref="NightwatchSettings.Part"/>): each node's windows judge its
/// agents and send the rungs due and the level changes to the decisions, one singleton for the cluster, which records
/// and carries out the corrections (NightwatchActor.Decisions.cs). A single node is both, as before.</para>
/// </summary>
public sealed partial class NightwatchActor : PersistentActorBase
{
    private const string JudgeTimer = "judge";

    private readonly IActorRef _factory;
    private readonly IActorRef _history;
    private readonly NightwatchSettings _settings;
    private readonly NightwatchState _state;
    private readonly EscalationWebhook _webhook;
    private readonly Mentions _mentions;

    // runtime state: the fleet's agents and their watches
    private readonly WatchedFleet _fleet = new();

    // agents whose pause, recorded before the daemon restarted, still holds: their first start is stopped again
    private readonly HashSet<string> _pausesRestored = new(StringComparer.Ordinal);
    private bool _hintsResent;
    private char[] _scratch = new char[256]; // a LineBatch's line decoded, one at a time

    // when the judge timer is armed for (null: not armed): the earliest Due of the watches, or earlier
    private DateTimeOffset? _armedAt;

    // the decisions' part: each agent's last level change as its node reported it (df drift for the cluster)
    private readonly Dictionary<string, DriftSeen> _seen = new(StringComparer.Ordinal);

    public NightwatchActor(IActorRef factory, IActorRef history, NightwatchSettings settings)
        : base(settings.PersistenceId, settings.SnapshotEvery, settings.Clock)
    {
        _factory = factory;
        _history = history;
        _settings = settings;
        _state = new NightwatchState(settings.KeepCorrections, settings.KeepEscalations);
        _webhook = new EscalationWebhook(settings.Http ?? EscalationWebhook.SharedClient, settings.Clock);
        _mentions = new Mentions(settings.MentionCooldown);

        RecoverSnapshot<NightwatchSnapshot>(s => _state.Restore(s));
        Recover<DriftCorrection>(e => _state.Apply(e));
        Recover<Escalation>(e => _state.Apply(e));
        Recover<EscalationDelivered>(e => _state.Apply(e));
        Recover<DriftHintUsed>(e => _state.Apply(e));

        Command<AgentOutput>(OnOutput);
        Command<AgentLifecycle>(OnLifecycle);
        Command<AgentUsage>(OnUsage);
        Command<RouteChosen>(r =>
        {
            if (_fleet.Watched(r.Agent))
            {
                _fleet.WatchOf(r.Agent).Apply(r);
            }
        });
        Command<ApplyFleet>(OnFleet);
        Command<JudgeDue>(_ => OnJudgeDue());
        Command<Resume>(OnResume);
        Command<GetDrift>(q =>
        {
            if (_settings.Part == NightwatchPart.Decisions)
            {
                Sender.Tell(_fleet.Drift(q.Agent, _state, Now, _seen));
                return;
            }

            JudgeWatched(Now); // the scores as of now (levels and rungs are current already)
            Sender.Tell(_fleet.Drift(q.Agent, _state, Now));
        });
        Command<GetPauses>(q => Sender.Tell(new PausesInForce(_state.PausesInForce(q.PauseFor, Now))));
        Command<GetEscalations>(q => Sender.Tell(new EscalationList(_state.Escalations(q.Limit))));
        Command<GetNightwatchRecords>(q => Sender.Tell(_state.Records(q.Since)));
        Command<EscalationDelivered>(d => PersistAsync(d, Persisted));
        Command<CorrectionDue>(Decide);
        Command<CorrectionDecided>(Decided);
        Command<DriftSeen>(s => _seen[s.Verdict.Agent] = s);
        Command<CommandResult>(r =>
        {
            if (!r.Ok)
            {
                Log.Info("Nightwatch correction refused: {0}", r.Message);
            }
        });
    }

    public static Props Props(IActorRef factory, IActorRef history, NightwatchSettings settings) =>
        Akka.Actor.Props.Create(() => new NightwatchActor(factory, history, settings));

    protected override void PreStart()
    {
        base.PreStart();
        if (_settings.Part == NightwatchPart.Decisions)
        {
            // no output: the windows read it on the agents' nodes; the lifecycle of this node's agents (the other
            // nodes' comes through the singleton, ControlSingleton) for the pauses and the hints
            Subscribe(typeof(AgentLifecycle));
            return;
        }

        Subscribe(typeof(AgentOutput), typeof(AgentLifecycle), typeof(AgentUsage), typeof(RouteChosen));
        JoinOutput("nightwatch");
    }

    // ---------------------------------------------------------------- fleet

    private void OnFleet(ApplyFleet msg)
    {
        var fleet = msg.Fleet;
        _fleet.Apply(fleet);
        _mentions.Fleet(fleet);
        JudgeWatched(Now); // new settings or profiles may change a verdict or when the next is due
        if (!_hintsResent && _settings.Part != NightwatchPart.Windows) // a cluster's decisions restore them
        {
            RestorePauses();

            // hints recorded before a daemon restart still go into the agents' next runs
            _hintsResent = true;
            foreach (var (agent, hint) in _state.PendingHints)
            {
                if (_fleet.Watched(agent))
                {
                    _factory.Tell(new AgentHint(agent, hint), Self);
                }
            }
        }
    }

    /// <summary>
    /// Pauses recorded before the daemon restarted and not over yet hold again (issue 15, finding 8): the agent is
    /// stopped (now, and again at its first start, since its layer may autostart it after this) and started when
    /// the pause ends. The router keeps its own record of the route to avoid.
    /// </summary>
    private void RestorePauses()
    {
        var now = Now;
        var pauseFor = _fleet.Spec.PauseFor;
        foreach (var (agent, until) in _state.PausesInForce(pauseFor, now))
        {
            if (!_fleet.Agents.ContainsKey(agent))
            {
                continue;
            }

            if (_settings.Part == NightwatchPart.Whole)
            {
                var w = _fleet.WatchOf(agent);
                w.PauseRestored(until - pauseFor);
                Judge(w, now);
            }

            _pausesRestored.Add(agent);
            Log.Info("Agent [{0}]: paused by Nightwatch until {1:u}, as before the restart", agent, until);
            _factory.Tell(new StopAgent(agent, Requester.Nightwatch), Self);
            Timers.StartSingleTimer("resume-" + agent, new Resume(agent), until - now);
        }
    }

    // ---------------------------------------------------------------- signals

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // loops over every line of a batch (see LinePatterns.Classify)
    private void OnOutput(AgentOutput batch)
    {
        Output?.Taken(batch);
        if (!_fleet.Watched(batch.Agent))
        {
            return;
        }

        var w = _fleet.WatchOf(batch.Agent);
        w.Output(batch.RunId);
        if (batch.Lines is LineBatch bytes)
        {
            Judge(batch, w, bytes);
        }
        else
        {
            var mentions = _mentions.Any;
            foreach (var line in batch.Lines)
            {
                var error = false;
                if (line.Kind == OutputKind.Text)
                {
                    var flags = _fleet.Patterns.Classify(line.Text);
                    error = flags == LineFlags.Error;
                    if (flags == LineFlags.RateLimit)
                    {
                        RateLimited(w, batch.RunId, line.Text);
                    }
                }

                w.Line(batch.RunId, line, error, batch.At);
                if (mentions && line.Text.Contains('@'))
                {
                    Mentioned(batch, line.Text);
                }
            }
        }

        Judge(w, Now);
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (!_fleet.Watched(e.Agent))
        {
            return;
        }

        if (_settings.Part == NightwatchPart.Decisions)
        {
            DecisionsLifecycle(e);
            return;
        }

        var w = _fleet.WatchOf(e.Agent);
        w.Apply(e);
        if (e.Kind == LifecycleKind.Started && w.Paused && _pausesRestored.Remove(e.Agent))
        {
            Log.Info("Agent [{0}] started while its pause holds: stopping it until the pause ends", e.Agent);
            _factory.Tell(new StopAgent(e.Agent, Requester.Nightwatch), Self);
        }

        if (e.Kind == LifecycleKind.Started && _settings.Part == NightwatchPart.Whole && _state.PendingHints.ContainsKey(e.Agent))
        {
            PersistAsync(new DriftHintUsed(e.Agent, e.At, e.RunId), Persisted);
        }

        Judge(w, Now);
    }

    private void OnUsage(AgentUsage u)
    {
        if (!_fleet.Agents.TryGetValue(u.Agent, out var spec))
        {
            return;
        }

        var cost = AgentWatch.Price(u, _fleet.Watches.GetValueOrDefault(u.Agent)?.Provider, spec, _fleet.Providers);
        if (cost > 0)
        {
            var w = _fleet.WatchOf(u.Agent);
            w.Spent(cost, u.At);
            Judge(w, Now);
        }
    }

    /// <summary>
    /// The judge timer: the watches due by now are judged (each computes when it is next due), and the timer is armed
    /// again for the earliest of them. No tick: an agent is looked at again only at the instant its verdict or rung
    /// can change by itself (<see cref="AgentWatch.NextJudgement"/>); output and lifecycle events are judged as they come.
    /// </summary>
    private void OnJudgeDue()
    {
        _armedAt = null;
        var now = Now;
        foreach (var w in _fleet.Watches.Values)
        {
            if (w.Due is { } due && due <= now)
            {
                Judge(w, now);
            }
        }

        Rearm(now);
    }

    /// <summary>Judges every watch the clock would (running or drifting), e.g. after a fleet revision changed the rules.</summary>
    private void JudgeWatched(DateTimeOffset now)
    {
        foreach (var w in _fleet.Watches.Values)
        {
            if (w.Signals.Running || w.Level != DriftLevel.Normal)
            {
                Judge(w, now);
            }
        }
    }

    /// <summary>Arms the judge timer for the earliest Due of all watches (cancels it when none is due).</summary>
    private void Rearm(DateTimeOffset now)
    {
        DateTimeOffset? earliest = null;
        foreach (var w in _fleet.Watches.Values)
        {
            if (w.Due is { } due && (earliest is null || due < earliest))
            {
                earliest = due;
            }
        }

        if (earliest is null)
        {
            Timers.Cancel(JudgeTimer);
            _armedAt = null;
        }
        else if (earliest != _armedAt)
        {
            Arm(earliest.Value, now);
        }
    }

    private void Arm(DateTimeOffset due, DateTimeOffset now)
    {
        _armedAt = due;
        var delay = due - now;
        Timers.StartSingleTimer(JudgeTimer, JudgeDue.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    private void RateLimited(AgentWatch w, string runId, string line)
    {
        var now = Now;
        if (!w.LimitSeen(runId, now, _settings.LimitDebounce))
        {
            return;
        }

        var provider = w.Provider ?? (_fleet.Agents.TryGetValue(w.Agent, out var spec) ? spec.Provider : null);
        var text = line.Length > 300 ? line[..300] : line;
        var limited = new ProviderLimited(provider, w.Agent, runId, now, ResetTimes.Parse(line, now), "output matched a rate-limit pattern", LimitSource.Pattern, text);
        Topics.Publish(limited);
        Log.Info("Agent [{0}] is rate limited on [{1}] until {2}", w.Agent, provider ?? "its provider", limited.ResetAt?.ToString("u") ?? "unknown");
    }

    // ---------------------------------------------------------------- persisted state

    private void Persisted(object e)
    {
        _state.Apply(e);
        if (e is EscalationDelivered { Ok: false } d)
        {
            Log.Warning("Escalation {0} was not delivered: {1}", d.Id, d.Detail);
        }

        SnapshotWhenDue(_state.Snapshot);
    }

    private sealed record JudgeDue : Signal<JudgeDue>;

    private sealed record Resume(string Agent);
}
