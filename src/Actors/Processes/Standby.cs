namespace DarkFactory.Actors.Processes;

/// <summary>
/// A standby run: the next run of an agent made ahead of the current run's end, its whole exec chain (cgroup
/// join, <c>setsid</c>, bubblewrap) already done, waiting in a tiny shell on its stdin. On the current run's
/// crash the layer releases it with one pipe write (<see cref="Go"/>) and the shell execs the program at once:
/// a restart's exit → exec is then the daemon's own hop and one exec, not the 20–60 ms of the chain. Anything
/// else on its stdin (the daemon gone: end of file) makes the shell exit without running the program.
/// The run is a run in every other respect: its own run id, marker, cgroup and run directory, swept like any.
/// </summary>
public static class Standby
{
    /// <summary>What releases a standby: the first line of its stdin (the run's own stdin follows it).</summary>
    public const string Go = "go\n";

    /// <summary>The command behind the standby's shell: <c>read</c> takes one line (byte by byte from a pipe), nothing of the run's stdin after it.</summary>
    public static IReadOnlyList<string> Stub(IReadOnlyList<string> command) =>
        ["/bin/sh", "-c", "read -r go && [ \"$go\" = go ] && exec \"$@\"", "df-standby", .. command];
}
