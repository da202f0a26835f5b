using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Isolation;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// One run to launch: the agent as declared, where it runs, what it is for, and the parts its prompt is
/// made of (<see cref="RunLauncher.Prompt"/>). Persona and task-list prompts go here next.
/// </summary>
/// <param name="Agent">The agent's declaration.</param>
public sealed record RunRequest(AgentSpec Agent)
{
    /// <summary>The task of this run; null: the agent's declared task (or its <see cref="Spilled"/> one).</summary>
    public string? Task { get; init; }

    /// <summary>The task of a queued run, on disk until the run starts (<see cref="TaskSpill"/>); null: <see cref="Task"/> holds it.</summary>
    public SpilledTask? Spilled { get; init; }

    /// <summary>The run's working directory instead of the agent's (a compound review's worktree).</summary>
    public string? Workdir { get; init; }

    /// <summary>Names the task; carried into every event of the run.</summary>
    public string? TaskId { get; init; }

    /// <summary>The project the task belongs to; carried into every event of the run.</summary>
    public string? ProjectId { get; init; }

    /// <summary>Nightwatch's corrective hint, put before the task.</summary>
    public string? Hint { get; init; }

    /// <summary>The CLI conversation the run continues (<see cref="StartAgent.Resume"/>); null: a fresh one.</summary>
    public SessionResume? Resume { get; init; }
}

/// <summary>What <see cref="RunLauncher.Launch"/> made of a <see cref="RunRequest"/>.</summary>
public abstract record LaunchResult
{
    private LaunchResult()
    {
    }

    /// <summary>A run to start. <paramref name="Route"/>: the router's choice, to tell it (null for a run not routed).</summary>
    public sealed record Ready(AgentRun Run, RouteChosen? Route) : LaunchResult;

    /// <summary>No provider can take the run now: the agent waits and the router resumes it.</summary>
    public sealed record WaitingForRoute(string Reason) : LaunchResult;

    /// <summary>The declaration cannot be launched (a missing secret or working directory, no command): not retried.</summary>
    public sealed record Unavailable(string Reason) : LaunchResult;
}

/// <summary>
/// Turns a <see cref="RunRequest"/> into a launchable run: the route (against the router's published
/// board), the prompt, the provider, the CLI adapter's plan and the launch plan (argv, environment,
/// secrets for redaction). Pure apart from reading the board, the environment and secret files it is
/// given; the layer calls it and starts what it returns.
/// </summary>
public static class RunLauncher
{
    /// <param name="providers">The fleet's providers (endpoints and keys of the AI CLIs).</param>
    /// <param name="fleetWorkdirs">The working directories the fleet's agents declare: a sandboxed run has the others' hidden.</param>
    /// <param name="standby">The run is a standby (<see cref="Standby"/>): its program waits for the release.</param>
    public static LaunchResult Launch(RunRequest request, IReadOnlyList<ProviderSpec> providers, LayerServices services, DateTimeOffset now, IReadOnlyList<string>? fleetWorkdirs = null, bool standby = false)
    {
        var declared = request.Agent.Workdir;
        var spec = WithRunIds(request.Workdir is null ? request.Agent : request.Agent with { Workdir = request.Workdir }, request);
        var route = spec.Cli == CliCatalog.Command || services.Routes is null ? null : services.Routes.Decide(request.Task ?? spec.Task ?? string.Empty, spec);
        if (route is { Chosen: null })
        {
            return new LaunchResult.WaitingForRoute(route.Waiting ?? "all providers limited; polling");
        }

        if (route?.Chosen is { } chosen)
        {
            spec = spec with { Cli = chosen.Cli, Provider = chosen.Provider, Model = chosen.Model };
        }

        var runId = NewRunId();
        var (isolation, refused) = RunIsolation.Plan(spec, request.Workdir is not null, runId, now, services.WorktreeRoot, services.Daemon.DataDirectory);
        if (refused is not null)
        {
            return new LaunchResult.Unavailable(refused);
        }

        // the run (and its gates) must not see the other agents' checkouts
        var others = RunConfinement.OtherWorkdirs([declared, isolation?.WorkingDirectory ?? spec.Workdir], fleetWorkdirs ?? []);
        var daemon = others.Count == 0 ? services.Daemon : services.Daemon with { Hidden = [.. services.Daemon.Hidden, .. others] };
        if (isolation is not null)
        {
            // the run works in its worktree, which the run's actor makes before the spawn (git, off the mailbox);
            // the directory exists now so the launch plan (working directory, sandbox binds) can name it
            Directory.CreateDirectory(isolation.WorkingDirectory);
            spec = spec with { Workdir = isolation.WorkingDirectory };
            isolation = isolation with { GateEnvironment = GateEnvironment(services, spec.Name, runId), GateSandbox = GateSandbox.For(daemon), GateCgroups = services.Daemon.Cgroups };
        }

        var secrets = new List<string>(services.GlobalSecrets);
        RunLaunch launch;
        try
        {
            // The provider and model of this run: the route's (set on spec above), else the agent's own,
            // else its CLI's preferred provider; the adapter points the CLI at it. A routed run's provider is one of
            // the policy that chose it (the fleet's and those added at runtime).
            var provider = CliAdapters.ProviderFor(spec, route?.Chosen is not null && services.Routes?.Policy is { } policy ? policy.Providers : providers);
            // a project task's run keeps its CLI's conversation, so the task's next attempt can continue it
            var session = request.ProjectId is not null && request.TaskId is not null ? new SessionPlan(request.Resume) : null;
            launch = CliAdapters.Plan(spec, Prompt(request), provider, spec.Model, runId, daemon, services.Environment, services.ReadSecretFile, secrets, session, standby);
        }
        catch (AgentMisconfiguredException e)
        {
            return new LaunchResult.Unavailable(e.Reason);
        }

        var run = new AgentRun(
            spec.Name,
            runId,
            launch.Plan,
            spec.Grace,
            spec.MaxRuntime,
            services.Logs.For(spec.Name, spec.Log),
            secrets.Count == 0 ? Redactor.None : new Redactor(secrets),
            CliAdapters.Classifier(spec.Cli),
            services.Sweeper)
        {
            Events = launch.Adapter is { } adapter ? new RunEvents(adapter, spec.Name, runId, launch.Provider, launch.Model, request.TaskId, request.ProjectId) : null,
            TaskId = request.TaskId,
            ProjectId = request.ProjectId,
            Provider = launch.Adapter is null ? null : launch.Provider,
            Isolation = isolation,
            ResultGrace = launch.Adapter is null ? null : spec.ResultGrace,
            Standby = standby,
        };
        var chosenRoute = route?.Chosen is { } taken ? RouteChosen.Of(spec.Name, runId, taken, now, request.TaskId, request.ProjectId) : null;
        return new LaunchResult.Ready(run, chosenRoute);
    }

