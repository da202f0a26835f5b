using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using DarkFactory.Host.Daemon;
using DarkFactory.Host.Ops;
using DarkFactory.Host.Tests.EndToEnd;
using Xunit;

namespace DarkFactory.Host.Tests.Ops;

/// <summary>`df doctor` on this machine: each thing that would stop the fleet is named exactly, with what to do.</summary>
[Collection("daemon")]
public sealed class DoctorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("df-doctor-").FullName;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private const string OneAgent = """
        version: 1
        agents:
          - name: a
            layer: growth
            command: ["/bin/true"]
        """;

    private string Fleet(string agents, string providers = "")
    {
        var file = Path.Combine(_root, $"fleet-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, $"""
            version: 1
            {providers}
            agents:
            {agents}
            """);
        return file;
    }

    private async Task<IReadOnlyList<DoctorCheck>> Run(string fleet, Dictionary<string, string?>? environment = null, string? dataDir = null, string listen = "127.0.0.1:0")
    {
        environment ??= new Dictionary<string, string?> { ["PATH"] = "/usr/bin:/bin" };
        var data = new DataDirectory(dataDir ?? Path.Combine(_root, "data"));
        return await Doctor.RunAsync(new DoctorOptions(fleet, data, listen, null, environment));
    }

    private static DoctorCheck Check(IReadOnlyList<DoctorCheck> checks, string name) => Assert.Single(checks, c => c.Check == name);

    [Fact]
    public async Task A_missing_cli_is_named_with_the_agents_that_need_it_and_the_pinned_install_command()
    {
        var fleet = Fleet("""
              - name: writer
                layer: growth
                cli: codex
                task: write
            """);
        var checks = await Run(fleet);

        var codex = Check(checks, "cli codex");
        Assert.True(codex.Blocks);
        Assert.Equal("'codex' is not on PATH; needed by agent writer", codex.Detail);
        Assert.Equal("npm install -g @openai/codex@0.169.0", codex.Fix);
        Assert.DoesNotContain(checks, c => c.Check == "cli claude"); // only what the fleet uses
    }

    [Fact]
    public async Task An_installed_cli_is_checked_against_the_tested_version()
    {
        var bin = Directory.CreateDirectory(Path.Combine(_root, "bin")).FullName;
        var claude = Path.Combine(bin, "claude");
        var fleet = Fleet("""
              - name: reviewer
                layer: growth
                cli: claude
                task: review
            """);
        var path = new Dictionary<string, string?> { ["PATH"] = bin + ":/usr/bin:/bin" };

        File.WriteAllText(claude, "#!/bin/sh\necho '2.1.328 (Claude Code)'\n");
        File.SetUnixFileMode(claude, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var tested = Check(await Run(fleet, path), "cli claude");
        Assert.True(tested.Ok, tested.Detail);
        Assert.Equal($"{claude} 2.1.328 (the tested version)", tested.Detail);

        File.WriteAllText(claude, "#!/bin/sh\necho '2.0.1 (Claude Code)'\n");
        var other = Check(await Run(fleet, path), "cli claude");
        Assert.False(other.Ok);
        Assert.False(other.Blocks); // another version may work: a warning
        Assert.Equal($"{claude} 2.0.1; tested with 2.1.328", other.Detail);
        Assert.Equal("npm install -g @anthropic-ai/claude-code@2.1.328", other.Fix);
    }

    [Fact]
    public async Task A_missing_provider_key_is_named_and_a_present_one_is_never_shown()
    {
        var fleet = Fleet(
            """
              - name: worker
                layer: growth
                cli: claude
                command: ["/bin/true"]
                provider: acme
            """,
            """
            providers:
              - name: acme
                cli: claude
                api_key_env: DF_DOCTOR_TEST_KEY
            """);

        var missing = Check(await Run(fleet), "key DF_DOCTOR_TEST_KEY");
        Assert.True(missing.Blocks);
        Assert.Equal("$DF_DOCTOR_TEST_KEY is not set; provider acme cannot authenticate", missing.Detail);
        Assert.StartsWith("set DF_DOCTOR_TEST_KEY in the daemon's environment", missing.Fix);

        var present = Check(await Run(fleet, new() { ["PATH"] = "/usr/bin:/bin", ["DF_DOCTOR_TEST_KEY"] = "sk-secret-value" }), "key DF_DOCTOR_TEST_KEY");
        Assert.True(present.Ok);
        Assert.DoesNotContain("sk-secret-value", present.Detail);
    }

    [Fact]
    public async Task An_unwritable_data_directory_is_named()
    {
        var blocker = Path.Combine(_root, "not-a-dir");
        File.WriteAllText(blocker, "a file where the data directory's parent should be");
        var data = Path.Combine(blocker, "data");

        var check = Check(await Run(Fleet("  - { name: a, layer: growth, command: [\"/bin/true\"] }"), dataDir: data), "data dir");

        Assert.True(check.Blocks);
        Assert.Equal($"{data}: {blocker} is a file, not a directory (the daemon's data directory)", check.Detail);
        Assert.Contains($"install -d -m 700 {data}", check.Fix);
    }

    [Fact]
    public async Task A_corrupt_store_is_named_with_the_restore_to_run()
    {
        var data = Directory.CreateDirectory(Path.Combine(_root, "corrupt")).FullName;
        await File.WriteAllTextAsync(Path.Combine(data, "darkfactory.db"), new string('x', 8192));

        var check = Check(await Run(Fleet("  - { name: a, layer: growth, command: [\"/bin/true\"] }"), dataDir: data), "store");

        Assert.True(check.Blocks);
        Assert.StartsWith($"SQLite {Path.Combine(data, "darkfactory.db")} cannot be read: ", check.Detail);
        Assert.Contains("file is not a database", check.Detail);
        Assert.Contains("df restore FILE --data-dir NEWDIR", check.Fix);
    }

    [Fact]
    public async Task A_healthy_store_and_a_port_in_use_by_something_else()
    {
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var port = ((IPEndPoint)other.LocalEndpoint).Port;
        var checks = await Run(Fleet("  - { name: a, layer: growth, command: [\"/bin/true\"] }"), listen: $"127.0.0.1:{port}");

        var check = Check(checks, "port");
        Assert.True(check.Blocks);
        Assert.StartsWith($"127.0.0.1:{port} is not available", check.Detail);
        Assert.True(Check(checks, "store").Ok);
        Assert.True(Check(checks, "fleet").Ok);
    }

    [Fact]
    public async Task Df_doctor_json_next_to_a_running_daemon_reports_its_store_healthy_and_its_port_as_its_own()
    {
        await using var daemon = new DaemonProcess(OneAgent);
        await daemon.StartAsync();
        var url = new Uri(JsonDocument.Parse(File.ReadAllText(Path.Combine(daemon.DataDir, "daemon.json"))).RootElement.GetProperty("url").GetString()!);

        var (exit, stdout, stderr) = await daemon.Df("doctor", "--json", "--fleet", daemon.FleetPath, "--listen", $"127.0.0.1:{url.Port}");

        var checks = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        Assert.All(checks, c =>
        {
            foreach (var key in new[] { "check", "ok", "detail", "fix", "severity" })
            {
                Assert.True(c.TryGetProperty(key, out _), $"no {key} in {c}");
            }
        });
        var byName = checks.ToDictionary(c => c.GetProperty("check").GetString()!);
        Assert.True(byName["port"].GetProperty("ok").GetBoolean(), byName["port"].ToString());
        Assert.Contains("this data directory's daemon", byName["port"].GetProperty("detail").GetString());
        Assert.True(byName["store"].GetProperty("ok").GetBoolean(), byName["store"].ToString());
        Assert.Contains("quick_check ok", byName["store"].GetProperty("detail").GetString());
        Assert.True(byName["release"].GetProperty("ok").GetBoolean());
        Assert.Equal(checks.Any(c => !c.GetProperty("ok").GetBoolean() && c.GetProperty("severity").GetString() == "error") ? 1 : 0, exit);
        Assert.Equal(string.Empty, stderr);
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_data_directory_from_a_newer_release_is_refused_by_df_up_and_named_by_doctor()
    {
        await using var daemon = new DaemonProcess(OneAgent);
        Directory.CreateDirectory(daemon.DataDir);
        File.WriteAllText(Path.Combine(daemon.DataDir, DataStamp.FileName), """{"format": 99, "written_by": "df 9.0.0", "at": "2030-01-01T00:00:00Z"}""");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(daemon.StartAsync);
        Assert.Contains("daemon exited with 1", refused.Message);
        Assert.Contains($"{daemon.DataDir} was written by a newer release (df 9.0.0, data format 99, 2030-01-01)", refused.Message);
        Assert.False(File.Exists(Path.Combine(daemon.DataDir, "darkfactory.db"))); // nothing was touched

        var check = Check(await Run(daemon.FleetPath, dataDir: daemon.DataDir), "release");
        Assert.True(check.Blocks);
        Assert.Contains("written by a newer release (df 9.0.0, format 99)", check.Detail);
    }

    [Fact]
    public async Task The_daemon_stamps_its_data_directory_with_its_release()
    {
        await using var daemon = new DaemonProcess(OneAgent);
        await daemon.StartAsync();
        var stamp = DataStamp.Read(daemon.DataDir);
        Assert.NotNull(stamp);
        Assert.Equal(DataStamp.CurrentFormat, stamp.Format);
        Assert.Equal(DataStamp.Release, stamp.WrittenBy);
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }
}
