using DarkFactory.Actors.Output;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;

namespace DarkFactory.Actors.Review;

/// <summary>What begins a review: the fleet's schedule, its cron (missed firings by <see cref="CatchUp"/>), <c>df review
/// run</c>, and the deadline that bounds it.</summary>
public sealed partial class CompoundReviewActor
{
    // ---------------------------------------------------------------- triggers: the fleet, the cron, df review run

    private void OnFleet(FleetSpec fleet)
    {
        var first = _spec is null;
        _spec = ReviewOverrides.Apply(fleet.CompoundReview, _dependencies.Environment);
        _fleet = fleet;
        _secrets = new Redactor(FleetSecrets.Of(fleet, _dependencies.Environment, LayerServices.ReadFile));
        ArmCron();
        if (first && Active is { } active)
        {
            ArmDeadline(active);
            Next();
        }

        if (first)
        {
            CatchUpMissed();
        }
    }

    private CronSchedule? Schedule() =>
        _spec is { Enabled: true } spec && CronSchedule.TryParse(spec.Schedule, spec.Timezone, out var cron, out _) ? cron : null;

    /// <summary>On start: firings missed while the daemon was down, per compound_review.catch_up (one review for all of them).</summary>
    private void CatchUpMissed()
    {
        if (Schedule() is { } cron && _state.MissedFiring(cron, _spec!, Now) is { } firing)
        {
            Log.Info("Compound review on start: {0} ({1})", firing.Outcome, firing.Detail);
            if (firing.Outcome == FiringOutcome.CaughtUp)
            {
                Begin(ReviewTrigger.CatchUp, firing: firing);
            }
            else
            {
                RecordFiring(firing);
            }
        }
    }

    private void ArmCron()
    {
        Cron.Cancel(CronKey);
        _cronDue = Schedule()?.Next(Now);
        if (_cronDue is { } due)
        {
            Cron.Arm(CronKey, due, due);
        }
    }

    private void OnCron(DateTimeOffset due)
    {
        if (Active is { } running)
        {
            Log.Warning("Scheduled compound review skipped: review {0} is still running", running.Started.ReviewId);
            RecordFiring(new ReviewScheduleFired(due, Now, FiringOutcome.Skipped, running.Started.ReviewId, $"review {running.Started.ReviewId} was still running"));
        }
        else
        {
            Begin(ReviewTrigger.Schedule, firing: new ReviewScheduleFired(due, Now, FiringOutcome.Started));
        }

        ArmCron();
    }

    private void OnRun(RunReview cmd)
    {
        if (_spec is null)
        {
            Sender.Tell(new ReviewAccepted(false, "the fleet is not applied yet; try again in a moment"));
        }
        else if (Active is { } running)
        {
            Sender.Tell(new ReviewAccepted(false, $"review {running.Started.ReviewId} is still running", running.Started.ReviewId));
        }
        else
        {
            Begin(cmd.Trigger, Sender);
        }
    }

    /// <summary>Starts a review; the requester (if any) is answered once ReviewStarted is in the journal. A cron firing is recorded (with the review's id) just before it.</summary>
    private void Begin(ReviewTrigger trigger, IActorRef? replyTo = null, ReviewScheduleFired? firing = null)
    {
        var spec = _spec!;
        var at = Now;
        var id = at.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        _recovered = false;
        if (firing is not null)
        {
            RecordFiring(firing with { ReviewId = id });
        }

        Record(new ReviewStarted(id, at, trigger, spec.Repo, spec.BaseBranch, spec.Agent, spec.CreatePrs, spec.MaxDuration), () =>
        {
            replyTo?.Tell(new ReviewAccepted(true, $"review {id} started", id));
            ArmDeadline(Active!);
            Next();
        });
    }

    private void ArmDeadline(ReviewRecord r)
    {
        var delay = r.Started.At + r.Started.MaxDuration - Now;
        Timers.StartSingleTimer(DeadlineKey, new Deadline(r.Started.ReviewId), delay < TimeSpan.Zero ? TimeSpan.Zero : delay);
    }

    private void OnDeadline(Deadline d)
    {
        if (Active is not { } r || r.Started.ReviewId != d.ReviewId)
        {
            return;
        }

        _work.Cancel();
        if (r.Task is { } task && r.Finished is null && r.Runs is { Count: > 0 })
        {
            _factory.Tell(new StopAgent(task.Agent, Requester.CompoundReview));
        }

        Fail(r, ReviewStateRules.StepName(r), $"max_duration {r.Started.MaxDuration} exceeded; the review was stopped");
    }
}
