using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>fleet.yaml <c>agents:</c>: one agent with its env, limits, budget and log (defaults: <see cref="AgentSpec"/>; node pins: FleetReader.Cluster.cs).</summary>
internal sealed partial class FleetReader
{
    private AgentSpec? ReadAgent(YamlNode node, string path)
    {
        if (Section(node, path, FleetKeys.Agent) is not { } f)
        {
            return null;
        }

        var name = RequiredName(f, n => $"invalid agent name '{n}': use 1-63 lowercase letters, digits and '-', starting with a letter or digit");

        var layer = f.Enum<LayerName>("layer");
        if (layer is null && !f.Has("layer"))
        {
            f.Missing("layer", "missing required field 'layer' (safety, core or growth)");
        }

        var command = f.Argv("command");
        var cli = f.String("cli");
        if (cli is null && !f.Has("cli"))
        {
            if (f.Has("command"))
            {
                cli = CliCatalog.Command;
            }
            else
            {
                f.Missing("cli", "missing required field 'cli' (claude, codex, opencode, gemini, or command with a 'command' list)");
            }
        }
        else if (cli is not null && CheckCli(f, "cli", cli, allowCommand: true) && cli == CliCatalog.Command
                 && (command is null || command.Count == 0) && !f.Has("command"))
        {
            f.Error("cli", "cli 'command' needs a non-empty 'command' list (the argv to run)");
        }

        if (command is { Count: > 0 } && command[0].Contains('/') && !Path.IsPathRooted(command[0]))
        {
            command = [Path.GetFullPath(Path.Combine(baseDirectory, command[0])), .. command.Skip(1)];
        }

        var schedule = f.String("schedule");
        CheckCron(f, "schedule", schedule);
        var timezone = f.String("timezone");
        CheckTimezone(f, "timezone", timezone);

        var workdir = f.String("workdir");
        workdir = workdir is null ? baseDirectory : Path.GetFullPath(Path.Combine(baseDirectory, workdir));

        var d = new AgentSpec { Name = "" };
        var agent = d with
        {
            Name = name ?? d.Name,
            Layer = layer ?? LayerName.Growth, // a missing layer is an error (above); growth keeps the rest of the checks going
            Cli = cli ?? d.Cli,
            Command = command ?? d.Command,
            Task = f.String("task"),
            Schedule = schedule,
            Timezone = timezone ?? d.Timezone,
            Capabilities = f.StringList("capabilities") ?? d.Capabilities,
            Provider = f.String("provider"),
            Model = f.String("model"),
            Workdir = workdir,
            Env = f.Node("env") is { } env ? ReadEnv(env, f.PathOf("env")) : d.Env,
            Limits = f.Node("limits") is { } lim ? ReadResourceLimits(lim, f.PathOf("limits")) : d.Limits,
            MaxRuntime = f.Duration("max_runtime"),
            Restart = f.Enum<RestartType>("restart"),
            Grace = f.Duration("grace") ?? d.Grace,
            ResultGrace = f.Duration("result_grace") ?? d.ResultGrace,
            MinUptime = f.Duration("min_uptime") ?? d.MinUptime,
            Node = ReadNodePin(f),
            Failover = f.Enum<FailoverPolicy>("failover"),
            Overlap = f.Enum<OverlapPolicy>("overlap") ?? d.Overlap,
            QueueLimit = f.Int("queue_limit") ?? d.QueueLimit,
            CatchUp = f.Enum<CatchUpPolicy>("catch_up") ?? d.CatchUp,
            CatchUpLimit = f.Int("catch_up_limit") ?? d.CatchUpLimit,
            Jitter = f.Duration("jitter") ?? d.Jitter,
            Autostart = f.Bool("autostart"),
            SourceLine = (int)node.Start.Line,
            Budget = f.Node("budget") is { } budget ? ReadAgentBudget(budget, f.PathOf("budget")) : d.Budget,
            PermissionMode = f.Enum<PermissionMode>("permission_mode") ?? d.PermissionMode,
            AllowedTools = f.StringList("allowed_tools") ?? d.AllowedTools,
            Sandbox = f.Enum<SandboxMode>("sandbox") ?? d.Sandbox,
            Network = f.Enum<NetworkAccess>("network") ?? d.Network,
            Log = f.Node("log") is { } log ? ReadLogRetention(log, f.PathOf("log")) : d.Log,
            Isolation = f.Enum<IsolationMode>("isolation"),
            Gates = f.Items("gates", ReadGate),
        };
        f.Require("network", agent.Network == NetworkAccess.Open || agent.Sandbox != SandboxMode.Off, "network: closed needs the sandbox; remove sandbox: off");
        f.Require("max_runtime", agent.MaxRuntime is null || agent.MaxRuntime > TimeSpan.Zero, "max_runtime must be a positive duration");
        f.Require("grace", agent.Grace >= TimeSpan.Zero, "grace must not be negative");
        f.Require("result_grace", agent.ResultGrace > TimeSpan.Zero, "result_grace must be a positive duration (how long a CLI may go on after its final result)");
        f.Require("min_uptime", agent.MinUptime >= TimeSpan.Zero, "min_uptime must not be negative");
        f.Require("queue_limit", agent.QueueLimit >= 1, "queue_limit must be at least 1");
        f.Require("catch_up_limit", agent.CatchUpLimit >= 1, "catch_up_limit must be at least 1");
        f.Require("jitter", agent.Jitter >= TimeSpan.Zero, "jitter must not be negative");
        map.Bind(agent, path);
        return agent;
    }

