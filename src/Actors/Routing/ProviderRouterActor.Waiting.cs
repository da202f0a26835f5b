namespace DarkFactory.Actors.Routing;

/// <summary>The router's waiting runs and its polling of limited providers, and the routes Nightwatch asked it to avoid.</summary>
public sealed partial class ProviderRouterActor
{
    // ---------------------------------------------------------------- Nightwatch's severe drift: avoid a route

    private void OnAvoid(RouteAvoid avoid)
    {
        if (avoid.Provider is null && avoid.Model is null)
        {
            Log.Info("Agent [{0}]: a route-avoid names neither a provider nor a model; nothing to avoid", avoid.Agent);
            return;
        }

        var until = avoid.Until + _fleet.Router.AvoidFor;
        if (until <= Now)
        {
            return;
        }

        Persist(new RouteAvoidRecorded(avoid.Agent, avoid.Provider, avoid.Model, until, avoid.Reason, Now), Persisted);
    }

    /// <summary>Drops expired avoid entries, re-publishes the board and waits for the next expiry (also after recovery).</summary>
    private void OnAvoidExpired()
    {
        _state.DropExpiredAvoids(Now);
        Publish();
        ArmAvoidTimer();
        if (_waiting.Count > 0)
        {
            ResumeWaiting(BuildBoard());
        }
    }

    private void ArmAvoidTimer()
    {
        if (_state.NextAvoidExpiry() is { } at)
        {
            Timers.StartSingleTimer(AvoidTimer, AvoidExpired.Instance, at > Now ? at - Now : TimeSpan.Zero);
        }
        else
        {
            Timers.Cancel(AvoidTimer);
        }
    }

    // ---------------------------------------------------------------- waiting and polling

    private void OnAwait(AwaitRoute wait)
    {
        Log.Info("Agent [{0}] waits for a route: {1}", wait.Agent, wait.Reason);
        _waiting.Add(wait);
        if (!Timers.IsTimerActive(PollTimer))
        {
            Timers.StartPeriodicTimer(PollTimer, Poll.Instance, _fleet.Router.PollingInterval);
        }

        ArmChangeTimer(BuildBoard());
    }

    /// <summary>A limit reset, a breaker may be probed or a budget window ended: the board every layer routes against says so now, not at the next event.</summary>
    private void OnBoardChange()
    {
        Publish();
        if (_waiting.Count > 0)
        {
            OnPoll();
        }
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
        foreach (var provider in _waiting.ProbesDue(_fleet, board))
        {
            _settings.Probe(provider, CancellationToken.None).PipeTo(
                Self,
                success: ok => new ProbeAnswered(provider.Name, ok),
                failure: _ => new ProbeAnswered(provider.Name, false));
        }

        ResumeWaiting(board);
    }

    private void OnProbeAnswered(ProbeAnswered answer)
    {
        _waiting.Answered(answer.Provider);
        if (answer.Ok == true && _state.Health.Condition(answer.Provider) is { State: ProviderState.Limited })
        {
            Log.Info("Provider [{0}] answered the router's probe: limit lifted", answer.Provider);
            Persist(new ProviderLimitRecorded(answer.Provider, Now, "answered the router's probe", Now), e =>
            {
                Persisted(e);
                ResumeWaiting(BuildBoard());
            });
        }
    }

    private void ResumeWaiting(ProviderBoard board)
    {
        foreach (var (wait, route) in _waiting.Resumable(board, _policy, _agents))
        {
            Log.Info("Agent [{0}] resumed: a route returned ({1})", wait.Agent, route.Provider);
            _settings.Factory?.Tell(new ResumeAgent(wait.Agent, wait.Task));
        }

        if (_waiting.Count == 0)
        {
            Timers.Cancel(PollTimer);
        }
    }

    /// <summary>
    /// Wakes the router when a limit resets, a breaker may be probed or a budget window ends, to publish the board
    /// again (the layers' copy has no clock: a provider limited until 03:00 stays so there until it is published).
    /// </summary>
    private void ArmChangeTimer(ProviderBoard board)
    {
        var now = Now;
        if (BoardBuilder.NextChange(_state.Health.NextChange(), board) is { } t && t > now)
        {
            Timers.StartSingleTimer(ChangeTimer, BoardChange.Instance, t - now + TimeSpan.FromMilliseconds(50));
        }
    }
}
