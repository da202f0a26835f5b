using System.Text.Json;
using DarkFactory.Actors.Processes;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 15, finding 9: a run killed with its daemon gets its end in history when the next daemon starts, and
/// <c>df history</c> shows it. Both ways a daemon dies under its runs: SIGKILL with the lifeline (the guard ends the
/// runs; the recovering history closes them) and SIGKILL of the daemon and its guard together (the run lives on;
/// the start-up sweep finds it by its marker, kills it and sends its end). Either way the killed run has exactly
/// one end, <c>killed</c>, written before the new daemon's first run of the agent, and its private run directory
/// (HOME, TMPDIR, task file) does not outlive the next start.
/// </summary>
[Collection("daemon")]
public sealed class KilledRunHistoryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string Fleet => $"""
        version: 1
        agents:
          - name: keeper
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 2s
        """;

    [Theory]
    [InlineData(true)] // the lifeline ends the run with the daemon
    [InlineData(false)] // the run outlives the daemon and the next start sweeps it
    public async Task A_run_killed_with_the_daemon_has_its_killed_end_in_history_after_the_next_start(bool lifeline)
    {
        await using var daemon = new DaemonProcess(Fleet);
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
        string? killedRun = null;
        await DaemonProcess.Until(
            async () => (killedRun = Runs(await History(daemon), "started").SingleOrDefault()) is not null,
            Wait,
            "the first run's start in history");

        var runDirectory = Path.Combine(RunRoot(daemon.DaemonId), "keeper", killedRun!);
        Assert.True(Directory.Exists(runDirectory), $"the run's directory {runDirectory}");

        if (lifeline)
        {
            daemon.KillHard();
        }
        else
        {
            daemon.KillHardWithoutLifeline();
        }

        await daemon.StartAsync();
        await DaemonProcess.Until(
            async () => Runs(await History(daemon), "started").Count == 2 && (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running",
            Wait,
            "keeper running again, a second start in history");

        Assert.False(Directory.Exists(runDirectory), $"the killed run's directory {runDirectory} is left after the next start");
        var history = (await History(daemon)).ToList();
        output.WriteLine(string.Join("\n", history.Select(e => e.ToString())));
        var ends = history.Where(e => Run(e) == killedRun && e.GetProperty("kind").GetString() != "started").ToList();
        var end = Assert.Single(ends);
        Assert.Equal("killed", end.GetProperty("kind").GetString());
        Assert.Contains("the daemon stopped while this run was going", end.GetProperty("detail").GetString());
        var secondStart = history.FindIndex(e => e.GetProperty("kind").GetString() == "started" && Run(e) != killedRun);
        Assert.True(history.IndexOf(end) < secondStart, "the killed run's end is written before the next run starts");

        // the operator's view: `df history keeper` lists the killed run with its end
        var (exit, text, stderr) = await daemon.Df("history", "keeper");
        Assert.True(exit == 0, stderr);
        output.WriteLine(text);
        var line = Assert.Single(text.Split('\n'), l => l.Contains("killed", StringComparison.Ordinal));
        Assert.Contains(killedRun!, line, StringComparison.Ordinal);

        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    /// <summary>The daemon's run root as it computes it (the daemon runs with this process's environment).</summary>
    private static string RunRoot(string daemonId) => RunDirectories.Root(
        daemonId,
        new Dictionary<string, string?>
        {
            [RunDirectories.OverrideVariable] = Environment.GetEnvironmentVariable(RunDirectories.OverrideVariable),
            ["XDG_RUNTIME_DIR"] = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"),
        });

    private static async Task<IEnumerable<JsonElement>> History(DaemonProcess daemon) =>
        (await daemon.Json("history", "keeper", "--json")).EnumerateArray().ToList();

    private static List<string> Runs(IEnumerable<JsonElement> history, string kind) =>
        history.Where(e => e.GetProperty("kind").GetString() == kind).Select(Run).OfType<string>().ToList();

    private static string? Run(JsonElement e) => e.TryGetProperty("run_id", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
}
