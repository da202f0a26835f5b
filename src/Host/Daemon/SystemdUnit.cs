namespace DarkFactory.Host.Daemon;

/// <param name="Exec">The program and its leading arguments: the dotnet host and df.dll, or the df executable.</param>
/// <param name="User">System units: the account the daemon runs as (null: root). Ignored for user units.</param>
/// <param name="UserUnit">A unit for the user's own service manager (systemctl --user).</param>
public sealed record SystemdUnitOptions(
    IReadOnlyList<string> Exec,
    string FleetPath,
    string DataDir,
    string Listen = "127.0.0.1:7780",
    string? User = "darkfactory",
    bool UserUnit = false,
    string EnvironmentFile = "/etc/darkfactory/environment")
{
    /// <summary>The paths of deploy/systemd/darkfactory.service: a release unpacked in /opt/darkfactory.</summary>
    public static SystemdUnitOptions Packaged { get; } = new(["/usr/bin/dotnet", "/opt/darkfactory/df.dll"], "/etc/darkfactory/fleet.yaml", "/var/lib/darkfactory");
}

/// <summary>
/// The systemd unit of the daemon (deploy/systemd/darkfactory.service is <see cref="Render"/> of
/// <see cref="SystemdUnitOptions.Packaged"/>; `df service install` renders it with this machine's paths).
/// </summary>
public static class SystemdUnit
{
    public const string FileName = "darkfactory.service";

    /// <summary>How long the daemon may take to drain its agents (their grace periods) before systemd kills what is left.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(3);

    public static string Render(SystemdUnitOptions o)
    {
        var exec = string.Join(' ', o.Exec.Concat(["up", "--fleet", o.FleetPath, "--data-dir", o.DataDir, "--listen", o.Listen]).Select(Quote));
        var unit = new StringBuilder();
        unit.Append($"""
            # Dark Factory daemon. Written by `df service install{(o.UserUnit ? " --user" : string.Empty)}`; README "On a server" explains each part.
            [Unit]
            Description=Dark Factory: supervisor of a fleet of AI coding agents
            After=network-online.target
            Wants=network-online.target

            [Service]
            # ready once the fleet is applied; the daemon feeds the watchdog while its actor system answers
            Type=notify
            NotifyAccess=main
            WatchdogSec=30
            TimeoutStartSec=120
            ExecStart={exec}
            ExecReload=/bin/kill -HUP $MAINPID
            Restart=on-failure
            RestartSec=5
            # provider keys (ANTHROPIC_API_KEY=..., one per line; mode 600) and DF_* settings
            EnvironmentFile=-{Quote(o.EnvironmentFile)}
            Environment=DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
            # stop: SIGTERM to the daemon alone, which stops every agent within its grace period and exits;
            # whatever is left after TimeoutStopSec is killed
            KillMode=mixed
            KillSignal=SIGTERM
            TimeoutStopSec={(int)StopTimeout.TotalSeconds}
            # per-run cgroups below the daemon's own
            Delegate=yes
            LimitNOFILE=65536
            # logs go to journald (journalctl -u darkfactory)
            StandardOutput=journal
            StandardError=journal
            SyslogIdentifier=darkfactory

            """);

        if (!o.UserUnit)
        {
            if (o.User is { Length: > 0 } user && user != "root")
            {
                unit.Append($"""
                    User={user}
                    Group={user}

                    """);
            }

            if (o.DataDir == "/var/lib/darkfactory")
            {
                unit.Append("""
                    StateDirectory=darkfactory
                    StateDirectoryMode=0700

                    """);
            }

            // Hardening that leaves agents working: they exec CLIs (node, JIT: no MemoryDenyWriteExecute), create
            // user namespaces for bubblewrap (no RestrictNamespaces), write worktrees and repositories anywhere
            // outside /usr, /boot and /etc (ProtectSystem=full, not strict; no ProtectHome), and reach providers.
            unit.Append("""
                # hardening that agents survive: no MemoryDenyWriteExecute (node and .NET JIT), no RestrictNamespaces
                # (bubblewrap), ProtectSystem=full rather than strict and no ProtectHome (agents write worktrees)
                NoNewPrivileges=yes
                PrivateTmp=yes
                ProtectSystem=full
                ProtectKernelTunables=yes
                ProtectKernelModules=yes
                ProtectKernelLogs=yes
                ProtectClock=yes
                ProtectHostname=yes
                RestrictSUIDSGID=yes
                RestrictRealtime=yes
                LockPersonality=yes
                SystemCallArchitectures=native

                """);
        }
        else
        {
            unit.Append("""
                NoNewPrivileges=yes

                """);
        }

        unit.Append($"""

            [Install]
            WantedBy={(o.UserUnit ? "default.target" : "multi-user.target")}

            """);
        return unit.ToString();
    }

    /// <summary>Where the unit goes: /etc/systemd/system, or ~/.config/systemd/user for --user.</summary>
    public static string InstallPath(bool userUnit) => userUnit
        ? Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } config ? config : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "systemd", "user", FileName)
        : Path.Combine("/etc/systemd/system", FileName);

    /// <summary>This program as systemd should start it: the dotnet host with df.dll, or the df executable itself.</summary>
    public static IReadOnlyList<string> CurrentExec()
    {
        var process = Environment.ProcessPath ?? "/usr/bin/dotnet";
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, Path.Combine(AppContext.BaseDirectory, "df.dll")] : [process];
    }

    /// <summary>One word of a systemd command line or setting: quoted when it holds spaces or quotes; % and $ escaped.</summary>
    internal static string Quote(string word)
    {
        var escaped = word.Replace("%", "%%", StringComparison.Ordinal).Replace("$", "$$", StringComparison.Ordinal);
        return escaped.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or ';')
            ? "\"" + escaped.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\""
            : escaped;
    }
}
