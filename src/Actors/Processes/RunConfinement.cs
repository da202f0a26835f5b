namespace DarkFactory.Actors.Processes;

/// <summary>
/// Pure: how a run is confined around the command the launch planner built. Inside out: the program; in
/// the sandbox (<see cref="SandboxPlanner"/>); under prlimit and setsid as before; and first of all a shell
/// line that joins the run's cgroup (<see cref="RunCgroups"/>) before anything of the run exists, then execs
/// the rest (one exec, no fork: the run's pid stays the process group leader the ProcessActor signals).
/// <para>A sandboxed run in a cgroup (the default) has nothing more: a stop's SIGTERM goes to the cgroup's
/// processes but bubblewrap's monitor (<see cref="LaunchPlan.TermByCgroup"/>), bubblewrap's init ignores it as
/// every namespace init does, the monitor exits with the program, and the cgroup sweep at the run's end kills
/// what the program left. Without a cgroup the stop can only signal the process group, so the wrappers ignore
/// SIGTERM (bubblewrap would die of it at once and take the sandbox with it), the program gets it back by
/// default (<c>env --default-signal=TERM</c>), and a reaper kills what the program left in the sandbox.
/// Those two execs (~1 ms each here) are what the cgroup saves per spawn.</para>
/// </summary>
public static class RunConfinement
{
    private const string Shell = "/bin/sh";
    private static readonly string Env = Executables.Find("env") ?? "/usr/bin/env";

    /// <summary>
    /// The command line inside bubblewrap, or null when the run is not sandboxed (the agent's <c>sandbox: off</c>,
    /// or <c>auto</c> on a machine that cannot).
    /// </summary>
    /// <exception cref="AgentMisconfiguredException"><c>sandbox: required</c> or <c>network: closed</c> on a machine that cannot sandbox.</exception>
    /// <param name="tracked">A cgroup tracks the run: no SIGTERM shield and no reaper (see the class summary).</param>
    /// <param name="program">The program whose directory the sandbox must show (a standby's command starts with its shell); null: the command's first word.</param>
    public static List<string>? Sandbox(AgentSpec spec, DaemonContext daemon, string workdir, string runDirectory, IReadOnlyDictionary<string, string> env, IReadOnlyList<string> command, bool tracked = false, string? program = null)
    {
        var support = daemon.Sandbox ?? SandboxSupport.None;
        var closed = spec.Network == NetworkAccess.Closed;
        if (spec.Sandbox == SandboxMode.Off)
        {
            return closed ? throw new AgentMisconfiguredException(spec.Name, "network: closed needs the sandbox, and this agent has sandbox: off") : null;
        }

        if (!support.Available || support.Bwrap is null)
        {
            if (spec.Sandbox == SandboxMode.Required || closed)
            {
                var key = spec.Sandbox == SandboxMode.Required ? "sandbox: required" : "network: closed";
                throw new AgentMisconfiguredException(spec.Name, $"{key}, but runs cannot be sandboxed on this machine: {support.Reason}");
            }

            return null;
        }

        if (closed && !support.NetworkIsolation)
        {
            throw new AgentMisconfiguredException(spec.Name, "network: closed, but bubblewrap cannot create a network namespace on this machine");
        }

        var request = new SandboxRequest(
            workdir,
            runDirectory,
            [daemon.DataDirectory, daemon.TempRoot, .. daemon.Hidden],
            Network: !closed,
            env.GetValueOrDefault("PATH"),
            [program ?? command[0]])
        {
            Shared = LoginPaths(spec.Cli, env.GetValueOrDefault("HOME"), daemon.Hidden),
        };
        return [support.Bwrap, .. SandboxPlanner.Arguments(request, Native.IsRoot), "--", .. tracked ? command : SandboxPlanner.Reaped([Env, "--default-signal=TERM", .. command])];
    }

    /// <summary>
    /// Of the working directories the fleet's agents declare, those a run must not see: every one but the run's own
    /// (its declared directory and the one it works in, e.g. its worktree), a directory it lives in and one that lives
    /// in it. Each gets an empty tmpfs in the run's sandbox like the data directory (<see cref="SandboxRequest.Hidden"/>):
    /// one agent cannot read another's checkout, its uncommitted work or a secret file it keeps there.
    /// </summary>
    public static IReadOnlyList<string> OtherWorkdirs(IEnumerable<string?> own, IEnumerable<string> fleet)
    {
        var mine = own.OfType<string>().Select(SandboxPlanner.Full).ToList();
        return fleet.Select(SandboxPlanner.Full).Distinct(StringComparer.Ordinal)
            .Where(w => w != "/" && !mine.Any(m => SandboxPlanner.Under(w, m) || SandboxPlanner.Under(m, w)))
            .ToList();
    }

    /// <summary>
    /// An AI CLI without a provider keeps the operator's own login (its adapter leaves HOME as it is): its
    /// CLI's own directories in that HOME are shared with the sandbox, read-write (CLIs refresh their
    /// tokens), and nothing else of the HOME.
    /// </summary>
    public static IReadOnlyList<string> LoginPaths(string cli, string? home, IReadOnlyList<string> hidden)
    {
        if (home is null || !hidden.Contains(home))
        {
            return [];
        }

        string[] names = cli switch
        {
            CliCatalog.Claude => [".claude", ".claude.json"],
            CliCatalog.Codex => [".codex"],
            CliCatalog.OpenCode => [".config/opencode", ".local/share/opencode", ".local/state/opencode"],
            CliCatalog.Gemini => [".gemini"],
            _ => [],
        };
        return names.Select(n => Path.Combine(home, n)).ToList();
    }


    /// <summary>The program and arguments that start the run: setsid and the rest, behind the cgroup join, or the SIGTERM shield of a sandboxed run without one.</summary>
    public static (string File, List<string> Arguments) Wrap(string setsid, IReadOnlyList<string> rest, string? cgroup, bool sandboxed = false)
    {
        if (cgroup is null && !sandboxed)
        {
            return (setsid, [.. rest]);
        }

        // "$1" is the cgroup ("-": none); a failed join (the cgroup vanished) leaves the run to the marker sweep, as without one
        var script = (cgroup is null ? string.Empty : "echo $$ > \"$1/cgroup.procs\" 2>/dev/null; ")
            + (sandboxed && cgroup is null ? "trap '' TERM; " : string.Empty)
            + "shift; exec \"$@\"";
        return (Shell, ["-c", script, "df-run", cgroup ?? "-", setsid, .. rest]);
    }
}