    private Dictionary<string, EnvValue> ReadEnv(YamlNode node, string path)
    {
        var result = new Dictionary<string, EnvValue>(StringComparer.Ordinal);
        foreach (var (k, key, v, p) in Entries(node, path, "environment variable"))
        {
            if (!EnvName().IsMatch(key))
            {
                Error(k, p, $"'{key}' is not a valid environment variable name (letters, digits and '_', not starting with a digit)");
                continue;
            }

            if (v is YamlScalarNode s)
            {
                if (LooksLikeSecret(key))
                {
                    Error(v, p, "secrets must not be written in fleet.yaml: use {from_env: VAR} or {from_file: PATH}");
                    continue;
                }

                result[key] = EnvValue.Literal(IsNull(s) ? "" : s.Value ?? "");
                continue;
            }

            if (v is not YamlMappingNode vm)
            {
                Error(v, p, $"expected a string or {{from_env: VAR}} / {{from_file: PATH}}, got {Describe(v)}");
                continue;
            }

            var f = Fields(vm, p, FleetKeys.EnvValue);
            var fromEnv = f.String("from_env");
            var fromFile = f.String("from_file");
            if (f.Has("from_env") == f.Has("from_file"))
            {
                Error(vm, p, "give exactly one of from_env or from_file");
                continue;
            }

            if (fromEnv is not null && !EnvName().IsMatch(fromEnv))
            {
                f.Error("from_env", $"'{fromEnv}' is not a valid environment variable name");
                continue;
            }

            result[key] = new EnvValue
            {
                FromEnv = fromEnv,
                FromFile = fromFile is null ? null : Path.GetFullPath(Path.Combine(baseDirectory, fromFile)),
            };
        }

        return result;
    }

    private LogRetention ReadLogRetention(YamlNode node, string path) => ReadSection(node, path, FleetKeys.AgentLog, new LogRetention(), (f, d) =>
    {
        var l = d with
        {
            MaxBytes = f.Size("max_size") ?? d.MaxBytes,
            Keep = f.Int("keep") ?? d.Keep,
        };
        f.Require("max_size", l.MaxBytes >= LogRetention.MinMaxBytes, "max_size must be at least 64KiB");
        f.Require("max_size", l.MaxBytes <= LogRetention.MaxMaxBytes, "max_size must be at most 1TiB");
        f.Require("keep", l.Keep is >= 0 and <= 1000, "keep must be between 0 and 1000");
        return l;
    });

    private ResourceLimits ReadResourceLimits(YamlNode node, string path) => ReadSection(node, path, FleetKeys.AgentLimits, new ResourceLimits(), (f, _) =>
    {
        var cpu = f.Duration("cpu_seconds");
        var l = new ResourceLimits
        {
            MemoryBytes = f.Size("memory"),
            CpuSeconds = cpu is null ? null : (long)Math.Ceiling(cpu.Value.TotalSeconds),
            OpenFiles = f.Int("open_files"),
        };
        f.Require("memory", l.MemoryBytes is null or >= Sizes.MiB, "memory must be at least 1MiB");
        f.Require("cpu_seconds", l.CpuSeconds is null or > 0, "cpu_seconds must be positive");
        f.Require("open_files", l.OpenFiles is null or >= 8, "open_files must be at least 8");
        return l;
    });

    private AgentBudget ReadAgentBudget(YamlNode node, string path) => ReadSection(node, path, FleetKeys.AgentBudget, new AgentBudget(), (f, _) =>
    {
        var b = new AgentBudget { PerHour = f.Decimal("per_hour"), PerDay = f.Decimal("per_day"), PerMonth = f.Decimal("per_month") };
        foreach (var (key, value) in new[] { ("per_hour", b.PerHour), ("per_day", b.PerDay), ("per_month", b.PerMonth) })
        {
            f.Require(key, value is null or >= 0, $"{key} must not be negative");
        }

        return b;
    });
}
