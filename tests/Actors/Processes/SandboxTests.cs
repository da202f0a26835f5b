using System.Diagnostics;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Processes;

/// <summary>Runs only where bubblewrap can sandbox a run here (the reason otherwise: install bubblewrap, enable user namespaces).</summary>
public sealed class SandboxFactAttribute : FactAttribute
{
    public static readonly Lazy<SandboxSupport> Support = new(() => SandboxSupport.Detect());

    public SandboxFactAttribute() => Skip = Support.Value.Available ? null : "runs cannot be sandboxed on this machine: " + Support.Value.Reason;
}

/// <summary>A theory that runs only where bubblewrap can sandbox a run here.</summary>
public sealed class SandboxTheoryAttribute : TheoryAttribute
{
    public SandboxTheoryAttribute() => Skip = SandboxFactAttribute.Support.Value.Available ? null : "runs cannot be sandboxed on this machine: " + SandboxFactAttribute.Support.Value.Reason;
}

/// <summary>Issue 14: the sandbox's command line (pure) and how the planner uses it.</summary>
public sealed class SandboxPlannerTests
{
    [Fact]
    public void Hidden_paths_are_emptied_the_workdir_is_writable_and_a_hidden_path_inside_it_stays_hidden()
    {
        var request = new SandboxRequest("/srv/proj", "/run/df/a/r1", ["/srv/proj/.darkfactory", "/root", "/run/df"], Network: false, "/usr/bin:/root/.dotnet", ["/usr/bin/true"]);

        var args = SandboxPlanner.Arguments(request, root: false);
        var text = string.Join(' ', args);

        Assert.StartsWith("--unshare-user --unshare-pid --unshare-ipc --unshare-net --ro-bind / /", text);
        Assert.Contains("--tmpfs /root", text);
        Assert.Contains("--ro-bind-try /root/.dotnet /root/.dotnet", text); // a toolchain under a hidden HOME, read-only
        Assert.Contains("--bind /srv/proj /srv/proj", text);
        Assert.True(text.LastIndexOf("--tmpfs /srv/proj/.darkfactory", StringComparison.Ordinal) > text.IndexOf("--bind /srv/proj /srv/proj", StringComparison.Ordinal));
        Assert.True(text.IndexOf("--bind /run/df/a/r1 /run/df/a/r1", StringComparison.Ordinal) > text.IndexOf("--tmpfs /run/df", StringComparison.Ordinal));
        Assert.EndsWith("--chdir /srv/proj", text);
        Assert.DoesNotContain("--unshare-user", string.Join(' ', SandboxPlanner.Arguments(request with { Network = true }, root: true)));
        Assert.DoesNotContain("--unshare-net", string.Join(' ', SandboxPlanner.Arguments(request with { Network = true }, root: true)));
    }

    [Fact]
    public void Other_agents_declared_workdirs_are_hidden_but_not_the_runs_own_its_parents_or_its_children()
    {
        // the run works in a worktree of its declared repo; the fleet declares the repo, a parent, a child and two strangers
        var hidden = RunConfinement.OtherWorkdirs(
            ["/srv/repo", "/data/worktrees/coder-r1"],
            ["/srv/repo", "/srv/repo/", "/srv", "/srv/repo/docs", "/data/worktrees/coder-r1/sub", "/srv/other", "/home/op/secret-repo", "/srv/repository", "/"]);

        Assert.Equal(["/srv/other", "/home/op/secret-repo", "/srv/repository"], hidden); // a sibling sharing a prefix is a stranger
        Assert.Empty(RunConfinement.OtherWorkdirs(["/srv/repo", null], ["/srv/repo"]));

        // a stranger's checkout is emptied in the run's sandbox like the data directory, and the run's own stays writable
        var text = string.Join(' ', SandboxPlanner.Arguments(new SandboxRequest("/srv/repo", "/run/df/a/r1", ["/run/df", .. hidden], Network: true, "/usr/bin", ["/usr/bin/true"]), root: false));
        Assert.Contains("--tmpfs /srv/other", text);
        Assert.Contains("--tmpfs /home/op/secret-repo", text);
        Assert.Contains("--bind /srv/repo /srv/repo", text);
    }

