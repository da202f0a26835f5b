namespace DarkFactory.Actors.Processes;

/// <summary>Everything needed to start one run of an agent; built by <see cref="LaunchPlanner"/>, executed by the ProcessActor.</summary>
public sealed record LaunchPlan(
    string FileName,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    string WorkingDirectory,
    string? Stdin,
    string RunMarker,
    string? TempDirectory)
{
    public IEnumerable<string> Argv => Arguments.Prepend(FileName);

    /// <summary>How the process is started: this argv, environment (nothing inherited) and working directory, its three streams piped.</summary>
    public System.Diagnostics.ProcessStartInfo StartInfo() => Piped(FileName, Arguments, Environment, WorkingDirectory);

    /// <summary>A process (a run's, a gate's) with exactly this argv, environment (nothing inherited) and working directory, its three streams piped.</summary>
    public static System.Diagnostics.ProcessStartInfo Piped(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in arguments)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        return psi;
    }

    /// <summary>Config files (absolute paths inside <see cref="TempDirectory"/>) written before the process starts.</summary>
    public IReadOnlyList<Adapters.RunFile> Files { get; init; } = [];

    /// <summary>The run's cgroup (<see cref="RunCgroups"/>), created before the process starts; null where none is available.</summary>
    public string? Cgroup { get; init; }

    /// <summary>The run starts inside bubblewrap (<see cref="SandboxPlanner"/>).</summary>
    public bool Sandboxed { get; init; }

    /// <summary>The CLI conversation the run restores before its spawn and keeps at its end (<see cref="RunSessions"/>); null: none.</summary>
    public RunSession? Session { get; init; }

    /// <summary>
    /// A stop's SIGTERM goes to every process of the run's cgroup but the first (bubblewrap's monitor, which
    /// exits with the program) instead of to the process group: a sandboxed run in a cgroup, whose wrappers
    /// then need no SIGTERM shield (<see cref="RunConfinement"/>).
    /// </summary>
    public bool TermByCgroup => Sandboxed && Cgroup is not null;
}

/// <summary>An agent whose declaration cannot be run as it is (bad workdir, missing secret, missing CLI): not restarted.</summary>
public sealed class AgentMisconfiguredException(string agent, string reason) : Exception($"agent '{agent}': {reason}")
{
    public string Agent { get; } = agent;
    public string Reason { get; } = reason;
}

/// <summary>One run could not be started for a reason of its own (E2BIG, out of memory, too many processes): that run failed, the agent stays available.</summary>
public sealed class RunStartFailedException(string agent, string runId, string reason) : Exception($"agent '{agent}' run {runId}: {reason}")
{
    public string Agent { get; } = agent;
    public string RunId { get; } = runId;
}

/// <summary>Where the daemon keeps its things, and who it is (the run marker prefix).</summary>
public sealed record DaemonContext(string DaemonId, string DataDirectory)
{
    public string LogDirectory => Path.Combine(DataDirectory, "logs");

    /// <summary>The runs' private directories: outside the data directory (<see cref="RunDirectories"/>).</summary>
    public string TempRoot { get; init; } = RunDirectories.Root(DaemonId, new Dictionary<string, string?>());

    /// <summary>The API as runs see it (URL, per-run tokens); null: runs get no API access.</summary>
    public RunApi? Api { get; init; }

    /// <summary>The cgroups runs are put in (detected at start); <see cref="RunCgroups.Unavailable"/>: the run-marker sweep only.</summary>
    public RunCgroups Cgroups { get; init; } = RunCgroups.Unavailable;

    /// <summary>Whether runs can be sandboxed here (detected at start); null: no sandbox.</summary>
    public SandboxSupport? Sandbox { get; init; }

    /// <summary>What a sandboxed run must not see besides the data directory and the run root: the operator's HOME, the review worktrees.</summary>
    public IReadOnlyList<string> Hidden { get; init; } = [];

