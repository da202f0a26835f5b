using DarkFactory.Host.Scenarios;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>
/// Every scenario of the bundled library (scenarios/*.yaml) through the runner <c>df scenario run</c> uses: it is
/// valid and every expectation holds. A policy change that breaks one of them fails here with the timeline.
/// </summary>
public sealed class ScenarioLibraryTests
{
    public static TheoryData<string> Library()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(ScenarioFiles.Root, "scenarios"), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void The_library_holds_the_scenarios_the_brief_names()
    {
        Assert.True(Library().Count >= 4, "scenarios/ holds the bundled library");
    }

    [Theory]
    [MemberData(nameof(Library))]
    public async Task A_bundled_scenario_is_valid_and_every_expectation_holds(string file)
    {
        // arrange
        var loaded = ScenarioLoader.LoadFile(Path.Combine(ScenarioFiles.Root, "scenarios", file));
        Assert.True(loaded.Ok, string.Join('\n', loaded.Errors));

        // act
        var outcome = await ScenarioRunner.RunAsync(loaded.Scenario!);

        // assert
        Assert.True(outcome.Passed, ScenarioReport.Text(outcome));
        Assert.NotEmpty(outcome.Timeline);
    }

    [Fact]
    public async Task Fixed_steps_as_a_plain_TestKit_loop_takes_them_reach_the_same_timeline_as_jumping_to_the_next_timer()
    {
        var scenario = ScenarioLoader.LoadFile(Path.Combine(ScenarioFiles.Root, "scenarios", "crash-loop-quarantine.yaml")).Scenario!;

        var jumped = await ScenarioRunner.RunAsync(scenario);
        var stepped = await ScenarioRunner.RunAsync(scenario, fixedStep: TimeSpan.FromSeconds(1));

        Assert.True(stepped.Passed, ScenarioReport.Text(stepped));
        static List<string> Lifecycle(ScenarioOutcome o) =>
            o.Timeline.Where(e => e.Type == "AgentLifecycle").Select(e => $"{e.Offset} {e.Describe().Split(" run_id=")[0]}").ToList();
        Assert.Equal(Lifecycle(jumped), Lifecycle(stepped));
    }
}

/// <summary>The repository's root (scenarios/ and fleet.yaml), found above the test's binaries.</summary>
internal static class ScenarioFiles
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DarkFactory.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("DarkFactory.sln not found above " + AppContext.BaseDirectory);
    }
}
