namespace DarkFactory.Actors.Agents;

/// <summary>
/// An AI CLI that printed its final result and then did not exit (a hung MCP server, a hook, a child holding
/// its pipes open) has finished its work: after <see cref="AgentRun.ResultGrace"/> its run is stopped (SIGTERM,
/// the agent's grace, SIGKILL) and ends as the result said, not as the signal did: a success is an exit with
/// code 0, a failure one with code 1 (a crash, as a CLI that exits 1 on an error). The signal is kept in the
/// exit's reason and the run's log. Shared by the ProcessActor and the scenario's fake runs.
/// </summary>
public static class AfterResult
{
    /// <summary>The run's exit as the layer and every consumer see it, from the process's real <paramref name="actual"/> end.</summary>
    public static ExitInfo Exit(bool success, TimeSpan grace, ExitInfo actual) =>
        new(success ? 0 : 1, null, actual.At, $"ended {Seconds(grace)} after its final result ({(success ? "success" : "failure")}): the CLI did not exit; its process {AgentCrashedException.Describe(actual with { Reason = null })}");

    /// <summary>Why the run is being stopped (the log and the daemon's log).</summary>
    public static string StopReason(TimeSpan grace) => $"no exit {Seconds(grace)} after its final result";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
}