    /// <summary>
    /// Appended to the control plane's persistence ids (<c>scheduler@n2</c>): a cluster node's own journal in the
    /// shared store until the control plane runs as one cluster singleton; empty on a single node (ids unchanged).
    /// </summary>
    public string PersistenceScope { get; init; } = "";
}

/// <summary>
/// Pure planning of a run: argv (with setsid and prlimit wrappers, the sandbox and the cgroup join), the allowlisted environment with the
/// fleet's values and resolved secrets, working directory and run marker.
/// </summary>
public static class LaunchPlanner
{
    /// <summary>The only variables of the daemon's environment an agent inherits.</summary>
    public static readonly IReadOnlySet<string> Allowlist = new HashSet<string>(StringComparer.Ordinal)
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM", "COLORTERM",
        "DOTNET_ROOT", "NODE_PATH", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "SSL_CERT_FILE", "SSL_CERT_DIR",
    };

    /// <summary>
    /// The largest task (UTF-8 bytes) also given in <c>DF_TASK</c>. Linux refuses a single environment string over
    /// 128 KiB (and all of them over ~2 MiB) with E2BIG; a larger task reaches the agent only as the file
    /// <c>DF_TASK_FILE</c> and on stdin.
    /// </summary>
    public const int TaskEnvLimit = 32 * 1024;

    /// <summary>The task file's name in the run directory (the directory a sandbox binds for the run).</summary>
    public const string TaskFileName = "task.txt";

    // Resolved once: Process.Start would otherwise search PATH on every run start.
    private static readonly string Setsid = Executables.Find("setsid") ?? "setsid";
    private static readonly string Prlimit = Executables.Find("prlimit") ?? "prlimit";

    public static string Marker(DaemonContext daemon, string agent, string runId) => $"{daemon.DaemonId}/{agent}/{runId}";

    /// <summary>The run's private directory (its TMPDIR, and HOME of an AI CLI run); removed when the run's actor stops.</summary>
    public static string RunDirectory(DaemonContext daemon, string agent, string runId) => Path.Combine(daemon.TempRoot, agent, runId);

    /// <summary>Where a run's task is written (<c>DF_TASK_FILE</c>).</summary>
    public static string TaskFile(DaemonContext daemon, string agent, string runId) => Path.Combine(RunDirectory(daemon, agent, runId), TaskFileName);

    /// <summary>Whether a task is small enough to be passed in the environment (<see cref="TaskEnvLimit"/>) too.</summary>
    public static bool FitsEnvironment(string task) =>
        task.Length <= TaskEnvLimit / 3 || System.Text.Encoding.UTF8.GetByteCount(task) <= TaskEnvLimit;

    /// <param name="argv">The command line the CLI adapter built (argv[0] is the program).</param>
    /// <param name="secrets">Receives every secret value resolved, for redaction.</param>
    /// <param name="standby">The program waits behind <see cref="Standby.Stub"/> until the daemon releases it.</param>
    public static LaunchPlan Plan(
        AgentSpec spec,
        IReadOnlyList<string> argv,
        string? task,
        string runId,
        DaemonContext daemon,
        IReadOnlyDictionary<string, string?> parentEnvironment,
        Func<string, string?> readSecretFile,
        ICollection<string> secrets,
        IReadOnlyDictionary<string, string>? extraEnvironment = null,
        bool standby = false)
    {
        if (argv.Count == 0 || string.IsNullOrWhiteSpace(argv[0]))
        {
            throw new AgentMisconfiguredException(spec.Name, "no command to run");
        }

        var temp = RunDirectory(daemon, spec.Name, runId);
        var workdir = spec.Workdir ?? temp; // never the data directory
        if (spec.Workdir is not null && !Directory.Exists(workdir))
        {
            throw new AgentMisconfiguredException(spec.Name, $"working directory '{workdir}' does not exist");
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in parentEnvironment)
        {
            if (value is not null && (Allowlist.Contains(key) || key.StartsWith("LC_", StringComparison.Ordinal)))
            {
                env[key] = value;
            }
        }

        if (spec.Cli == CliCatalog.Command)
        {
            env["HOME"] = temp; // a private HOME (the agent's env may name another); an AI CLI's adapter decides its own
        }

        foreach (var (key, value) in extraEnvironment ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        foreach (var (key, value) in spec.Env)
        {
            env[key] = Resolve(spec.Name, key, value, parentEnvironment, readSecretFile, secrets);
        }

        var marker = Marker(daemon, spec.Name, runId);
        env["TMPDIR"] = temp;
        if (daemon.Api is { Url: { } url } api)
        {
            // the API for this run only (a token scoped to what an agent may do, void when the run ends)
            var token = api.Mint(spec.Name, runId);
            env[RunApi.UrlVariable] = url;
            env[RunApi.TokenVariable] = token;
            secrets.Add(token);
        }

        env["DF_AGENT"] = spec.Name;
        env["DF_RUN_ID"] = runId;
        env[ProcessTree.RunMarker] = marker;
        IReadOnlyList<Adapters.RunFile> taskFiles = [];
        if (task is not null)
        {
            // every task as a file in the run's own directory; small ones in DF_TASK too (a large one would fail the exec)
            var taskFile = TaskFile(daemon, spec.Name, runId);
            taskFiles = [new Adapters.RunFile(taskFile, task)];
            env["DF_TASK_FILE"] = taskFile;
            if (FitsEnvironment(task))
            {
                env["DF_TASK"] = task;
            }
        }

        var program = argv[0].Contains('/') ? Path.GetFullPath(argv[0], workdir) : argv[0];
        var wrapped = new List<string>();
        if (spec.Limits.Any)
        {
            wrapped.Add(Prlimit);
            if (spec.Limits.CpuSeconds is { } cpu)
            {
                wrapped.Add($"--cpu={cpu}");
            }

            if (spec.Limits.OpenFiles is { } files)
            {
                wrapped.Add($"--nofile={files}:{files}");
            }

            if (spec.Limits.MemoryBytes is { } memory)
            {
                // RLIMIT_DATA bounds private writable memory (heap and anonymous mappings) without
                // breaking runtimes that reserve large address ranges, as RLIMIT_AS would.
                wrapped.Add($"--data={memory}");
            }

            wrapped.Add("--");
        }

        // a standby's program waits behind its shell (innermost: inside the sandbox, which shows the program's own directory)
        List<string> command = standby ? [.. Standby.Stub([program, .. argv.Skip(1)])] : [program, .. argv.Skip(1)];
        var cgroup = daemon.Cgroups.For(spec.Name, runId);
        var sandbox = RunConfinement.Sandbox(spec, daemon, workdir, temp, env, command, tracked: cgroup is not null, program: program);
        wrapped.AddRange(sandbox ?? command);
        var (file, arguments) = RunConfinement.Wrap(Setsid, wrapped, cgroup, sandboxed: sandbox is not null);
        return new LaunchPlan(file, arguments, env, workdir, task, marker, temp) { Cgroup = cgroup, Sandboxed = sandbox is not null, Files = taskFiles };
    }

    private static string Resolve(
        string agent,
        string key,
        EnvValue value,
        IReadOnlyDictionary<string, string?> parentEnvironment,
        Func<string, string?> readSecretFile,
        ICollection<string> secrets)
    {
        if (value.FromEnv is { } variable)
        {
            var secret = parentEnvironment.TryGetValue(variable, out var v) ? v : null;
            if (string.IsNullOrEmpty(secret))
            {
                throw new AgentMisconfiguredException(agent, $"env.{key}: environment variable {variable} is not set");
            }

            secrets.Add(secret);
            return secret;
        }

        if (value.FromFile is { } file)
        {
            var secret = readSecretFile(file)?.TrimEnd('\r', '\n');
            if (string.IsNullOrEmpty(secret))
            {
                throw new AgentMisconfiguredException(agent, $"env.{key}: secret file {file} is missing or empty");
            }

            secrets.Add(secret);
            return secret;
        }

        return value.Value ?? string.Empty;
    }
}