    /// <summary>
    /// The run's prompt: the hint (once) before the task, the task being the run's own or the agent's
    /// declared one; null when there is neither.
    /// </summary>
    public static string? Prompt(RunRequest request) =>
        request.Hint is { } hint ? $"{hint}\n\n{request.Task ?? request.Agent.Task}".TrimEnd() : request.Task;

    /// <summary>The run's own ids in its environment: DF_TASK_ID, DF_PROJECT (when it has them).</summary>
    private static AgentSpec WithRunIds(AgentSpec spec, RunRequest request)
    {
        if (request.TaskId is null && request.ProjectId is null)
        {
            return spec;
        }

        var env = new Dictionary<string, EnvValue>(spec.Env);
        if (request.TaskId is { } taskId)
        {
            env["DF_TASK_ID"] = EnvValue.Literal(taskId);
        }

        if (request.ProjectId is { } projectId)
        {
            env["DF_PROJECT"] = EnvValue.Literal(projectId);
        }

        return spec with { Env = env };
    }

    /// <summary>Why the agent cannot run on this machine (its program is not on PATH), and how to install it; null when it can.</summary>
    public static (string Reason, string? Install)? Missing(AgentSpec spec, Func<string, string?> findExecutable)
    {
        var binary = CliAdapters.RequiredBinary(spec);
        if (binary is null || binary.Contains('/') || findExecutable(binary) is not null)
        {
            return null;
        }

        var install = spec.Command.Count == 0 ? CliCatalog.Known.GetValueOrDefault(spec.Cli)?.InstallCommand : null;
        return ($"'{binary}' is not installed", install);
    }

    /// <summary>The gates of an isolated run's branch: the allowlisted environment (no secret of the daemon's), a run marker of their own, the agent and run.</summary>
    private static IReadOnlyDictionary<string, string> GateEnvironment(LayerServices services, string agent, string runId)
    {
        var env = ChildEnvironment.Allowlisted(services.Environment);
        env[ProcessTree.RunMarker] = $"{services.Daemon.DaemonId}/gates/{agent}/{runId}";
        env["DF_AGENT"] = agent;
        env["DF_RUN_ID"] = runId;
        return env;
    }

    private static string NewRunId() => Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
}
