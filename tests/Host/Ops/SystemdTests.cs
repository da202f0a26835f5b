using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using DarkFactory.Actors.Processes;
using DarkFactory.Host.Daemon;
using DarkFactory.Host.Tests.EndToEnd;
using Xunit;

namespace DarkFactory.Host.Tests.Ops;

/// <summary>Skipped where systemd-analyze is missing (.ci/run installs the systemd package for it).</summary>
public sealed class SystemdAnalyzeFactAttribute : FactAttribute
{
    public SystemdAnalyzeFactAttribute()
    {
        if (Executables.Find("systemd-analyze") is null)
        {
            Skip = "systemd-analyze is not installed (apt-get install systemd)";
        }
    }
}

/// <summary>The systemd unit (deploy/systemd/darkfactory.service, `df service install`) and the daemon's notify protocol.</summary>
[Collection("daemon")]
public sealed class SystemdTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("df-systemd-").FullName;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static string UnitFile => Path.Combine(DaemonProcess.RepoRoot(), "deploy", "systemd", SystemdUnit.FileName);

    [Fact]
    public void The_unit_in_deploy_is_the_rendering_for_a_packaged_install()
    {
        var rendered = SystemdUnit.Render(SystemdUnitOptions.Packaged);
        if (Environment.GetEnvironmentVariable("DF_WRITE_UNIT") == "1")
        {
            File.WriteAllText(UnitFile, rendered);
        }

        Assert.Equal(rendered, File.ReadAllText(UnitFile));
        foreach (var line in new[]
        {
            "Type=notify", "WatchdogSec=30", "Restart=on-failure", "KillMode=mixed", "TimeoutStopSec=180", "Delegate=yes",
            "ExecStart=/usr/bin/dotnet /opt/darkfactory/df.dll up --fleet /etc/darkfactory/fleet.yaml --data-dir /var/lib/darkfactory --listen 127.0.0.1:7780",
            "User=darkfactory", "StateDirectory=darkfactory", "ProtectSystem=full", "StandardOutput=journal",
        })
        {
            Assert.Contains(line + "\n", rendered);
        }

        // hardening that would break agents is left out: they JIT (node, .NET), build user namespaces (bubblewrap), write outside /var
        foreach (var setting in new[] { "MemoryDenyWriteExecute=", "RestrictNamespaces=", "ProtectSystem=strict", "ProtectHome=", "PrivateUsers=" })
        {
            Assert.DoesNotContain(setting, rendered);
        }

        // the daemon's own drain must fit in the stop timeout: the host's shutdown timeout is the same 3 minutes
        Assert.Equal(TimeSpan.FromMinutes(3), SystemdUnit.StopTimeout);
    }

    [Fact]
    public void Words_with_spaces_and_specifiers_are_quoted_for_systemd()
    {
        Assert.Equal("/srv/df", SystemdUnit.Quote("/srv/df"));
        Assert.Equal("\"/srv/my fleet.yaml\"", SystemdUnit.Quote("/srv/my fleet.yaml"));
        Assert.Equal("/srv/100%%", SystemdUnit.Quote("/srv/100%"));
        Assert.Equal("/srv/$$HOME", SystemdUnit.Quote("/srv/$HOME"));
    }

    [SystemdAnalyzeFact]
    public async Task Df_service_install_writes_units_that_systemd_analyze_verify_accepts()
    {
        await using var cli = new DaemonProcess("version: 1\nagents: []\n", Path.Combine(Directory.CreateDirectory(Path.Combine(_root, "cli")).FullName, "data"));
        foreach (var (args, file) in new[] { (new[] { "service", "install", "--run-as", "root" }, "system"), (new[] { "service", "install", "--user" }, "user") })
        {
            var dir = Directory.CreateDirectory(Path.Combine(_root, file)).FullName;
            var target = Path.Combine(dir, SystemdUnit.FileName);
            var (exit, stdout, stderr) = await cli.Df([.. args, "--fleet", cli.FleetPath, "--output", target]);
            Assert.True(exit == 0, stderr);
            Assert.Contains($"wrote {target}", stdout);
            var unit = File.ReadAllText(target);

            // this machine's paths: the dotnet host running df.dll, the fleet file and the data directory
            var dll = Path.Combine(AppContext.BaseDirectory, "df.dll");
            Assert.Contains($"df.dll up --fleet {cli.FleetPath} --data-dir {cli.DataDir} --listen 127.0.0.1:7780\n", unit);
            Assert.Contains(dll, unit);
            Assert.DoesNotContain("User=", unit);
            Assert.Contains(file == "user" ? "WantedBy=default.target" : "WantedBy=multi-user.target", unit);

            var (verifyExit, output) = await Run("systemd-analyze", "verify", target);
            Assert.True(verifyExit == 0, $"systemd-analyze verify {file} unit: {output}\n{unit}");
            Assert.DoesNotContain(SystemdUnit.FileName + ":", output); // no warning about any line of the unit
        }

        var packaged = Path.Combine(Directory.CreateDirectory(Path.Combine(_root, "packaged")).FullName, SystemdUnit.FileName);
        File.Copy(UnitFile, packaged);
        var (packagedExit, packagedOutput) = await Run("systemd-analyze", "verify", packaged);
        Assert.True(packagedExit == 0, packagedOutput);
        Assert.DoesNotContain(SystemdUnit.FileName + ":", packagedOutput);
    }

    [Fact]
    public async Task Under_a_notify_socket_the_daemon_reports_ready_after_the_fleet_is_applied_and_feeds_the_watchdog()
    {
        var socketPath = Path.Combine(_root, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var messages = new List<(TimeSpan At, string Text)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var receiver = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            while (!stop.IsCancellationRequested)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                lock (messages)
                {
                    messages.Add((clock.Elapsed, Encoding.UTF8.GetString(buffer, 0, n)));
                }
            }
        });

        await using var daemon = new DaemonProcess($"""
            version: 1
            agents:
              - name: keeper
                layer: safety
                command: ["{DaemonProcess.Agent("sleeper.sh")}"]
                grace: 2s
            """);
        daemon.Environment["NOTIFY_SOCKET"] = socketPath;
        daemon.Environment["WATCHDOG_USEC"] = "3000000"; // WatchdogSec=3: fed every 1.5 s
        daemon.Environment["JOURNAL_STREAM"] = string.Empty; // not under journald: the daemon writes its own log file
        await daemon.StartAsync();

        List<(TimeSpan At, string Text)> Seen()
        {
            lock (messages)
            {
                return [.. messages];
            }
        }

        await DaemonProcess.Until(() => Task.FromResult(Seen().Any(m => m.Text.StartsWith("READY=1", StringComparison.Ordinal))), TimeSpan.FromSeconds(30), "READY=1");
        var ready = Seen().First(m => m.Text.StartsWith("READY=1", StringComparison.Ordinal));
        Assert.Contains("STATUS=fleet of 1 agents applied", ready.Text);
        Assert.Contains($"MAINPID={daemon.Pid}", ready.Text);
        await DaemonProcess.Until(() => Task.FromResult(daemon.Output.Contains("Fleet of 1 agents applied", StringComparison.Ordinal)), TimeSpan.FromSeconds(10), "the fleet applied in the log");
        Assert.Equal("running", (await daemon.AgentAsync("keeper")).GetProperty("state").GetString());

        // the watchdog keeps being fed, every half WatchdogSec, while the actor system answers
        await DaemonProcess.Until(() => Task.FromResult(Seen().Count(m => m.Text == "WATCHDOG=1" && m.At > ready.At) >= 4), TimeSpan.FromSeconds(30), "four WATCHDOG=1 after READY=1");
        var feeds = Seen().Where(m => m.Text == "WATCHDOG=1").Select(m => m.At).ToList();
        var gaps = feeds.Zip(feeds.Skip(1), (a, b) => b - a).ToList();
        Assert.True(gaps.Max() < TimeSpan.FromSeconds(3), $"a watchdog gap of {gaps.Max()} would have let systemd restart the daemon");

        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(Seen(), m => m.Text.StartsWith("STOPPING=1", StringComparison.Ordinal));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiver);

        // not under journald: the daemon's log is also a file of the day in DIR/logs
        var log = Path.Combine(daemon.DataDir, "logs", DaemonLogFile.FileFor(DateOnly.FromDateTime(DateTime.UtcNow)));
        Assert.Contains("listening on", File.ReadAllText(log));
    }

    private static async Task<(int Exit, string Output)> Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await output + await error);
    }
}
