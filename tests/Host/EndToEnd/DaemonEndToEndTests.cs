using System.Net;
using DarkFactory.Actors.Processes;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>The real daemon and the real `df` command line, with scripted fake agents (tests/agents).</summary>
[Collection("daemon")]
public sealed class DaemonEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string Fleet(string agents) => $"""
        version: 1
        layers:
          safety:
            backoff: {"{"} min: 0s, max: 0s {"}"}
            max_restarts: 50
            within: 1m
        agents:
        {agents}
        """;

    private static string Sleeper(string name, string layer = "safety", string extra = "") => $"""
          - name: {name}
            layer: {layer}
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 2s
        {extra}
        """;

    [Fact]
    public async Task Daemon_restarts_a_SIGKILLed_agent_and_leaves_no_process_behind()
    {
        // the spawner's working directory is one the test sees too (a sandboxed run's /tmp is its own)
        var spawnerDir = Directory.CreateTempSubdirectory("df-spawner-").FullName;
        var grandchildPid = Path.Combine(spawnerDir, "grandchild.pid");
        var agents = Sleeper("keeper") + $"""
              - name: spawner
                layer: safety
                workdir: {spawnerDir}
                command: ["{DaemonProcess.Agent("detach.sh")}", "{grandchildPid}"]
              - name: once
                layer: core
                command: ["{DaemonProcess.Agent("lines.sh")}", "3"]
            """;
        await using var daemon = new DaemonProcess(Fleet(agents));
        await daemon.StartAsync();

        // the fleet is up: safety agents running, the core agent waits
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
        var listed = await daemon.Json("agents", "--json");
        var keeper = listed.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "keeper");
        Assert.Equal("safety", keeper.GetProperty("layer").GetString());
        Assert.Equal(0, keeper.GetProperty("restarts").GetInt32());
        Assert.Equal("stopped", (await daemon.AgentAsync("once")).GetProperty("state").GetString());
        var pid = keeper.GetProperty("pid").GetInt32();

        // SIGKILL the agent: a new run replaces it
        Native.Kill(pid, Native.SIGKILL);
        await DaemonProcess.Until(
            async () => await daemon.AgentAsync("keeper") is var a && a.GetProperty("state").GetString() == "running" && a.GetProperty("pid").GetInt32() != pid,
            Wait,
            "keeper restarted");
        var restarted = await daemon.AgentAsync("keeper");
        Assert.Equal(1, restarted.GetProperty("restarts").GetInt32());
        Assert.Equal(9, restarted.GetProperty("last_exit").GetProperty("signal").GetInt32());

        // on-demand run, its output in the log
        var (startExit, startOut, _) = await daemon.Df("start", "once");
        Assert.Equal(0, startExit);
        Assert.Contains("started", startOut);
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("once")).GetProperty("state").GetString() == "completed", Wait, "once completed");
        var (_, logs, _) = await daemon.Df("logs", "once");
        Assert.Contains("line 3", logs);

        // SIGTERM: every agent and the detached grandchild are gone, the daemon exits 0
        await DaemonProcess.Until(() => Task.FromResult(File.Exists(grandchildPid)), Wait, "grandchild pid file");
        var grandchild = HostPid(daemon, "spawner", int.Parse(File.ReadAllText(grandchildPid).Trim()));
        Assert.True(ProcessTree.IsAlive(grandchild));
        Assert.Equal(0, await daemon.StopAsync(Wait));
        Assert.Empty(daemon.AgentProcesses());
        Assert.False(ProcessTree.IsAlive(grandchild));
        Assert.False(File.Exists(Path.Combine(daemon.DataDir, "daemon.json")));

        // the history survives the daemon
        await daemon.StartAsync();
        var history = await daemon.Json("history", "keeper", "--json");
        var kinds = history.EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.True(kinds.Contains("crashed"), $"history after restart: [{string.Join(",", kinds)}]\ndaemon output:\n{daemon.Output}");
        Assert.Contains("restarting", kinds);
        Assert.Contains("stopped", kinds);
        Assert.Equal(0, await daemon.StopAsync(Wait));
        Directory.Delete(spawnerDir, recursive: true);
    }

    /// <summary>
    /// The host's pid of an agent's process that knows itself as <paramref name="pid"/>: the same number without a
    /// sandbox, its pid in the sandbox's pid namespace (the last of /proc/PID/status's NSpid) with one.
    /// </summary>
    private static int HostPid(DaemonProcess daemon, string agent, int pid)
    {
        var found = ProcessTree.FindMarked($"{daemon.DaemonId}/{agent}/")
            .Where(p => File.ReadLines($"/proc/{p}/status").FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal)) is { } line
                && line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[^1] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        return Assert.Single(found);
    }

    [Fact]
    public async Task Reload_reconciles_and_an_invalid_file_leaves_the_fleet_untouched()
    {
        await using var daemon = new DaemonProcess(Fleet(Sleeper("a") + Sleeper("b") + Sleeper("e")));
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("b")).GetProperty("state").GetString() == "running", Wait, "b running");
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("a")).GetProperty("state").GetString() == "running", Wait, "a running");
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("e")).GetProperty("state").GetString() == "running", Wait, "e running");
        var bPid = (await daemon.AgentAsync("b")).GetProperty("pid").GetInt32();
        var ePid = (await daemon.AgentAsync("e")).GetProperty("pid").GetInt32();

        // a is removed, b changes, c is new, e only gets capabilities (its process keeps running)
        File.WriteAllText(daemon.FleetPath, Fleet(Sleeper("b", extra: "    env: { MODE: changed }\n") + Sleeper("c") + Sleeper("e", extra: "    capabilities: [watch]\n")));
        var (exit, stdout, stderr) = await daemon.Df("reload");
        Assert.True(exit == 0, stderr);
        Assert.Contains("started: c", stdout);
        Assert.Contains("restarted: b", stdout);
        Assert.Contains("stopped: a", stdout);
        Assert.Contains("updated: e", stdout);
        await DaemonProcess.Until(async () => (await daemon.ApiJson("/api/agents")).GetArrayLength() == 3, Wait, "a removed");
        Assert.Equal(ePid, (await daemon.AgentAsync("e")).GetProperty("pid").GetInt32());
        await DaemonProcess.Until(
            async () => await daemon.AgentAsync("b") is var b && b.GetProperty("state").GetString() == "running" && b.GetProperty("pid").GetInt32() != bPid,
            Wait,
            "b restarted");
        var cPid = (await daemon.AgentAsync("c")).GetProperty("pid");

        // an invalid file is refused with its errors; nothing changes
        File.WriteAllText(daemon.FleetPath, Fleet(Sleeper("b") + Sleeper("e") + "  - name: Bad_Name\n    layer: nowhere\n"));
        (exit, _, stderr) = await daemon.Df("reload");
        Assert.Equal(1, exit);
        Assert.Contains("fleet.yaml:", stderr);
        Assert.Contains("refused", stderr);
        Assert.Equal(cPid.GetInt32(), (await daemon.AgentAsync("c")).GetProperty("pid").GetInt32());

        // SIGHUP applies a valid file
        File.WriteAllText(daemon.FleetPath, Fleet(Sleeper("b", extra: "    env: { MODE: changed }\n") + Sleeper("c") + Sleeper("d")));
        daemon.Signal("HUP");
        await daemon.UntilAsync(
            async () => (await daemon.ApiJson("/api/agents")).EnumerateArray().Select(a => a.GetProperty("name").GetString()).Order().SequenceEqual(["b", "c", "d"]),
            Wait,
            "d added, e removed by SIGHUP");
        Assert.Equal(0, await daemon.StopAsync(Wait));
        Assert.Empty(daemon.AgentProcesses());
    }

    [Fact]
    public async Task Schedule_lists_next_firings_cron_agents_fire_and_run_prints_a_run_id()
    {
        var agents = $"""
              - name: ticker
                layer: core
                command: ["{DaemonProcess.Agent("lines.sh")}", "1"]
                schedule: "*/2 * * * * *"
                restart: temporary
              - name: nightly
                layer: core
                command: ["{DaemonProcess.Agent("lines.sh")}", "1"]
                schedule: "30 2 * * *"
                timezone: America/New_York
              - name: helper
                layer: growth
                command: ["{DaemonProcess.Agent("lines.sh")}", "2"]
            """;
        await using var daemon = new DaemonProcess(Fleet(agents));
        await daemon.StartAsync();

        // df schedule --json: scheduled agents only, 5 UTC firings each
        var schedule = await daemon.Json("schedule", "--json");
        Assert.Equal(["ticker", "nightly"], schedule.EnumerateArray().Select(a => a.GetProperty("agent").GetString()).ToList());
        var nightly = schedule.EnumerateArray().Single(a => a.GetProperty("agent").GetString() == "nightly");
        Assert.Equal("America/New_York", nightly.GetProperty("timezone").GetString());
        var next = nightly.GetProperty("next").EnumerateArray().Select(t => t.GetString()!).ToList();
        Assert.Equal(5, next.Count);
        Assert.All(next, t => Assert.Matches(@"^\d{4}-\d\d-\d\dT(06|07):30:00Z$", t)); // 02:30 in New York
        var (tableExit, table, _) = await daemon.Df("schedule");
        Assert.Equal(0, tableExit);
        Assert.Contains("America/New_York", table);
        Assert.Contains("02:30:00-0", table);

        // the cron agent fires on its own
        await DaemonProcess.Until(
            async () => (await daemon.ApiJson("/api/agents/ticker/history")).EnumerateArray().Any(e => e.GetProperty("kind").GetString() == "started"),
            Wait,
            "ticker started by its schedule");

        // df run: an on-demand run, its id on stdout
        var (runExit, runOut, runErr) = await daemon.Df("run", "helper", "--task", "say hi");
        Assert.True(runExit == 0, runErr);
        var runId = runOut.Trim();
        Assert.Matches("^[0-9a-f]{16}$", runId);
        await DaemonProcess.Until(
            async () => (await daemon.ApiJson("/api/agents/helper/history")).EnumerateArray().Any(e => e.TryGetProperty("run_id", out var r) && r.GetString() == runId),
            Wait,
            "helper run recorded");
        var (unknownExit, _, _) = await daemon.Df("run", "nobody");
        Assert.NotEqual(0, unknownExit);

        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    [Theory]
    [InlineData("auto")] // sandboxed where bubblewrap can (CI installs it): the sandbox outlives the daemon like any run
    [InlineData("off")] // the fallback of a machine without bubblewrap
    public async Task A_restarted_daemon_sweeps_agents_left_by_a_killed_one(string sandbox)
    {
        await using var daemon = new DaemonProcess(Fleet(Sleeper("left", extra: $"    sandbox: {sandbox}\n")));
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("left")).GetProperty("state").GetString() == "running", Wait, "running");
        var orphan = (await daemon.AgentAsync("left")).GetProperty("pid").GetInt32();
        var sandboxed = sandbox == "auto" && SandboxSupport.Detect().Available;
        Assert.Equal(sandboxed, File.ReadAllText($"/proc/{orphan}/comm").Trim() == "bwrap");

        daemon.KillHardWithoutLifeline(); // SIGKILL, its lifeline too: no drain; the agent lives on in its own session
        Assert.True(ProcessTree.IsAlive(orphan));

        await daemon.StartAsync();
        Assert.False(ProcessTree.IsAlive(orphan));
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("left")).GetProperty("state").GetString() == "running", Wait, "running again");
        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    [Fact]
    public async Task The_API_requires_the_token_and_keeps_it_owner_only()
    {
        await using var daemon = new DaemonProcess(Fleet(Sleeper("x")));
        await daemon.StartAsync();

        using var anonymous = daemon.Client(withToken: false);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/health")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/agents")).StatusCode);
        using var client = daemon.Client();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/agents/nobody")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/agents/x")).StatusCode);

        var ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(ownerOnly, File.GetUnixFileMode(Path.Combine(daemon.DataDir, "token")));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(Path.Combine(daemon.DataDir, "daemon.json")));
        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    [Fact]
    public async Task Commands_without_a_daemon_say_so_in_one_line()
    {
        await using var nobody = new DaemonProcess(Fleet(Sleeper("x")));
        var (exit, stdout, stderr) = await nobody.Df("agents");
        Assert.Equal(1, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("no Dark Factory daemon is running", stderr);
    }

    [Fact]
    public async Task Validate_prints_every_error_with_its_position_and_exits_1()
    {
        await using var tool = new DaemonProcess("""
            version: 1
            agents:
              - name: a
                layer: safety
                command: ["true"]
                shedule: "* * * * *"
              - name: a
                layer: core
                command: ["true"]
                schedule: "not cron"
            """);
        var (exit, _, stderr) = await tool.Df("validate", tool.FleetPath);
        Assert.Equal(1, exit);
        Assert.Contains("fleet.yaml:6:5: error: agents[0].shedule", stderr);
        Assert.Contains("did you mean 'schedule'", stderr);
        Assert.Contains("agents[1].name", stderr);
        Assert.Contains("agents[1].schedule", stderr);

        File.WriteAllText(tool.FleetPath, "version: 1\nagents:\n  - name: ticker\n    layer: safety\n    cli: command\n    command: [\"bash\", \"-c\", \"while true; do echo tick; sleep 1; done\"]\n");
        Assert.Equal(0, (await tool.Df("validate", tool.FleetPath)).Exit);
    }
}
