using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using DarkFactory.Actors.Processes;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace DarkFactory.Host.Ops;

/// <param name="Environment">The environment the daemon would run with (PATH, provider keys, DF_WORKTREES).</param>
public sealed record DoctorOptions(string FleetPath, DataDirectory Data, string Listen, string? Postgres, IReadOnlyDictionary<string, string?> Environment);

/// <summary>
/// `df doctor`: checks this machine for what the daemon needs, one <see cref="DoctorCheck"/> per concern:
/// the fleet file, each AI CLI (installed, at the tested version) and its provider key, git and the worktree
/// root, the data directory (writable, free space, store health, the release that wrote it), the sandbox's
/// prerequisites (bubblewrap, user namespaces, a writable cgroup tree), PostgreSQL when configured, the
/// clock and time zones, and the API port. Read-only: it creates nothing it does not remove again.
/// </summary>
public static partial class Doctor
{
    internal const long MinFreeBytes = 512L << 20;
    private const long LowFreeBytes = 5L << 30;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    public static async Task<IReadOnlyList<DoctorCheck>> RunAsync(DoctorOptions options, CancellationToken ct = default)
    {
        var checks = new List<DoctorCheck>();
        var load = File.Exists(options.FleetPath) ? FleetLoader.LoadFile(options.FleetPath) : null;
        checks.Add(FleetCheck(options.FleetPath, load));
        var fleet = load is { Ok: true } ? load.Fleet! : null;
        var path = options.Environment.GetValueOrDefault("PATH");

        if (fleet is not null)
        {
            foreach (var cli in UsedClis(fleet))
            {
                checks.Add(await CliCheckAsync(cli.Key, cli.Value, path, ct));
            }

            checks.AddRange(KeyChecks(fleet, options.Environment));
        }

        checks.Add(await GitCheckAsync(path, ct));
        checks.Add(WritableCheck("worktrees", WorktreeRoot(options), "the compound review's worktrees", "set DF_WORKTREES to a writable directory"));
        checks.Add(WritableCheck("data dir", options.Data.Path, "the daemon's data directory", $"create it and give the daemon's user write access: install -d -m 700 {options.Data.Path}"));
        checks.Add(SpaceCheck(options.Data.Path));
        var postgres = options.Postgres ?? options.Environment.GetValueOrDefault("DF_POSTGRES") ?? options.Environment.GetValueOrDefault("ConnectionStrings__DarkFactory");
        checks.Add(string.IsNullOrWhiteSpace(postgres) ? StoreCheck(options.Data) : await PostgresCheckAsync(postgres, ct));
        checks.Add(ReleaseCheck(options.Data));
        checks.Add(BubblewrapCheck(path));
        checks.Add(await UserNamespacesCheckAsync(path, ct));
        checks.Add(CgroupCheck());
        checks.Add(await ClockCheckAsync(path, ct));
        checks.Add(TimeZonesCheck(fleet));
        checks.Add(await PortCheckAsync(options, ct));
        return checks;
    }

    private static DoctorCheck FleetCheck(string file, FleetLoadResult? load)
    {
        if (load is null)
        {
            return DoctorCheck.Fail("fleet", $"{file} does not exist", "pass the fleet file with --fleet FILE");
        }

        if (!load.Ok)
        {
            var errors = load.Diagnostics.Where(d => d.IsError).ToList();
            return DoctorCheck.Fail("fleet", $"{errors.Count} error(s), first: {errors[0]}", $"df validate {file}");
        }

        return DoctorCheck.Pass("fleet", $"{file}: {load.Fleet!.Agents.Count} agents");
    }

    /// <summary>Each AI CLI kind the fleet runs (its own binary, not a scripted command) with the agents and providers that need it.</summary>
    internal static SortedDictionary<string, List<string>> UsedClis(FleetSpec fleet)
    {
        var used = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string cli, string who)
        {
            if (CliCatalog.Known.TryGetValue(cli, out var info) && info.Binary is not null)
            {
                (used.TryGetValue(cli, out var list) ? list : used[cli] = []).Add(who);
            }
        }