    [Fact]
    public void A_program_in_a_checkout_under_tmp_is_shown_again_read_only_over_the_private_tmp()
    {
        // a fresh clone under /tmp (as CI makes one): the run's /tmp is private, its program must still be there
        var request = new SandboxRequest("/tmp/w/repo", "/run/df/a/r1", ["/run/df"], Network: true, "/usr/bin", ["/tmp/ci/tests/agents/sleeper.sh"]);

        var text = string.Join(' ', SandboxPlanner.Arguments(request, root: false));

        var tmp = text.IndexOf("--tmpfs /tmp", StringComparison.Ordinal);
        Assert.True(tmp >= 0);
        Assert.True(text.IndexOf("--ro-bind-try /tmp/ci/tests/agents /tmp/ci/tests/agents", StringComparison.Ordinal) > tmp);
        Assert.True(text.IndexOf("--bind /tmp/w/repo /tmp/w/repo", StringComparison.Ordinal) > tmp);
        Assert.DoesNotContain("--ro-bind-try /usr/bin", text);
    }

    [Fact]
    public void A_linked_worktree_may_write_objects_and_refs_but_not_config_hooks_or_info()
    {
        using var git = new GitFixture();
        git.Commit(DateTimeOffset.UtcNow, "first", ("a.txt", "a"));
        var worktree = Path.Combine(git.Root, "wt");
        Run(git.Repo, "worktree", "add", "-q", "-b", "agent", worktree);
        var common = Path.Combine(git.Repo, ".git");

        var text = string.Join(' ', SandboxPlanner.GitBinds(worktree));

        Assert.StartsWith($"--ro-bind {common} {common}", text);
        Assert.Contains($"--bind-try {common}/objects {common}/objects", text);
        Assert.Contains($"--bind-try {common}/refs {common}/refs", text);
        Assert.Contains($"--bind {common}/worktrees/wt {common}/worktrees/wt", text);
        Assert.Contains($"--ro-bind-try {common}/worktrees/wt/config.worktree", text);
        Assert.DoesNotContain($"{common}/hooks", text);
        Assert.DoesNotContain($"--bind {common}/config", text);
        Assert.Equal(
            ["--ro-bind-try", $"{git.Repo}/.git/config", $"{git.Repo}/.git/config"],
            SandboxPlanner.GitBinds(git.Repo).Take(3)); // a repository's own checkout: its config over the writable checkout
    }

