namespace DarkFactory.Actors.Nightwatch;

/// <summary>Nightwatch's verdicts and corrections: assess an agent's drift, act on it (hint, restart, pause, stop), escalate.</summary>
public sealed partial class NightwatchActor
{
    private void Judge(AgentWatch w, DateTimeOffset now) => Act(w, Assess(w, now), now);

    /// <summary>
    /// Judges the watch and arms the timer for its next judgement, before anyone hears of this one (a test or a
    /// scenario that moves the clock on seeing a verdict or correction finds the timer armed).
    /// </summary>
    private Judgement Assess(AgentWatch w, DateTimeOffset now)
    {
        var judgement = w.Judge(now, _fleet.Spec);
        if (judgement.Due is null && w.Due is { } next && (_armedAt is not { } armed || next < armed))
        {
            // an earlier timer than the one armed; a later one is left alone (the timer finds nothing due and re-arms)
            Arm(next, now);
        }

        return judgement;
    }

    /// <summary>Publishes a judgement's verdict (a cluster node's windows also tell the decisions) and carries out its rung.</summary>
    private void Act(AgentWatch w, Judgement judgement, DateTimeOffset now)
    {
        if (judgement.Verdict is { } verdict)
        {
            Topics.Publish(verdict);
            if (_settings.Part == NightwatchPart.Windows)
            {
                _settings.Decider!.Tell(new DriftSeen(_settings.Node, verdict, w.Provider), Self);
            }
        }

        if (judgement.Due is { } action)
        {
            Correct(w, action, now);
        }
    }

    private void Correct(AgentWatch w, CorrectionAction action, DateTimeOffset now)
    {
        var (correction, model) = w.Correct(action, now, _fleet.Spec, _fleet.Agents[w.Agent]);
        var components = w.Components;
        if (_settings.Part == NightwatchPart.Windows)
        {
            Propose(w, new CorrectionDue(_settings.Node, correction, model, components), now);
            return;
        }

        // recorded first, then carried out: a crash in between never loses the decision
        PersistAsync(correction, e =>
        {
            Persisted(e);

            // the correction changed what a judgement finds (a fresh context, a pause, a stop): judged again now it is
            // recorded, the next judgement armed before anyone hears of the correction, its verdict told after it
            var now = Now;
            var judged = _fleet.Watches.GetValueOrDefault(e.Agent);
            var again = judged is null ? default : Assess(judged, now);
            Announce(e);
            CarryOut(e, model, components);
            if (judged is not null)
            {
                Act(judged, again, now);
            }
        });
    }

    /// <summary>A recorded correction on the event stream and in the agent's history (on the agent's node).</summary>
    private void Announce(DriftCorrection e)
    {
        Topics.Publish(e);
        var what = $"{Describe(e.Action)}: {e.Reason}";
        _history.Tell(new AgentLifecycle(e.Agent, e.Action == CorrectionAction.Stop ? LifecycleKind.Escalated : LifecycleKind.Corrected, e.At, e.RunId, Detail: what));
        Log.Warning("Agent [{0}]: {1} ({2})", e.Agent, Describe(e.Action), e.Reason);
    }

    /// <param name="decided">The decisions' part: whom to tell that the correction is recorded (its node announces it).</param>
    private void CarryOut(DriftCorrection e, string? model, DriftComponents c, (IActorRef Node, CorrectionDue Due)? decided = null)
    {
        _factory.Tell(new AgentHint(e.Agent, e.Hint), Self);
        switch (e.Action)
        {
            case CorrectionAction.Restart:
                _factory.Tell(new RestartAgent(e.Agent, Requester.Nightwatch), Self);
                break;
            case CorrectionAction.Pause:
                // the pause's end is armed before anyone hears of the pause: a clock that moves on the stop finds it armed
                Timers.StartSingleTimer("resume-" + e.Agent, new Resume(e.Agent), _fleet.Spec.PauseFor);
                _factory.Tell(new StopAgent(e.Agent, Requester.Nightwatch), Self);
                if (decided is null)
                {
                    Topics.Publish(new RouteAvoid(e.Agent, e.Provider, model, e.At + _fleet.Spec.PauseFor, e.Reason));
                }

                break;
            case CorrectionAction.Stop:
                _factory.Tell(new StopAgent(e.Agent, Requester.Nightwatch), Self);
                Escalate(e, c, decided);
                return; // told once the escalation is recorded
        }

        if (decided is { } d)
        {
            d.Node.Tell(new CorrectionDecided(d.Due, true), Self);
        }
    }

    private void OnResume(Resume msg)
    {
        _pausesRestored.Remove(msg.Agent);
        if (_settings.Part == NightwatchPart.Decisions)
        {
            DecisionsResume(msg.Agent);
            return;
        }

        if (_fleet.Watches.TryGetValue(msg.Agent, out var w) && w.Paused)
        {
            w.Resumed();
            if (_settings.Part == NightwatchPart.Whole && !w.Stopped && _fleet.Watched(msg.Agent)) // a cluster's decisions start it
            {
                Log.Info("Agent [{0}]: pause over, starting it again", msg.Agent);
                _factory.Tell(new StartAgent(msg.Agent, By: Requester.Nightwatch), Self);
            }

            Judge(w, Now); // the ladder holds no more
        }
    }

    private void Escalate(DriftCorrection stop, DriftComponents c, (IActorRef Node, CorrectionDue Due)? decided)
    {
        var escalation = new Escalation(Guid.NewGuid().ToString("N")[..12], stop.Agent, stop.At, stop.Level, stop.Score, stop.Reason, c, stop.RunId);
        PersistAsync(escalation, e =>
        {
            Persisted(e);
            if (decided is { } d)
            {
                d.Node.Tell(new CorrectionDecided(d.Due, true, e), Self); // its node publishes it
            }
            else
            {
                Topics.Publish(e);
            }
        });

        if (_fleet.Spec.EscalationWebhook is { } url)
        {
            var (id, clock) = (escalation.Id, _settings.Clock);
            _webhook.PostAsync(url, escalation).PipeTo(
                Self,
                failure: ex => new EscalationDelivered(id, clock.GetUtcNow(), false, $"{EscalationWebhook.Redacted(url)}: {ex.GetBaseException().Message}"));
        }
    }

    private static string Describe(CorrectionAction action) => action switch
    {
        CorrectionAction.Hint => "hint for the next task",
        CorrectionAction.Restart => "restart with fresh context and a hint",
        CorrectionAction.Pause => "paused; asking for another provider or model",
        _ => "stopped and escalated to a human",
    };
}
