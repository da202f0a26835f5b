using DarkFactory.Actors.Agents;

namespace DarkFactory.Actors.Supervision;

/// <summary>An agent's standby run (<see cref="Processes.Standby"/>): its actor, the run, and the request it was made for.</summary>
public sealed record StandbyRun(AgentRun Run, IActorRef Child, RunRequest Request)
{
    /// <summary>The fleet's working directories its sandbox hides (<see cref="RunLauncher.Launch"/>): another revision's list, another standby.</summary>
    public IReadOnlyList<string> Workdirs { get; init; } = [];
}

/// <summary>
/// Pure: which runs get a standby, and when a standby may be released for the run about to start. A standby is
/// made only for a run that would start exactly the same way again: a plain command (no route, no worktree, no
/// conversation), the agent's own declared task, no hint, no on-demand task or ids; released only for a request
/// of the very declaration it was made from (a changed declaration is another object: the standby is discarded).
/// </summary>
public static class StandbyRules
{
    /// <summary>Whether the next run of <paramref name="request"/> may wait as a standby; <paramref name="type"/> is the agent's restart type (its layer's default resolved).</summary>
    public static bool Eligible(RunRequest request, RestartType type) =>
        type != RestartType.Temporary
        && request.Agent.Cli == CliCatalog.Command
        && !request.Agent.Isolated()
        && request is { Task: null, Spilled: null, Workdir: null, TaskId: null, ProjectId: null, Hint: null, Resume: null };

    /// <summary>Whether <paramref name="standby"/> can be the run <paramref name="request"/> asks for.</summary>
    public static bool Matches(StandbyRun standby, RunRequest request, RestartType type) =>
        Eligible(request, type) && ReferenceEquals(standby.Request.Agent, request.Agent);

    /// <summary>How long after a run's start its standby is made: a crash before the agent's min uptime backs off (a standby would be discarded), one after it restarts at once.</summary>
    public static TimeSpan Delay(AgentSpec agent) => agent.MinUptime;

    /// <summary>
    /// Whether a standby that is due waits: while <paramref name="starting"/> runs of its layer are launched and not yet
    /// reported alive (a cold start's, a one-for-all restart's), their spawns go first; the standby is made when the
    /// last of them is (a standby is only ever early, never needed for a run to start).
    /// </summary>
    public static bool WaitsForStarts(int starting) => starting > 0;
}
