using System.Text.Json;
using DarkFactory.Host.Api;
using DarkFactory.Host.Daemon;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DarkFactory.Host.Tests.Api;

/// <summary>Issue 15, finding 9: what a client is told never names the daemon's .NET types; the bearer scheme in any case.</summary>
public sealed class ApiProblemsTests
{
    [Theory]
    [InlineData("Failed to bind parameter \"Nullable<int> limit\" from \"lots\".", "Failed to bind parameter 'limit' from \"lots\".")]
    [InlineData("Required parameter \"string name\" was not provided from route.", "Required parameter 'name' was not provided from route.")]
    [InlineData("Failed to bind parameter \"System.Nullable`1[System.Int32] count\" from \"x\".", "Failed to bind parameter 'count' from \"x\".")]
    [InlineData("The JSON value could not be converted to DarkFactory.Host.Api.StartRequest.", "The JSON value could not be converted to the expected value.")]
    public void Type_names_are_scrubbed_from_details(string detail, string scrubbed)
    {
        Assert.Equal(scrubbed, ApiProblems.Scrub(detail));
    }

    [Fact]
    public void A_json_problem_says_where_not_which_type()
    {
        var e = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<StartRequest>("{\"task\": 42}", DarkFactory.Messages.DarkFactoryJson.Options));

        var detail = ApiProblems.JsonProblem(e);

        Assert.Contains("$.task", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("DarkFactory", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Bearer abc", "abc")]
    [InlineData("bearer abc", "abc")]
    [InlineData("BEARER  abc ", "abc")]
    [InlineData("Bearer\tabc", "abc")]
    [InlineData("Basic abc", "")]
    [InlineData("Bearerabc", "")]
    [InlineData("Bearer", "")]
    [InlineData("", "")]
    public void The_bearer_scheme_is_read_in_any_case(string header, string token)
    {
        Assert.Equal(token, ApiAuth.BearerToken(header));
    }

    [Fact]
    public void Stored_tasks_are_bounded_a_long_one_kept_as_its_beginning()
    {
        var tasks = new RunTasks(capacity: 3);
        var huge = new string('t', 10 * 1024 * 1024);

        for (var i = 0; i < 10; i++)
        {
            tasks.Record($"r{i}", huge);
        }

        Assert.True(tasks.HeldChars <= 3 * (RunTasks.PreviewChars + 40), $"{tasks.HeldChars} characters held");
        Assert.Null(tasks.Find("r0"));
        Assert.StartsWith(new string('t', 100), tasks.Find("r9"), StringComparison.Ordinal);
        Assert.EndsWith("(10485760 bytes in all)", tasks.Find("r9"), StringComparison.Ordinal);
        Assert.Equal("short", Record(tasks, "short"));
    }

    [Fact]
    public async Task A_cluster_singleton_that_is_moving_is_a_503_with_retry_after_and_the_reason()
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(new DarkFactoryOptions()).BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        var moving = new SingletonUnavailable("scheduler", "n1", "the scheduler singleton is moving from node n1, which this node does not reach; try again in a few seconds", 5);

        await ApiProblems.Guard(context, () => Task.FromResult(FactoryClient.Answer<ScheduleSnapshot>(moving)));

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Equal("5", context.Response.Headers.RetryAfter.ToString());
        context.Response.Body.Position = 0;
        var problem = await JsonSerializer.DeserializeAsync<JsonElement>(context.Response.Body);
        Assert.Equal(moving.Reason, problem.GetProperty("detail").GetString());
        Assert.Equal("singleton moving", problem.GetProperty("title").GetString());
    }

    [Fact]
    public void An_answer_is_read_as_asked_a_failure_thrown_as_its_cause()
    {
        var snapshot = new ScheduleSnapshot([]);

        Assert.Same(snapshot, FactoryClient.Answer<ScheduleSnapshot>(snapshot));
        Assert.Equal("journal down", Assert.Throws<InvalidOperationException>(() => FactoryClient.Answer<ScheduleSnapshot>(new Akka.Actor.Status.Failure(new InvalidOperationException("journal down")))).Message);
        Assert.Throws<ArgumentException>(() => FactoryClient.Answer<ScheduleSnapshot>(new ReviewsSnapshot([])));
    }

    private static string? Record(RunTasks tasks, string task)
    {
        tasks.Record("s", task);
        return tasks.Find("s");
    }
}
