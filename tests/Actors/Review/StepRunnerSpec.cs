using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Review;
using DarkFactory.Messages.Review;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>One slow step at a time, its result back as a message; a cancelled or superseded step's result is stale.</summary>
public sealed class StepRunnerSpec(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly ReviewCompleted Event = new("r1", DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task A_steps_result_comes_back_tagged_and_is_accepted_for_its_subject_only()
    {
        using var runner = new StepRunner<ReviewStage>();
        runner.Run(TestActor, "r1", ReviewStage.Scan, _ => Task.FromResult<StepResult>(new StepResult.Recorded(Event)));
        Assert.True(runner.Busy);

        var done = await ExpectMsgAsync<StepRunner<ReviewStage>.Done>();

        Assert.Equal((ReviewStage.Scan, (StepResult)new StepResult.Recorded(Event)), (done.Stage, done.Result));
        Assert.False(runner.Accept(done, "r2")); // the review it belonged to is no longer the active one
        Assert.True(runner.Accept(done, "r1"));
        Assert.False(runner.Busy);
    }

    [Fact]
    public async Task An_exception_of_a_step_comes_back_as_its_failure()
    {
        using var runner = new StepRunner<ReviewStage>();
        runner.Run(TestActor, "r1", ReviewStage.Gates, _ => throw new IOException("disk gone"));

        var done = await ExpectMsgAsync<StepRunner<ReviewStage>.Done>();

        Assert.Equal("IOException: disk gone", Assert.IsType<StepResult.Failed>(done.Result).Reason);
    }

    [Fact]
    public async Task A_cancelled_step_is_told_cancellation_and_its_result_is_not_accepted()
    {
        using var runner = new StepRunner<ReviewStage>();
        var started = new TaskCompletionSource();
        var observed = new TaskCompletionSource<bool>();
        runner.Run(TestActor, "r1", ReviewStage.Agent, async ct =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                observed.SetResult(ct.IsCancellationRequested);
            }

            return new StepResult.Recorded(Event);
        });

        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        runner.Cancel();

        Assert.True(await observed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(runner.Busy);
        Assert.False(runner.Accept(await ExpectMsgAsync<StepRunner<ReviewStage>.Done>(), "r1"));
    }
}
