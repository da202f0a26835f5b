using DarkFactory.Actors.Supervision;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// The project's runs in the fleet: a run composed (<see cref="ProjectRunPlanner"/>) and asked of the agent factory,
/// the fleet's answer (<see cref="ProjectStarts"/>), its start recorded, its end read from the topics
/// (<see cref="ProjectRunLedger"/>) and recorded, and the stop of a run the project no longer wants.
/// </summary>
public sealed partial class ProjectActor
{
    private sealed record StartAnswered(int Generation, ProjectRunRequest Run, CommandResult? Result, string? Error);

    private void StartRun(ProjectRunPurpose purpose, string personaName, ProjectTask? task = null, TaskAttempt? open = null)
    {
        var s = State;
        var (run, error) = ProjectRunPlanner.Compose(s, purpose, personaName, _personas, _fleet!.Projects, task, open);
        if (run is null)
        {
            Fail(error!);
            return;
        }

        var generation = _starts.Begin(run);
        ProjectFleet.StartAsync(_factory, run, s.Created.Worktree, _id, _settings.AskTimeout)
            .PipeTo(Self, success: r => new StartAnswered(generation, r.Run, r.Result, r.Error));
    }

    private void OnStartAnswered(StartAnswered a)
    {
        var answer = _starts.Answer(a.Generation, a.Run, a.Result, a.Error, ProjectCommands.WantsToRun(_state), _settings.StartAttempts);
        switch (answer.Verdict)
        {
            case StartVerdict.Stale when answer.StopOrphan:
                _factory.Tell(new StopAgent(AgentInstance.Of(a.Run.Agent, _id))); // a start nobody waits for (paused meanwhile)
                return;
            case StartVerdict.Started:
                RunStarted(a.Run, answer.RunId!);
                return;
            case StartVerdict.Queued:
                Log.Info("Project {0}: the run of {1} is queued: {2}", _id, a.Run.Agent, answer.Message);
                return;
            case StartVerdict.WaitForCredits when State.Status != ProjectStatus.WaitingForCredits:
                Log.Info("Project {0} waits for credits: {1}", _id, answer.Message);
                Record(new ProjectWaitingForCredits(_id, Now, answer.Message, a.Run.TaskId));
                return;
            case StartVerdict.Fail:
                Fail(answer.Message);
                return;
            case StartVerdict.Retry:
                Timers.StartSingleTimer(RetryKey, new Tick(), _settings.StartRetryDelay);
                return;
        }
    }

    private void RunStarted(ProjectRunRequest run, string runId)
    {
        _runs.Open(runId, State.CurrentRunId);
        if (State.Status == ProjectStatus.WaitingForCredits)
        {
            Record(new ProjectActivated(_id, Now));
        }

        Record(
            new ProjectRunStarted(_id, Now, runId, run.Purpose, AgentInstance.Of(run.Agent, _id), run.Persona.Name, run.Task?.Id, run.Attempt, run.Handoff),
            () =>
            {
                _starts.Started();
                CheckRunEnded();
            });
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        if (e.RunId is null)
        {
            return;
        }

        if (e.Kind == LifecycleKind.Started)
        {
            // queued or waiting for credits: the layer started the run itself when a place or a route freed
            if (_starts.StartedByLayer(e, _state?.Status == ProjectStatus.WaitingForCredits))
            {
                RunStarted(_starts.Pending!, e.RunId);
            }

            return;
        }

        if (_runs.Ended(e))
        {
            CheckRunEnded(); // an end that overtakes its start's answer waits in the ledger
        }
    }

    /// <summary>When the current run has ended: record its outcome with what the daemon read from it.</summary>
    private void CheckRunEnded()
    {
        if (_state is null || _runs.TakeEnd(_state, _stopping is not null || _draining, _fleet, Now) is not { } taken)
        {
            return;
        }

        var (ended, agent) = taken;
        if (ended.Outcome == ProjectRunOutcome.Unavailable)
        {
            Record(ended, () =>
            {
                _stopping = null;
                Fail($"agent '{agent}' could not run: {ended.Detail}");
            });
            return;
        }

        Advance(ended, () => _stopping = null);
    }

    /// <summary>Stops the project's run (or the start it waits for) gracefully; its end is recorded as an interruption.</summary>
    private void StopRun(string why)
    {
        if (_starts.Cancel() is { } agent)
        {
            _factory.Tell(new StopAgent(AgentInstance.Of(agent, _id)));
        }

        if (State.CurrentRun() is { } run)
        {
            _stopping = why;
            _factory.Tell(new StopAgent(AgentInstance.Of(AgentInstance.BaseOf(run.Agent), _id)));
        }
    }
}
