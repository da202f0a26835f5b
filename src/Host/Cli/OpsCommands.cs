using System.CommandLine;
using DarkFactory.Host.Ops;

namespace DarkFactory.Host.Cli;

/// <summary>`df doctor`, `df backup`, `df restore`, `df service install`: running Dark Factory on a server.</summary>
public static class OpsCommands
{
    public static Command Doctor(Func<ParseResult, DataDirectory> data)
    {
        var fleet = new Option<string>("--fleet") { Description = "The fleet file the daemon runs", DefaultValueFactory = _ => "fleet.yaml" };
        var listen = new Option<string>("--listen") { Description = "The API address the daemon listens on", DefaultValueFactory = _ => "127.0.0.1:7780" };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string (default: $DF_POSTGRES; else the SQLite store)" };
        var json = CliApp.JsonOption("Print a JSON array of {check, ok, detail, fix, severity}");
        var command = new Command(
            "doctor",
            "Check this machine for what the daemon needs: AI CLIs and their keys, git, the data directory and its store, the sandbox's prerequisites, PostgreSQL, clock, time zones, the port. One line per check with what to do; exit 1 when something would stop the fleet.\nExample: ./df doctor --fleet /etc/darkfactory/fleet.yaml --data-dir /var/lib/darkfactory")
        {
            fleet, listen, postgres, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new DoctorOptions(Path.GetFullPath(parse.GetValue(fleet)!), data(parse), parse.GetValue(listen)!, parse.GetValue(postgres), Actors.Supervision.LayerServices.CurrentEnvironment());
            var checks = await Ops.Doctor.RunAsync(options, ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(checks, DarkFactoryJson.Indented));
            }
            else
            {
                var width = checks.Max(c => c.Check.Length);
                foreach (var c in checks)
                {
                    var mark = c.Ok ? "ok  " : c.Severity == DoctorSeverity.Error ? "FAIL" : "warn";
                    Console.WriteLine($"{mark}  {c.Check.PadRight(width)}  {c.Detail}{(c.Ok ? string.Empty : $"\n      {new string(' ', width)}  fix: {c.Fix}")}");
                }

                var blocking = checks.Count(c => c.Blocks);
                var warnings = checks.Count(c => !c.Ok && !c.Blocks);
                Console.WriteLine(blocking == 0 ? $"ready ({warnings} warning(s))" : $"{blocking} problem(s) would stop the fleet, {warnings} warning(s)");
            }

            return checks.Any(c => c.Blocks) ? 1 : 0;
        });
        return command;
    }

    public static Command BackupCommand(Func<ParseResult, DataDirectory> data)
    {
        var file = new Argument<string>("file") { Description = "The archive to write (a gzipped tar, owner-only)" };
        var postgres = new Option<string?>("--postgres") { Description = "The daemon's PostgreSQL connection string, if it uses one (default: $DF_POSTGRES)" };
        var json = CliApp.JsonOption("Print what the archive holds as JSON");
        var command = new Command(
            "backup",
            "Back up a data directory while the daemon runs: the SQLite store (online backup) and the directory's other state (review reports, projects, the release stamp). With PostgreSQL, prints the pg_dump to run for the journal.\nExample: ./df backup /srv/backups/df-$(date +%F).tar.gz --data-dir /var/lib/darkfactory")
        {
            file, postgres, json,
        };
        command.SetAction(parse =>
        {
            var usesPostgres = !string.IsNullOrWhiteSpace(parse.GetValue(postgres) ?? Environment.GetEnvironmentVariable("DF_POSTGRES"));
            BackupManifest manifest;
            try
            {
                manifest = Backup.Create(data(parse), parse.GetValue(file)!, usesPostgres);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                throw new CliException("backup failed: " + e.Message);
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(manifest, DarkFactoryJson.Indented));
            }
            else
            {
                Console.WriteLine($"{Path.GetFullPath(parse.GetValue(file)!)}: {manifest.Files} file(s), {manifest.Bytes / 1024} KiB from {manifest.DataDir} ({manifest.Store})");
            }

            if (usesPostgres)
            {
                Console.Error.WriteLine(Backup.PostgresGuidance);
            }

            return 0;
        });
        return command;
    }

    public static Command RestoreCommand(Option<string?> dataDir)
    {
        var file = new Argument<string>("file") { Description = "An archive written by df backup" };
        var command = new Command(
            "restore",
            "Restore a backup into a new data directory (refused when it is not empty); then start the daemon on it.\nExample: ./df restore /srv/backups/df-2026-12-06.tar.gz --data-dir /var/lib/darkfactory-restored")
        {
            file,
        };
        command.SetAction(parse =>
        {
            var target = parse.GetValue(dataDir) ?? throw new CliException("restore needs the new data directory: --data-dir NEWDIR", 2);
            try
            {
                var manifest = Backup.Restore(parse.GetValue(file)!, target);
                Console.WriteLine($"restored {manifest.Files} file(s) of {manifest.DataDir} (backed up {manifest.CreatedAt:yyyy-MM-dd HH:mm} UTC by {manifest.Release}) into {Path.GetFullPath(target)}");
                Console.WriteLine($"start it with: df up --data-dir {Path.GetFullPath(target)} --fleet FILE");
                if (manifest.Store == "postgresql")
                {
                    Console.Error.WriteLine("the journal was in PostgreSQL: restore the database from its pg_dump too (pg_restore), then start with --postgres");
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                throw new CliException("restore refused: " + e.Message);
            }

            return 0;
        });
        return command;
    }

    public static Command Service(Func<ParseResult, DataDirectory> data)
    {
        var user = new Option<bool>("--user") { Description = "A unit for your own service manager (systemctl --user), in ~/.config/systemd/user" };
        var fleet = new Option<string>("--fleet") { Description = "The fleet file the daemon runs", DefaultValueFactory = _ => "fleet.yaml" };
        var listen = new Option<string>("--listen") { Description = "The API address", DefaultValueFactory = _ => "127.0.0.1:7780" };
        var runAs = new Option<string>("--run-as") { Description = "System units: the account the daemon runs as (create it first; 'root' to run as root)", DefaultValueFactory = _ => "darkfactory" };
        var output = new Option<string?>("--output") { Description = "Write the unit here instead of /etc/systemd/system (or ~/.config/systemd/user); '-' prints it" };
        var install = new Command(
            "install",
            "Write the systemd unit of the daemon with this machine's paths (this df, the fleet file, the data directory), then print the systemctl commands that start it.\nExample: sudo ./df service install --fleet /etc/darkfactory/fleet.yaml --data-dir /var/lib/darkfactory")
        {
            user, fleet, listen, runAs, output,
        };
        install.SetAction(parse =>
        {
            var userUnit = parse.GetValue(user);
            var options = new SystemdUnitOptions(
                SystemdUnit.CurrentExec(),
                Path.GetFullPath(parse.GetValue(fleet)!),
                data(parse).Path,
                parse.GetValue(listen)!,
                parse.GetValue(runAs),
                userUnit,
                userUnit ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "darkfactory", "environment") : "/etc/darkfactory/environment");
            var unit = SystemdUnit.Render(options);
            var target = parse.GetValue(output) ?? SystemdUnit.InstallPath(userUnit);
            if (target == "-")
            {
                Console.Write(unit);
                return 0;
            }

            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
                File.WriteAllText(target, unit);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot write {target}: {e.Message}{(userUnit ? string.Empty : " (a system unit needs root: sudo, or --user)")}");
            }

            var systemctl = userUnit ? "systemctl --user" : "systemctl";
            Console.WriteLine($"wrote {Path.GetFullPath(target)}");
            if (!userUnit && options.User is { Length: > 0 } account && account != "root")
            {
                Console.WriteLine($"  id {account} || useradd --system --home-dir {options.DataDir} --shell /usr/sbin/nologin {account}");
            }

            Console.WriteLine($"  install -m 600 /dev/null {options.EnvironmentFile}   # then add the provider keys (ANTHROPIC_API_KEY=...)");
            Console.WriteLine($"  {systemctl} daemon-reload && {systemctl} enable --now darkfactory");
            Console.WriteLine($"  journalctl {(userUnit ? "--user " : string.Empty)}-u darkfactory -f");
            return 0;
        });
        return new Command("service", "Run the daemon as a systemd service.\nExample: sudo ./df service install") { install };
    }
}
