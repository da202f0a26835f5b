namespace DarkFactory.Actors.Processes;

/// <summary>
/// Pure: how a run is confined around the command the launch planner built. Inside out: the program;
/// under prlimit and setsid as before; and first of all a shell line that joins the run's cgroup
/// (<see cref="RunCgroups"/>) before anything of the run exists, then execs the rest (one exec, no fork:
/// the run's pid stays the process group leader the ProcessActor signals).
/// </summary>
public static class RunConfinement
{
    private const string Shell = "/bin/sh";

    /// <summary>The program and arguments that start the run: setsid and the rest, behind the cgroup join when there is a cgroup.</summary>
    public static (string File, List<string> Arguments) Wrap(string setsid, IReadOnlyList<string> rest, string? cgroup)
    {
        if (cgroup is null)
        {
            return (setsid, [.. rest]);
        }

        // "$1" is the cgroup; a failed join (the cgroup vanished) leaves the run to the marker sweep, as without one
        const string script = "echo $$ > \"$1/cgroup.procs\" 2>/dev/null; shift; exec \"$@\"";
        return (Shell, ["-c", script, "df-run", cgroup, setsid, .. rest]);
    }
}