    [Fact]
    public void Sandbox_off_required_and_a_closed_network_are_kept_or_refused_by_what_the_machine_can_do()
    {
        using var daemon = new TempDaemon();
        var spec = Specs.Agent("w", "sleeper.sh");
        var none = daemon.Context with { Sandbox = new SandboxSupport(false, "bwrap missing") };
        var able = daemon.Context with { Sandbox = new SandboxSupport(true, "test", "/usr/bin/bwrap", NetworkIsolation: true) };
        LaunchPlan Plan(AgentSpec s, DaemonContext d) => LaunchPlanner.Plan(s, s.Command, null, "r1", d, new Dictionary<string, string?>(), _ => null, new List<string>());

        Assert.False(Plan(spec, none).Sandboxed); // auto on a machine that cannot: unsandboxed (the daemon warns at start)
        Assert.False(Plan(spec with { Sandbox = SandboxMode.Off }, able).Sandboxed);
        var sandboxed = Plan(spec, able);
        Assert.True(sandboxed.Sandboxed);
        Assert.Contains("/usr/bin/bwrap", sandboxed.Arguments);
        Assert.Contains("trap '' TERM", string.Join(' ', sandboxed.Arguments));
        Assert.Contains("--default-signal=TERM", sandboxed.Arguments);
        Assert.Contains("--unshare-net", Plan(spec with { Network = NetworkAccess.Closed }, able).Arguments);
        Assert.False(sandboxed.TermByCgroup); // no cgroup: the stop signals the group, so the wrappers shield SIGTERM
        Assert.Contains("df-reaper", sandboxed.Arguments);

        // in a cgroup the stop signals the cgroup, not the group: no shield, no restoring env, no reaper (two execs fewer)
        var (file, wrapped) = RunConfinement.Wrap("setsid", ["/usr/bin/bwrap", "--", "prog"], "/cg/run-1", sandboxed: true);
        Assert.Equal("/bin/sh", file);
        Assert.DoesNotContain("trap", wrapped[1]);
        Assert.Contains("cgroup.procs", wrapped[1]);
        var inside = RunConfinement.Sandbox(spec, able, daemon.Directory, daemon.Directory, new Dictionary<string, string>(), ["prog", "a"], tracked: true)!;
        Assert.Equal(["--", "prog", "a"], inside.TakeLast(3));
        Assert.DoesNotContain("df-reaper", inside);
        Assert.DoesNotContain("--default-signal=TERM", inside);

        var required = Assert.Throws<AgentMisconfiguredException>(() => Plan(spec with { Sandbox = SandboxMode.Required }, none));
        Assert.Contains("sandbox: required", required.Reason);
        Assert.Contains("bwrap missing", required.Reason);
        Assert.Contains("network: closed", Assert.Throws<AgentMisconfiguredException>(() => Plan(spec with { Network = NetworkAccess.Closed }, none)).Reason);
    }

    /// <summary>Runs git in <paramref name="dir"/>; its output, or a failed assertion naming the command.</summary>
    internal static string Run(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd(); // small: git prints a few lines here
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)}: {error}");
        return output;
    }
}

