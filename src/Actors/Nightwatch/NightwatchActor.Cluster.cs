namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// Nightwatch split across a cluster (issue 17): a node's windows propose the rungs their ladder reaches and announce
/// the ones recorded; the cluster's decisions record or refuse them, carry them out, and hold the pauses wherever the
/// agent runs next.
/// </summary>
public sealed partial class NightwatchActor
{
    // ---------------------------------------------------------------- a node's windows

    /// <summary>
    /// The rung the watch's ladder reached goes to the decisions (the watch has fired it: its cooldown and climb go on
    /// here, where the agent's lines are); the watch is judged again at once, as after a correction recorded here. A
    /// pause holds the watch's ladder until its end here too (the decisions start the agent again).
    /// </summary>
    private void Propose(AgentWatch w, CorrectionDue due, DateTimeOffset now)
    {
        _settings.Decider!.Tell(due, Self);
        if (due.Correction.Action == CorrectionAction.Pause)
        {
            Timers.StartSingleTimer("resume-" + w.Agent, new Resume(w.Agent), _fleet.Spec.PauseFor);
        }

        Act(w, Assess(w, now), now);
    }

    /// <summary>The decisions' answer: a recorded correction is published and written in the agent's history on its node.</summary>
    private void Decided(CorrectionDecided d)
    {
        var e = d.Due.Correction;
        if (!d.Recorded)
        {
            Log.Info("Agent [{0}]: {1} not carried out: {2}", e.Agent, Describe(e.Action), d.Refused);
            return;
        }

        Announce(e);
        if (e.Action == CorrectionAction.Pause)
        {
            Topics.Publish(new RouteAvoid(e.Agent, e.Provider, d.Due.Model, e.At + _fleet.Spec.PauseFor, e.Reason));
        }

        if (d.Escalation is { } escalation)
        {
            Topics.Publish(escalation);
        }
    }

    // ---------------------------------------------------------------- the cluster's decisions

    /// <summary>
    /// A node's windows propose a correction: recorded first, then carried out through the factory (which reaches the
    /// agent's node) and answered to that node; refused when the agent's same rung was recorded within the cooldown or
    /// its pause holds (<see cref="NightwatchState.Refusal"/>: the agent moved and its new node climbed from scratch, or
    /// the proposal came twice).
    /// </summary>
    private void Decide(CorrectionDue due)
    {
        var node = Sender;
        var proposed = due.Correction;
        if (_state.Refusal(proposed, _fleet.Spec.Cooldown, _fleet.Spec.PauseFor) is { } why)
        {
            Log.Info("Agent [{0}]: {1} proposed by node {2} refused: {3}", proposed.Agent, Describe(proposed.Action), due.Node, why);
            node.Tell(new CorrectionDecided(due, false, Refused: why), Self);
            return;
        }

        PersistAsync(proposed, e =>
        {
            Persisted(e);
            Log.Warning("Agent [{0}] on node {1}: {2} ({3})", e.Agent, due.Node, Describe(e.Action), e.Reason);
            CarryOut(e, due.Model, due.Components, (node, due));
        });
    }

    /// <summary>
    /// An agent's start, on any node: its pending hint is used; a start while its pause holds (the agent placed again on
    /// another node, which started it; a firing) is stopped until the pause ends, unless an operator or Nightwatch asked for it.
    /// </summary>
    private void DecisionsLifecycle(AgentLifecycle e)
    {
        if (e.Kind != LifecycleKind.Started)
        {
            return;
        }

        if (e.By is not (Requester.Operator or Requester.Nightwatch) && _state.PausesInForce(_fleet.Spec.PauseFor, Now).TryGetValue(e.Agent, out var until))
        {
            Log.Info("Agent [{0}] started while its pause holds (until {1:u}): stopping it until the pause ends", e.Agent, until);
            _factory.Tell(new StopAgent(e.Agent, Requester.Nightwatch), Self); // its end is armed (when recorded, or restored)
            return;
        }

        if (_state.PendingHints.ContainsKey(e.Agent))
        {
            PersistAsync(new DriftHintUsed(e.Agent, e.At, e.RunId), Persisted);
        }
    }

    /// <summary>A pause is over: the agent starts again wherever it is placed, unless a later correction (a stop) followed it.</summary>
    private void DecisionsResume(string agent)
    {
        if (_fleet.Watched(agent) && _state.LastCorrection(agent) is { Action: CorrectionAction.Pause })
        {
            Log.Info("Agent [{0}]: pause over, starting it again", agent);
            _factory.Tell(new StartAgent(agent, By: Requester.Nightwatch), Self);
        }
    }
}