        foreach (var agent in fleet.Agents.Where(a => a.Command.Count == 0))
        {
            Add(agent.Cli, "agent " + agent.Name);
        }

        foreach (var provider in fleet.Providers)
        {
            Add(provider.Cli, "provider " + provider.Name);
        }

        return used;
    }

    private static async Task<DoctorCheck> CliCheckAsync(string cli, IReadOnlyList<string> users, string? path, CancellationToken ct)
    {
        var info = CliCatalog.Known[cli];
        var name = "cli " + cli;
        var who = string.Join(", ", users);
        var binary = Executables.Find(info.Binary!, path);
        if (binary is null)
        {
            return DoctorCheck.Fail(name, $"'{info.Binary}' is not on PATH; needed by {who}", $"npm install -g {info.NpmPackage}@{info.TestedVersion}");
        }

        var (exit, output) = await RunAsync(binary, ["--version"], ct);
        var version = Semver().Match(output) is { Success: true } m ? m.Value : null;
        if (exit != 0 || version is null)
        {
            return DoctorCheck.Warn(name, $"{binary} --version did not tell its version (exit {exit})", $"npm install -g {info.NpmPackage}@{info.TestedVersion}");
        }

        return version == info.TestedVersion
            ? DoctorCheck.Pass(name, $"{binary} {version} (the tested version)")
            : DoctorCheck.Warn(name, $"{binary} {version}; tested with {info.TestedVersion}", $"npm install -g {info.NpmPackage}@{info.TestedVersion}");
    }

    private static IEnumerable<DoctorCheck> KeyChecks(FleetSpec fleet, IReadOnlyDictionary<string, string?> environment)
    {
        foreach (var group in fleet.Providers.Where(p => p.ApiKeyEnv is not null).GroupBy(p => p.ApiKeyEnv!, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var providers = string.Join(", ", group.Select(p => p.Name));
            yield return string.IsNullOrEmpty(environment.GetValueOrDefault(group.Key))
                ? DoctorCheck.Fail("key " + group.Key, $"${group.Key} is not set; provider {providers} cannot authenticate", $"set {group.Key} in the daemon's environment (systemd: an EnvironmentFile= of mode 600)")
                : DoctorCheck.Pass("key " + group.Key, $"set (provider {providers}); the value is never shown");
        }
    }

    private static async Task<DoctorCheck> GitCheckAsync(string? path, CancellationToken ct)
    {
        var git = Executables.Find("git", path);
        if (git is null)
        {
            return DoctorCheck.Fail("git", "git is not on PATH; the compound review and worktrees need it", "apt-get install git");
        }

        var (exit, output) = await RunAsync(git, ["--version"], ct);
        return exit == 0 ? DoctorCheck.Pass("git", $"{git}: {output.Trim()}") : DoctorCheck.Fail("git", $"{git} --version exited {exit}", "reinstall git");
    }

    private static string WorktreeRoot(DoctorOptions options) =>
        options.Environment.GetValueOrDefault("DF_WORKTREES") is { Length: > 0 } root ? Path.GetFullPath(root) : Path.Combine(options.Data.Path, "worktrees");

    /// <summary>The directory is writable, or could be created (its nearest existing ancestor is a writable directory).</summary>
    internal static DoctorCheck WritableCheck(string check, string dir, string what, string fix)
    {
        var existing = dir;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                return DoctorCheck.Fail(check, $"{dir}: {existing} is a file, not a directory ({what})", fix);
            }

            existing = Path.GetDirectoryName(existing);
            if (existing is null)
            {
                return DoctorCheck.Fail(check, $"{dir}: no existing parent ({what})", fix);
            }
        }

        var probe = Path.Combine(existing, $".df-doctor-{Environment.ProcessId}");
        try
        {
            File.WriteAllText(probe, "probe");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return DoctorCheck.Fail(check, $"{dir} is not writable: {e.Message} ({what})", fix);
        }

        return DoctorCheck.Pass(check, existing == dir ? $"{dir} is writable" : $"{dir} will be created (in {existing}, writable)");
    }

    private static DoctorCheck SpaceCheck(string dir)
    {
        var existing = dir;
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            existing = parent;
        }

        long free;
        try
        {
            free = new DriveInfo(existing).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return DoctorCheck.Warn("disk space", $"cannot tell for {existing}: {e.Message}", "check with df -h");
        }

        var text = $"{free / (1024.0 * 1024 * 1024):0.0} GiB free for {dir}";
        return free < MinFreeBytes
            ? DoctorCheck.Fail("disk space", text + " (under 512 MiB: the journal and agent logs will fail)", "free space or move the data directory (--data-dir)")
            : free < LowFreeBytes
                ? DoctorCheck.Warn("disk space", text + " (under 5 GiB)", "free space; agent logs keep 3 x 16 MiB per agent, the journal grows with history")
                : DoctorCheck.Pass("disk space", text);
    }

    /// <summary>The SQLite store's own consistency check (read-only; safe while the daemon runs).</summary>
    internal static DoctorCheck StoreCheck(DataDirectory data)
    {
        if (!File.Exists(data.Database))
        {
            return DoctorCheck.Pass("store", $"{data.Database} not created yet (the daemon creates it)");
        }

        try
        {
            using var connection = new SqliteConnection($"Data Source={data.Database};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA quick_check;";
            var result = command.ExecuteScalar() as string;
            return result == "ok"
                ? DoctorCheck.Pass("store", $"SQLite {data.Database}: quick_check ok ({new FileInfo(data.Database).Length / 1024} KiB)")
                : DoctorCheck.Fail("store", $"SQLite {data.Database} is damaged: {result}", RestoreFix(data));
        }
        catch (SqliteException e)
        {
            return DoctorCheck.Fail("store", $"SQLite {data.Database} cannot be read: {e.Message}", RestoreFix(data));
        }
    }

    private static string RestoreFix(DataDirectory data) =>
        $"stop the daemon, keep the damaged directory aside, restore the latest backup: df restore FILE --data-dir NEWDIR (then df up --data-dir NEWDIR); was {data.Path}";

    private static async Task<DoctorCheck> PostgresCheckAsync(string connectionString, CancellationToken ct)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 5 };
        }
        catch (ArgumentException e)
        {
            return DoctorCheck.Fail("store", $"the PostgreSQL connection string is invalid: {e.Message}", "fix --postgres / DF_POSTGRES (Host=...;Username=...;Password=...;Database=...)");
        }

        var where = $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}";
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT version()", connection);
            var version = (string?)await command.ExecuteScalarAsync(ct);
            return DoctorCheck.Pass("store", $"{where}: {version?.Split(" on ")[0]}");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or SocketException or InvalidOperationException)
        {
            return DoctorCheck.Fail("store", $"{where} is not reachable: {e.Message}", "start PostgreSQL or fix --postgres / DF_POSTGRES; see the daemon's docs/fleet.md and README 'On a server'");
        }
    }

    private static DoctorCheck ReleaseCheck(DataDirectory data)
    {
        var stamp = DataStamp.Read(data.Path);
        if (stamp is null)
        {
            return DoctorCheck.Pass("release", $"no release stamp yet (written at the daemon's next start); this release writes data format {DataStamp.CurrentFormat}");
        }

        return DataStamp.Current.Format >= stamp.Format
            ? DoctorCheck.Pass("release", $"data directory format {stamp.Format} (written by {stamp.WrittenBy}); this release reads formats up to {DataStamp.Current.Format}")
            : DoctorCheck.Fail("release", $"the data directory was written by a newer release ({stamp.WrittenBy}, format {stamp.Format}); this one reads up to {DataStamp.Current.Format}", $"run the newer release, or restore a backup taken before the upgrade into a new directory (df restore FILE --data-dir NEWDIR)");
    }

    private static DoctorCheck BubblewrapCheck(string? path) =>
        Executables.Find("bwrap", path) is { } bwrap
            ? DoctorCheck.Pass("sandbox bwrap", $"{bwrap}")
            : DoctorCheck.Warn("sandbox bwrap", "bubblewrap (bwrap) is not installed: agents cannot be sandboxed", "apt-get install bubblewrap");

    /// <summary>Unprivileged user namespaces (what bubblewrap needs), tried for real: bwrap when present, else unshare.</summary>
    private static async Task<DoctorCheck> UserNamespacesCheckAsync(string? path, CancellationToken ct)
    {
        var max = ReadProc("/proc/sys/user/max_user_namespaces");
        if (max == "0")
        {
            return DoctorCheck.Warn("user namespaces", "disabled (user.max_user_namespaces = 0)", "sysctl -w user.max_user_namespaces=15000 (and in /etc/sysctl.d/)");
        }

        if (ReadProc("/proc/sys/kernel/unprivileged_userns_clone") == "0" && !Native.IsRoot)
        {
            return DoctorCheck.Warn("user namespaces", "unprivileged user namespaces are off (kernel.unprivileged_userns_clone = 0)", "sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d/)");
        }

        var (tool, args) = Executables.Find("bwrap", path) is { } bwrap
            ? (bwrap, new[] { "--unshare-user", "--ro-bind", "/", "/", "true" })
            : (Executables.Find("unshare", path), new[] { "--user", "true" });
        if (tool is null)
        {
            return DoctorCheck.Warn("user namespaces", "neither bwrap nor unshare is installed to try one", "apt-get install bubblewrap");
        }

        var (exit, output) = await RunAsync(tool, args, ct);
        return exit == 0
            ? DoctorCheck.Pass("user namespaces", $"a user namespace was created ({Path.GetFileName(tool)})")
            : DoctorCheck.Warn("user namespaces", $"{Path.GetFileName(tool)} could not create a user namespace (exit {exit}: {output.Trim()})", "allow unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu, user.max_user_namespaces > 0)");
    }

    /// <summary>A cgroup v2 tree the daemon may write (per-run limits): the unified root, the hybrid /sys/fs/cgroup/unified, or a delegated subtree.</summary>
    private static DoctorCheck CgroupCheck()
    {
        var own = ReadProc("/proc/self/cgroup")?.Split('\n').FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..];
        foreach (var root in new[] { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" })
        {
            if (!File.Exists(Path.Combine(root, "cgroup.controllers")) && !File.Exists(Path.Combine(root, "cgroup.procs")))
            {
                continue;
            }

            var mine = own is { Length: > 1 } ? Path.Combine(root, own.TrimStart('/')) : root;
            foreach (var dir in new[] { mine, root }.Distinct())
            {
                if (Directory.Exists(dir) && CanCreateChild(dir))
                {
                    return DoctorCheck.Pass("cgroups", $"cgroup v2 at {dir} is writable (a child cgroup was created and removed)");
                }
            }

            return DoctorCheck.Warn("cgroups", $"cgroup v2 at {mine} is not writable by this user: per-run limits fall back to rlimits", "run under systemd with Delegate=yes (deploy/systemd/darkfactory.service does)");
        }

        return DoctorCheck.Warn("cgroups", "no cgroup v2 hierarchy mounted: per-run limits fall back to rlimits", "boot with the unified cgroup hierarchy (systemd.unified_cgroup_hierarchy=1)");
    }

    private static bool CanCreateChild(string cgroup)
    {
        var child = Path.Combine(cgroup, $"df-doctor-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(child);
            Directory.Delete(child);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task<DoctorCheck> ClockCheckAsync(string? path, CancellationToken ct)
    {
        if (Executables.Find("timedatectl", path) is { } timedatectl)
        {
            var (exit, output) = await RunAsync(timedatectl, ["show", "-p", "NTPSynchronized", "--value"], ct);
            if (exit == 0)
            {
                return output.Trim() == "yes"
                    ? DoctorCheck.Pass("clock", $"synchronised (NTP); now {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC")
                    : DoctorCheck.Warn("clock", "not synchronised: schedules and rate-limit reset times drift", "timedatectl set-ntp true");
            }
        }

        if (File.Exists("/run/systemd/timesync/synchronized"))
        {
            return DoctorCheck.Pass("clock", "synchronised (systemd-timesyncd)");
        }

        return DoctorCheck.Warn("clock", $"cannot tell whether the clock is synchronised (no systemd here); now {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC", "run an NTP client (chrony, systemd-timesyncd)");
    }

    private static DoctorCheck TimeZonesCheck(FleetSpec? fleet)
    {
        var zones = new SortedSet<string>(StringComparer.Ordinal) { "UTC" };
        if (fleet is not null)
        {
            zones.UnionWith(fleet.Agents.Where(a => a.Schedule is not null).Select(a => a.Timezone));
            if (fleet.CompoundReview is { } review)
            {
                zones.Add(review.Timezone);
            }
        }

        zones.Add("Europe/Berlin"); // any named zone: proves the time zone database is installed
        var missing = zones.Where(z => !TimeZoneInfo.TryFindSystemTimeZoneById(z, out _)).ToList();
        return missing.Count == 0
            ? DoctorCheck.Pass("time zones", $"known: {string.Join(", ", zones)}")
            : DoctorCheck.Fail("time zones", $"unknown here: {string.Join(", ", missing)} (schedules in them cannot fire)", "apt-get install tzdata");
    }

    private static async Task<DoctorCheck> PortCheckAsync(DoctorOptions options, CancellationToken ct)
    {
        if (!DaemonHost.TryParseListen(options.Listen, out var endpoint))
        {
            return DoctorCheck.Fail("port", $"--listen '{options.Listen}' is not an address:port", "for example --listen 127.0.0.1:7780");
        }

        if (endpoint.Port == 0)
        {
            return DoctorCheck.Pass("port", $"{options.Listen}: the daemon picks a free port");
        }

        try
        {
            using var listener = new TcpListener(endpoint);
            listener.Start();
            listener.Stop();
            return DoctorCheck.Pass("port", $"{endpoint} is free for the API");
        }
        catch (SocketException e)
        {
            // in use: by this data directory's own daemon is fine
            if (options.Data.ReadEndpoint() is { } daemon && Uri.TryCreate(daemon.Url, UriKind.Absolute, out var url) && url.Port == endpoint.Port && await HealthyAsync(url, ct))
            {
                return DoctorCheck.Pass("port", $"{endpoint}: this data directory's daemon (pid {daemon.Pid}) is listening and healthy");
            }

            return DoctorCheck.Fail("port", $"{endpoint} is not available: {e.Message}", $"stop what listens there (ss -ltnp 'sport = :{endpoint.Port}') or pick another --listen");
        }
    }

    private static async Task<bool> HealthyAsync(Uri url, CancellationToken ct)
    {
        try
        {
            using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
            return (await http.GetAsync("/api/health", ct)).StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static string? ReadProc(string file)
    {
        try
        {
            return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Runs a short probe command (stdin closed, output captured, killed after 10 s).</summary>
    private static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var process = Process.Start(psi)!;
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(ProbeTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"no answer within {ProbeTimeout.TotalSeconds:0} s");
            }

            return (process.ExitCode, (await stdout) + (await stderr));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    [GeneratedRegex(@"\d+\.\d+\.\d+")]
    private static partial Regex Semver();
}