/// <summary>The attacks, in a real sandboxed run: what it can reach, what it cannot, and that a stop still reaches it with its grace.</summary>
public sealed class SandboxSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDaemon _daemon;
    private readonly string _home;
    private readonly string _workdir;
    private readonly TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);

    public SandboxSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _home = Directory.CreateTempSubdirectory("df-operator-home-").FullName;
        File.WriteAllText(Path.Combine(_home, ".netrc"), "machine forge password operator-secret");
        _daemon = new TempDaemon(cgroups: true, sandbox: SandboxFactAttribute.Support.Value, hidden: [_home]);
        File.WriteAllText(Path.Combine(_daemon.Directory, "token"), "operator-token");
        _workdir = Directory.CreateTempSubdirectory("df-sandbox-work-").FullName;
        _listener.Start();
    }

    [SandboxFact]
    public async Task A_sandboxed_run_sees_its_workdir_and_nothing_of_the_daemon_and_still_stops_gracefully()
    {
        var other = Path.Combine(_daemon.Context.TempRoot, "victim", "r0");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "secret.txt"), "victim's");
        var port = ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var layer = Layer(Probe("open", other, port), Probe("closed", other, port) with { Network = NetworkAccess.Closed });

        var open = await Probes(layer, "open");
        Assert.Equal("no", open["read-data-token"]);
        Assert.Equal("no", open["list-data-dir"]);
        Assert.Equal("no", open["read-other"]);
        Assert.Equal("no", open["see-operator-home"]);
        Assert.Equal("no", open["write-usr"]);
        Assert.Equal("no", open["see-daemon-pid"]);
        Assert.Equal("yes", open["write-workdir"]);
        Assert.Equal("yes", open["write-tmpdir"]);
        Assert.Equal("yes", open["network"]);
        Assert.True(File.Exists(Path.Combine(_workdir, "probe-written")));
        Assert.Equal("no", (await Probes(layer, "closed"))["network"]);

        Assert.True((await layer.Ask<CommandResult>(new StopAgent("open"), Wait)).Ok);
        await AwaitConditionAsync(() => Task.FromResult(File.ReadAllText(_daemon.Logs.PathOf("open")).Contains("PROBE got TERM")), Wait);
        var stopped = await AwaitStatus(layer, "open", s => s.State == AgentState.Stopped);
        Assert.Null(stopped.LastExit!.Signal); // SIGTERM reached the agent through bubblewrap: it exited by itself, not SIGKILLed
    }

    [SandboxFact]
    public Task In_a_cgroup_a_stop_reaches_the_sandboxed_agent_with_its_grace_and_what_it_left_dies_with_the_run() =>
        StopsGracefullyAndLeavesNothing(_daemon);

    [SandboxFact]
    public async Task Without_a_cgroup_the_shielded_sandbox_still_stops_gracefully_and_its_reaper_kills_what_the_agent_left()
    {
        using var bare = new TempDaemon(cgroups: false, sandbox: SandboxFactAttribute.Support.Value, hidden: [_home]);
        await StopsGracefullyAndLeavesNothing(bare);
    }

    /// <summary>An agent that leaves an escapee (<c>env -i setsid</c>: no marker, not in the group) and answers SIGTERM; stopped.</summary>
    private async Task StopsGracefullyAndLeavesNothing(TempDaemon daemon)
    {
        var mark = Random.Shared.Next(300_000, 399_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var spec = Specs.Agent("leaver", "sleeper.sh") with
        {
            Command = ["/bin/sh", "-c", $"env -i setsid sleep {mark} </dev/null >/dev/null 2>&1 & trap 'echo \"PROBE got TERM\"; exit 0' TERM; echo ready; while :; do sleep 0.2; done"],
            Workdir = _workdir,
            Sandbox = SandboxMode.Required,
        };
        var layer = Layer(daemon, spec);
        var log = daemon.Logs.PathOf("leaver");
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(log) && File.ReadAllText(log).Contains("ready")), Wait);
        await AwaitConditionAsync(() => Task.FromResult(HostProcesses($"sleep {mark}").Count == 1), Wait);

        Assert.True((await layer.Ask<CommandResult>(new StopAgent("leaver"), Wait)).Ok);
        await AwaitConditionAsync(() => Task.FromResult(File.ReadAllText(log).Contains("PROBE got TERM")), Wait);
        var stopped = await AwaitStatus(layer, "leaver", s => s.State == AgentState.Stopped);
        Assert.Null(stopped.LastExit!.Signal); // SIGTERM reached the agent inside bubblewrap: it exited by itself
        await AwaitConditionAsync(() => Task.FromResult(HostProcesses($"sleep {mark}").Count == 0), Wait);
    }

    /// <summary>Host pids whose command line is exactly <paramref name="cmdline"/>.</summary>
    private static List<int> HostProcesses(string cmdline) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && Cmdline($"/proc/{pid}") == cmdline)
            .ToList();

    [SandboxFact]
    public async Task In_a_linked_worktree_the_agent_commits_but_cannot_configure_hook_or_push()
    {
        using var git = new GitFixture();
        git.Commit(DateTimeOffset.UtcNow, "first", ("a.txt", "a"));
        var worktree = Path.Combine(_workdir, "wt");
        SandboxPlannerTests.Run(git.Repo, "worktree", "add", "-q", "-b", "agent", worktree);
        const string script = """
            t() { if eval "$2" >/dev/null 2>&1; then echo "PROBE $1: yes"; else echo "PROBE $1: no"; fi; }
            t commit "git -c user.name=a -c user.email=a@a commit -q --allow-empty -m by-agent"
            t shared-config "git config core.fsmonitor /bin/false"
            t hooks "echo 'exit 0' > \"$(git rev-parse --git-common-dir)/hooks/pre-commit\""
            t info "echo '*' >> \"$(git rev-parse --git-common-dir)/info/exclude\""
            t push-local-bare "git push -q --no-verify origin HEAD:refs/heads/pushed"
            echo "PROBE done: yes"
            """;
        var spec = Specs.Agent("committer", "sleeper.sh") with { Command = ["/bin/bash", "-c", script], Workdir = worktree, Restart = RestartType.Temporary, Sandbox = SandboxMode.Required };
        var layer = Layer(spec);

        var probes = await Probes(layer, "committer", "done");

        Assert.Equal("yes", probes["commit"]);
        Assert.Equal(("no", "no", "no", "no"), (probes["shared-config"], probes["hooks"], probes["info"], probes["push-local-bare"]));
        Assert.Contains("by-agent", SandboxPlannerTests.Run(git.Repo, "log", "--format=%s", "agent"));
        Assert.DoesNotContain("fsmonitor", SandboxPlannerTests.Run(git.Repo, "config", "--list"));
        Assert.False(File.Exists(Path.Combine(git.Repo, ".git", "hooks", "pre-commit")));
        Assert.DoesNotContain("pushed", SandboxPlannerTests.Run(git.Bare, "branch", "--list"));
    }

    [SandboxFact]
    public async Task A_sandboxed_run_outlives_the_daemon_thread_that_started_it()
    {
        // a parent-death signal (bwrap --die-with-parent) follows the thread that forked, not the process: a run
        // started from a thread the pool later retires would be SIGKILLed with it
        var spec = Specs.Agent("echo", "sleeper.sh") with
        {
            Command = ["/bin/sh", "-c", "echo ready; read x; echo \"got $x\"; exec sleep 100000"],
            Workdir = _workdir,
            Sandbox = SandboxMode.Required,
        };
        var plan = LaunchPlanner.Plan(spec, spec.Command, null, "r1", _daemon.Context, new Dictionary<string, string?>(), _ => null, new List<string>());
        Assert.True(plan.Sandboxed);
        var psi = plan.StartInfo();

        Directory.CreateDirectory(plan.TempDirectory!);
        if (plan.Cgroup is { } cgroup)
        {
            RunCgroups.Create(cgroup);
        }

        Process? run = null;
        string? task = null, first = null;
        var starter = new Thread(() =>
        {
            task = new DirectoryInfo("/proc/thread-self").ResolveLinkTarget(false)!.FullName; // /proc/<pid>/task/<tid>
            run = Process.Start(psi)!;
            first = run.StandardOutput.ReadLine(); // the sandbox is set up before its starter leaves
        });
        starter.Start();
        starter.Join();
        using var started = run!;
        Assert.Equal("ready", first);
        try
        {
            await AwaitConditionAsync(() => Task.FromResult(!Directory.Exists(task)), Wait); // the OS thread is gone

            await started.StandardInput.WriteLineAsync("ping");
            await started.StandardInput.FlushAsync();
            Assert.Equal("got ping", await started.StandardOutput.ReadLineAsync().WaitAsync(Wait));
            Assert.False(started.HasExited);
        }
        finally
        {
            Native.KillGroup(started.Id, Native.SIGKILL);
            if (plan.Cgroup is { } c)
            {
                RunCgroups.Kill(c);
                RunCgroups.Remove(c);
            }
        }
    }

    [SandboxFact]
    public async Task A_gate_runs_in_the_sandbox_too_its_worktree_writable_the_daemons_files_unreachable()
    {
        var sandbox = GateSandbox.For(_daemon.Context);
        Assert.NotNull(sandbox);
        var nap = Random.Shared.Next(200_000, 900_000); // an escapee sleeps this long: the gate must end without it
        var other = Path.Combine(_daemon.Context.TempRoot, "victim", "r0");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "secret.txt"), "victim's");
        var script = $$"""
            t() { if eval "$2" >/dev/null 2>&1; then echo "GATE $1: yes"; else echo "GATE $1: no"; fi; }
            t read-data-token "cat '{{_daemon.Directory}}/token'"
            t read-other-run "cat '{{other}}/secret.txt'"
            t see-operator-home "[ -n \"$(ls -A '{{_home}}')\" ]"
            t write-usr "touch /usr/gate-written"
            t see-daemon-pid "kill -0 {{Environment.ProcessId}}"
            t write-worktree "echo x > gate-written"
            env -i setsid sleep {{nap}} </dev/null >/dev/null 2>&1 &
            """;
        var gate = new GateSpec { Name = "hostile", Command = ["/bin/sh", "-c", script], Timeout = Wait };

        var result = await GateRunner.RunAsync(gate, _workdir, new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["HOME"] = _home }, Redactor.None, CancellationToken.None, sandbox);

        Assert.True(result.Passed && !result.TimedOut, result.Output);
        await AwaitConditionAsync(() => Task.FromResult(!Directory.EnumerateDirectories("/proc").Any(d => File.Exists(d + "/cmdline") && Cmdline(d) == $"sleep {nap}")), Wait);
        foreach (var refused in new[] { "read-data-token", "read-other-run", "see-operator-home", "write-usr", "see-daemon-pid" })
        {
            Assert.Contains($"GATE {refused}: no", result.Output);
        }

        Assert.Contains("GATE write-worktree: yes", result.Output);
        Assert.True(File.Exists(Path.Combine(_workdir, "gate-written")));
        Assert.Null(GateSandbox.For(_daemon.Context with { Sandbox = new SandboxSupport(false, "bwrap missing") }));
    }

    private static string Cmdline(string procDir)
    {
        try
        {
            return File.ReadAllText(procDir + "/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private AgentSpec Probe(string name, string other, string port) =>
        Specs.Agent(name, "sandbox-probe.sh", _daemon.Directory, other, port) with
        {
            Workdir = _workdir,
            Sandbox = SandboxMode.Required,
            Env = new Dictionary<string, EnvValue> { ["DF_PROBE_HOME"] = EnvValue.Literal(_home), ["DF_PROBE_DAEMON_PID"] = EnvValue.Literal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
        };

    private IActorRef Layer(params AgentSpec[] specs) => Layer(_daemon, specs);

    private IActorRef Layer(TempDaemon daemon, params AgentSpec[] specs)
    {
        var sweeper = Sys.ActorOf(ProcessSweeper.Props());
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), daemon.Services(sweeper, TestActor)));
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), specs, 1), TestActor);
        FishForMessage<LayerReconciled>(_ => true, Wait);
        return layer;
    }

    private async Task<Dictionary<string, string>> Probes(IActorRef layer, string agent, string until = "ready")
    {
        var log = _daemon.Logs.PathOf(agent);
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(log) && File.ReadAllText(log).Contains(until == "ready" ? "ready " : "PROBE done")), Wait);
        return File.ReadAllLines(log)
            .Select(l => l[(l.IndexOf("PROBE ", StringComparison.Ordinal) is var i and >= 0 ? i : l.Length)..])
            .Where(l => l.StartsWith("PROBE ", StringComparison.Ordinal) && l.Contains(": ", StringComparison.Ordinal))
            .Select(l => l["PROBE ".Length..].Split(": ", 2))
            .ToDictionary(p => p[0], p => p[1].Trim());
    }

    private async Task<AgentStatus> AwaitStatus(IActorRef layer, string agent, Func<AgentStatus, bool> condition)
    {
        AgentStatus? found = null;
        await AwaitConditionAsync(async () => (found = (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.FirstOrDefault(a => a.Agent == agent)) is { } s && condition(s), Wait);
        return found!;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _listener.Stop();
            _daemon.Dispose();
            Directory.Delete(_home, recursive: true);
            Directory.Delete(_workdir, recursive: true);
        }
    }
}
