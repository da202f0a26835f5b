using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Scenarios;

/// <summary>The outcome of loading a scenario file: the scenario when there is no error, and every error found (file:line:column: field).</summary>
public sealed record ScenarioLoadResult(Scenario? Scenario, IReadOnlyList<FleetDiagnostic> Errors)
{
    public bool Ok => Scenario is not null && Errors.Count == 0;
}

/// <summary>
/// Reads and validates a scenario file. Every problem is reported with file, line, column and field, like
/// fleet.yaml's; the fleet (a file the scenario names, <c>--fleet</c>, or an inline <c>fleet:</c> mapping) is
/// validated by the fleet loader itself, its diagnostics placed in the scenario file for an inline one.
/// </summary>
public static class ScenarioLoader
{
    private static readonly HashSet<string> TopKeys = ["scenario", "description", "fleet", "seed", "start", "until", "time", "missing", "agents", "review", "projects", "cluster", "steps", "expect"];
    private static readonly HashSet<string> BehaviourKeys = ["run", "hang", "exit", "signal", "ignore_sigterm", "output", "output_every", "usage", "limited"];
    private static readonly HashSet<string> StepKeys =
    [
        "at", "inject", "agent", "provider", "until", "exit", "task", "cost_usd", "input_tokens", "output_tokens", "down", "fleet", "allow_empty",
        "project", "description", "personas", "repo", "base", "max_runtime", "create_pr", "extend", "node",
    ];

    /// <summary>Step keys only a project step has (and which of them).</summary>
    private static readonly Dictionary<string, StepKind[]> ProjectKeys = new(StringComparer.Ordinal)
    {
        ["project"] = [StepKind.InitProject, StepKind.StartProject, StepKind.PauseProject, StepKind.ResumeProject],
        ["description"] = [StepKind.InitProject],
        ["personas"] = [StepKind.InitProject],
        ["repo"] = [StepKind.InitProject],
        ["base"] = [StepKind.InitProject],
        ["max_runtime"] = [StepKind.InitProject],
        ["create_pr"] = [StepKind.InitProject],
        ["extend"] = [StepKind.ResumeProject],
    };
    private static readonly HashSet<string> ExpectKeys = ["event", "never", "where", "after", "within", "count", "at_least", "at_most"];

    private static readonly Dictionary<string, StepKind> Injections = new(StringComparer.Ordinal)
    {
        ["crash"] = StepKind.Crash,
        ["exit"] = StepKind.Exit,
        ["provider_limited"] = StepKind.ProviderLimited,
        ["usage"] = StepKind.Usage,
        ["run"] = StepKind.Run,
        ["stop"] = StepKind.Stop,
        ["restart"] = StepKind.Restart,
        ["daemon_restart"] = StepKind.DaemonRestart,
        ["reload"] = StepKind.Reload,
        ["journal_failure"] = StepKind.JournalFailure,
        ["init_project"] = StepKind.InitProject,
        ["start_project"] = StepKind.StartProject,
        ["pause_project"] = StepKind.PauseProject,
        ["resume_project"] = StepKind.ResumeProject,
        ["lose_node"] = StepKind.LoseNode,
        ["restore_node"] = StepKind.RestoreNode,
    };

    /// <param name="fleetOverride">A fleet file that replaces the one the scenario names (<c>--fleet</c>).</param>
    public static ScenarioLoadResult LoadFile(string path, string? fleetOverride = null, int? seedOverride = null)
    {
        string yaml;
        try
        {
            yaml = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var why = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
            return new ScenarioLoadResult(null, [new FleetDiagnostic(DiagnosticSeverity.Error, path, 1, 1, "", $"cannot read scenario file '{System.IO.Path.GetFullPath(path)}': {why}")]);
        }

        return Parse(yaml, path, fleetOverride, seedOverride);
    }

    /// <summary>A library entry: the scenario's name and description, read without running or validating the rest.</summary>
    public static ScenarioListing Describe(string path)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(path);
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(path)));
            if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode root)
            {
                string? Get(string key) => root.Children.TryGetValue(new YamlScalarNode(key), out var n) && n is YamlScalarNode s ? s.Value : null;
                return new ScenarioListing(Get("scenario") ?? name, path, (Get("description") ?? "").Trim());
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or YamlException)
        {
            return new ScenarioListing(name, path, "(unreadable: " + e.Message + ")");
        }

        return new ScenarioListing(name, path, "");
    }

    public static ScenarioLoadResult Parse(string yaml, string path, string? fleetOverride = null, int? seedOverride = null)
    {
        var reader = new Reader(path);
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yaml));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            reader.Error(e.Start, "", "invalid YAML: " + (e.InnerException?.Message ?? e.Message));
            return reader.Result(null);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet gives up this way on some truncated or mangled documents (as the fleet loader found)
            reader.Error(scanner.CurrentPosition, "", "invalid YAML: the parser cannot read the document from here (an unclosed '[', '{' or quote?)");
            return reader.Result(null);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            reader.Error(Mark.Empty, "", "a scenario is a mapping (scenario, fleet, start, until, agents, steps, expect)");
            return reader.Result(null);
        }

        return reader.Result(reader.Read(root, yaml, fleetOverride, seedOverride));
    }

    private sealed class Reader(string path)
    {
        private readonly List<FleetDiagnostic> _errors = [];

        public ScenarioLoadResult Result(Scenario? scenario) => new(_errors.Count == 0 ? scenario : null, _errors);

        public void Error(Mark at, string field, string message) =>
            _errors.Add(new FleetDiagnostic(DiagnosticSeverity.Error, path, Math.Max(1, (int)at.Line), Math.Max(1, (int)at.Column), field, message));

        private void Error(YamlNode node, string field, string message) => Error(node.Start, field, message);

        public Scenario? Read(YamlMappingNode root, string yaml, string? fleetOverride, int? seedOverride)
        {
            UnknownKeys(root, TopKeys, "");
            var name = Scalar(root, "scenario", "scenario") ?? System.IO.Path.GetFileNameWithoutExtension(path);
            var description = Scalar(root, "description", "description") ?? "";
            var seed = Int(root, "seed", "seed") ?? 1;
            var start = DateTimeOffset.Parse("2026-01-05T09:00:00Z", CultureInfo.InvariantCulture);
            if (Node(root, "start") is { } startNode)
            {
                if (startNode is YamlScalarNode { Value: { } s } && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                {
                    start = parsed.ToUniversalTime();
                }
                else
                {
                    Error(startNode, "start", "not a date and time (e.g. 2026-12-07T01:55:00Z)");
                }
            }

            TimeSpan until = TimeSpan.Zero;
            if (Node(root, "until") is not { } untilNode)
            {
                Error(root, "until", "missing: how long the scenario runs in virtual time (e.g. 2h), or the instant it ends");
            }
            else if (At(untilNode, "until", start) is { } u)
            {
                until = u;
                if (until <= TimeSpan.Zero)
                {
                    Error(untilNode, "until", "must be after the start");
                }
            }

            var real = false;
            if (Node(root, "time") is YamlScalarNode { Value: { } mode } timeNode && mode != "virtual")
            {
                real = mode == "real";
                if (!real)
                {
                    Error(timeNode, "time", $"unknown time mode '{mode}' (virtual, real)");
                }
            }

            if (real)
            {
                RealTimeLimits(root, until);
            }

            var fleet = ReadFleet(root, yaml, fleetOverride, out var fleetSource);

            // a reload may bring agents and providers the first fleet does not have: steps and behaviours may name them
            var reloads = ReadReloads(root, yaml);
            var fleets = fleet is null ? null : new[] { fleet }.Concat(reloads.Values.Select(r => r.Loaded.Fleet).OfType<FleetSpec>()).ToList();
            var missing = Strings(root, "missing", "missing");
            var agents = new Dictionary<string, IReadOnlyList<RunBehaviour>>(StringComparer.Ordinal);
            if (Node(root, "agents") is { } agentsNode)
            {
                if (agentsNode is not YamlMappingNode map)
                {
                    Error(agentsNode, "agents", "a mapping of agent name to the behaviour of its runs");
                }
                else
                {
                    foreach (var (key, value) in map.Children)
                    {
                        var agent = ((YamlScalarNode)key).Value ?? "";
                        var field = "agents." + agent;
                        if (fleets is not null && !fleets.Any(f => f.Agents.Any(a => a.Name == agent)))
                        {
                            Error(key, field, $"no agent '{agent}' in the fleet ({fleetSource})");
                        }

                        agents[agent] = value switch
                        {
                            YamlSequenceNode runs => runs.Children.Select((r, i) => Behaviour(r, $"{field}[{i}]")).ToList(),
                            _ => [Behaviour(value, field)],
                        };
                    }
                }
            }

            var review = Script(root, "review", todos: true);
            var projects = Script(root, "projects", todos: false);
            var timing = fleet is null ? ClusterTiming.Default : Timing(root, fleet, fleetSource);
            var steps = new List<ScenarioStep>();
            var nodeSteps = new List<(ScenarioStep Step, YamlNode Yaml, string Field)>();
            foreach (var (node, i) in Sequence(root, "steps"))
            {
                if (Step(node, $"steps[{i}]", start, fleets, reloads, fleet) is { } step)
                {
                    steps.Add(step);
                    if (step.Kind is StepKind.LoseNode or StepKind.RestoreNode)
                    {
                        nodeSteps.Add((step, node, $"steps[{i}]"));
                    }
                }
            }

            NodeStepsInOrder(nodeSteps);

            var expectations = new List<Expectation>();
            foreach (var (node, i) in Sequence(root, "expect"))
            {
                if (Expect(node, $"expect[{i}]") is { } e)
                {
                    expectations.Add(e);
                }
            }

            if (expectations.Count == 0 && _errors.Count == 0)
            {
                Error(root, "expect", "a scenario checks something: give at least one expectation");
            }

            if (fleet is null)
            {
                return null;
            }

            return new Scenario
            {
                Name = name,
                Description = description,
                Path = path,
                Fleet = fleet,
                FleetSource = fleetSource,
                Seed = seedOverride ?? seed,
                RealTime = real,
                Start = start,
                Until = until,
                Agents = agents,
                Missing = missing,
                Review = review,
                Projects = projects,
                ClusterTiming = timing,
                Steps = steps.OrderBy(s => s.At).ToList(),
                Expectations = expectations,
            };
        }

        private FleetSpec? ReadFleet(YamlMappingNode root, string yaml, string? fleetOverride, out string source)
        {
            FleetLoadResult loaded;
            if (fleetOverride is not null)
            {
                source = fleetOverride;
                loaded = FleetLoader.LoadFile(fleetOverride, _ => true);
                return Take(loaded, null);
            }

            var node = Node(root, "fleet");
            switch (node)
            {
                case null:
                    source = "";
                    Error(root, "fleet", "missing: a fleet file (fleet: ../fleet.yaml) or an inline fleet mapping");
                    return null;
                case YamlScalarNode { Value: { } file }:
                    source = BesideScenario(file);
                    loaded = FleetLoader.LoadFile(source, _ => true);
                    if (loaded.Diagnostics.FirstOrDefault(d => d.IsError && d.Message.StartsWith("cannot read", StringComparison.Ordinal)) is not null)
                    {
                        Error(node, "fleet", $"cannot read the fleet file '{source}'");
                        return null;
                    }

                    return Take(loaded, null);
                case YamlMappingNode inline:
                    source = path + " (inline fleet)";
                    var (text, firstLine, indent) = Slice(yaml, inline);
                    loaded = FleetLoader.Parse(text, path, _ => true);
                    return Take(loaded, (firstLine, indent));
                default:
                    source = "";
                    Error(node, "fleet", "a fleet file path or an inline fleet mapping");
                    return null;
            }
        }

        /// <summary>A file a scenario names, relative to the scenario file's directory.</summary>
        private string BesideScenario(string file) =>
            System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? ".", file));

        /// <summary>An inline fleet's diagnostic at its line and column in the scenario file, its field under <paramref name="field"/>.</summary>
        private static FleetDiagnostic Placed(FleetDiagnostic d, int firstLine, int indent, string field) =>
            d with { Line = d.Line + firstLine - 1, Column = d.Column + indent, Field = d.Field.Length == 0 ? field : field + "." + d.Field };

        /// <summary>The fleet's errors: an inline fleet's placed at their lines in the scenario file, under "fleet.".</summary>
        private FleetSpec? Take(FleetLoadResult loaded, (int FirstLine, int Indent)? inline)
        {
            foreach (var d in loaded.Diagnostics.Where(d => d.IsError))
            {
                _errors.Add(inline is { } at
                    ? Placed(d, at.FirstLine, at.Indent, "fleet")
                    : d);
            }

            return loaded.Ok ? loaded.Fleet : null;
        }

        /// <summary>The inline fleet's own lines, dedented, with the line it starts on and the indentation removed.</summary>
        private static (string Text, int FirstLine, int Indent) Slice(string yaml, YamlMappingNode node)
        {
            if (node.Style == MappingStyle.Flow)
            {
                return FlowSlice(yaml, node);
            }

            var lines = yaml.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
            var first = (int)node.Start.Line;
            // a node's End is where its first event ends: the mapping's last line is its deepest last descendant's
            var end = node.AllNodes.Select(n => n.End).MaxBy(m => m.Index);
            var last = Math.Min(lines.Length, (int)end.Line - (end.Column == 1 && end.Line > first ? 1 : 0));

            var body = lines[(first - 1)..last];
            var indent = (int)node.Start.Column - 1;
            var text = string.Join('\n', body.Select(l => l.Length >= indent && l[..indent].Trim().Length == 0 ? l[indent..] : l.TrimStart()));
            return (text, first, indent);
        }

        /// <summary>
        /// A flow mapping (<c>fleet: { version: 1, agents: [...] }</c>) starts mid-line: its text from its <c>{</c> to
        /// the matching <c>}</c>, after as many spaces as the columns before it, so the fleet loader's lines and
        /// columns are the scenario file's (from its first line on; no indentation to add back).
        /// </summary>
        private static (string Text, int FirstLine, int Indent) FlowSlice(string yaml, YamlMappingNode node)
        {
            // after the mapping's last node come only blanks, commas, comments and the brackets closing the
            // collections it is in (itself too when it is an empty collection: a collection's End is its opening)
            var path = PathToLast(node);
            var open = path.Count(n => n is not YamlScalarNode);
            var to = (int)path[^1].End.Index;
            for (; to < yaml.Length && open > 0; to++)
            {
                switch (yaml[to])
                {
                    case '}' or ']':
                        open--;
                        break;
                    case '#':
                        to = yaml.IndexOf('\n', to) is var eol and >= 0 ? eol : yaml.Length - 1;
                        break;
                }
            }

            var from = (int)node.Start.Index;
            var text = new string(' ', (int)node.Start.Column - 1) + yaml[from..Math.Min(yaml.Length, to)];
            return (text, (int)node.Start.Line, 0);
        }

        /// <summary>The nodes from <paramref name="node"/> down to the one that ends last in the text.</summary>
        private static List<YamlNode> PathToLast(YamlNode node)
        {
            var path = new List<YamlNode> { node };
            while (true)
            {
                var children = path[^1] switch
                {
                    YamlMappingNode m => m.Children.SelectMany(c => new[] { c.Key, c.Value }),
                    YamlSequenceNode q => q.Children,
                    _ => [],
                };
                var last = children.MaxBy(c => c.AllNodes.Max(n => n.End.Index));
                if (last is null)
                {
                    return path;
                }

                path.Add(last);
            }
        }

        private RunBehaviour Behaviour(YamlNode node, string field)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, field, "a run's behaviour: run, hang, exit, signal, ignore_sigterm, output, usage, limited");
                return RunBehaviour.Default;
            }

            UnknownKeys(map, BehaviourKeys, field);
            var hang = Bool(map, "hang", field + ".hang") ?? false;
            var run = Duration(map, "run", field + ".run");
            if (hang && run is not null)
            {
                Error(map, field, "a run that hangs has no 'run' time");
            }

            UsageBehaviour? usage = null;
            if (Node(map, "usage") is YamlMappingNode u)
            {
                UnknownKeys(u, ["input_tokens", "output_tokens", "cost_usd"], field + ".usage");
                usage = new UsageBehaviour(Long(u, "input_tokens", field + ".usage.input_tokens") ?? 0, Long(u, "output_tokens", field + ".usage.output_tokens") ?? 0, Decimal(u, "cost_usd", field + ".usage.cost_usd"));
            }

            LimitBehaviour? limited = null;
            if (Node(map, "limited") is YamlMappingNode l)
            {
                UnknownKeys(l, ["reset_in", "reason", "when"], field + ".limited");
                var when = Scalar(l, "when", field + ".limited.when") ?? "start";
                if (when is not ("start" or "exit"))
                {
                    Error(Node(l, "when")!, field + ".limited.when", $"'{when}' is not start or exit (when the run reports its 429)");
                }

                limited = new LimitBehaviour(Duration(l, "reset_in", field + ".limited.reset_in"), Scalar(l, "reason", field + ".limited.reason") ?? "429 rate limited", AtExit: when == "exit");
            }

            var signal = Int(map, "signal", field + ".signal");
            if (signal is < 1 or > 64)
            {
                Error(Node(map, "signal")!, field + ".signal", "a signal number from 1 to 64");
            }

            var exit = Int(map, "exit", field + ".exit") ?? 0;
            if (exit is < 0 or > 255)
            {
                Error(Node(map, "exit")!, field + ".exit", "an exit code from 0 to 255");
            }

            return new RunBehaviour(hang ? null : run ?? TimeSpan.FromSeconds(30), exit, signal, Bool(map, "ignore_sigterm", field + ".ignore_sigterm") ?? false,
                Strings(map, "output", field + ".output"), usage, limited, OutputEvery(map, field));
        }

        private TimeSpan? OutputEvery(YamlMappingNode map, string field)
        {
            var every = Duration(map, "output_every", field + ".output_every");
            if (every is { } e && (e <= TimeSpan.Zero || Node(map, "output") is null))
            {
                Error(Node(map, "output_every")!, field + ".output_every", e <= TimeSpan.Zero ? "must be more than 0" : "repeats the run's 'output': give the lines");
                return null;
            }

            return every;
        }

        /// <summary><c>time: real</c> runs the fleet's own commands from now, at wall-clock speed: what only virtual time can do is refused.</summary>
        private void RealTimeLimits(YamlMappingNode root, TimeSpan until)
        {
            if (Node(root, "start") is { } startNode)
            {
                Error(startNode, "start", "time: real starts now: leave start out");
            }

            if (until > TimeSpan.FromHours(1))
            {
                Error(Node(root, "until")!, "until", "time: real runs at wall-clock speed: at most 1h");
            }

            foreach (var key in (string[])["agents", "missing"])
            {
                if (Node(root, key) is { } node)
                {
                    Error(node, key, key == "agents"
                        ? "time: real runs the fleet's real commands: scripted behaviours do not apply (use tests/agents scripts as the commands)"
                        : "time: real finds binaries on PATH: missing does not apply");
                }
            }

            foreach (var (node, i) in Sequence(root, "steps"))
            {
                if (node is YamlMappingNode map && Node(map, "inject") is YamlScalarNode { Value: "exit" } exit)
                {
                    Error(exit, $"steps[{i}].inject", "time: real cannot make a real process exit normally: use crash (SIGKILL) or stop");
                }

                if (node is YamlMappingNode m && Node(m, "inject") is YamlScalarNode { Value: "lose_node" or "restore_node" } lose)
                {
                    Error(lose, $"steps[{i}].inject", "time: real runs one node: a virtual cluster's node steps need virtual time");
                }
            }
        }

        /// <summary>
        /// <c>cluster: {detection, stable_after}</c>: how long the virtual cluster takes to see a lost node unreachable and then
        /// to remove it (defaults: the fleet's <c>cluster:</c> timing keys, <see cref="ClusterTiming.Of"/>); only for a fleet that lists <c>cluster.nodes</c>.
        /// </summary>
        private ClusterTiming Timing(YamlMappingNode root, FleetSpec fleet, string fleetSource)
        {
            var fleets = ClusterTiming.Of(fleet.Cluster?.Timing ?? ClusterTimingSpec.Default); // the fleet's own cluster timing keys
            if (Node(root, "cluster") is not { } node)
            {
                return fleets;
            }

            if (node is not YamlMappingNode map)
            {
                Error(node, "cluster", "a mapping: detection, stable_after (durations)");
                return fleets;
            }

            UnknownKeys(map, ["detection", "stable_after"], "cluster");
            if (fleet.Cluster is not { Nodes.Count: > 0 })
            {
                Error(node, "cluster", $"{fleetSource} lists no cluster.nodes: there is no virtual cluster to time");
            }

            var timing = fleets;
            foreach (var (key, value) in (ReadOnlySpan<(string, bool)>)[("detection", true), ("stable_after", false)])
            {
                if (Duration(map, key, "cluster." + key) is { } d)
                {
                    if (d <= TimeSpan.Zero)
                    {
                        Error(Node(map, key)!, "cluster." + key, "must be more than 0s");
                    }

                    timing = value ? timing with { Detection = d } : timing with { StableAfter = d };
                }
            }

            return timing;
        }

        /// <summary>A node is lost only while its daemon runs, and restored only after it was lost (in time order).</summary>
        private void NodeStepsInOrder(List<(ScenarioStep Step, YamlNode Yaml, string Field)> nodeSteps)
        {
            var lost = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (step, yaml, field) in nodeSteps.OrderBy(s => s.Step.At))
            {
                var at = yaml is YamlMappingNode map && Node(map, "node") is { } n ? n : yaml;
                if (step.Node is not { } node)
                {
                    continue;
                }

                if (step.Kind == StepKind.LoseNode && !lost.Add(node))
                {
                    Error(at, field + ".node", $"node {node} is already lost at {TimelineEntry.Format(step.At)} (restore_node it first)");
                }
                else if (step.Kind == StepKind.RestoreNode && !lost.Remove(node))
                {
                    Error(at, field + ".node", $"node {node} is not lost at {TimelineEntry.Format(step.At)}: restore_node follows a lose_node");
                }
            }
        }

        private ScenarioStep? Step(YamlNode node, string field, DateTimeOffset start, IReadOnlyList<FleetSpec>? fleets, Dictionary<YamlNode, ReloadFleet> reloads, FleetSpec? fleet)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, field, "a step: at, inject and its fields");
                return null;
            }

            UnknownKeys(map, StepKeys, field);
            TimeSpan? at = Node(map, "at") is { } atNode ? At(atNode, field + ".at", start) : null;
            if (at is null && Node(map, "at") is null)
            {
                Error(map, field + ".at", "missing: when the step happens (an offset from the start such as 10m, or an instant)");
            }

            var injectName = Scalar(map, "inject", field + ".inject");
            StepKind kind = default;
            if (injectName is null)
            {
                Error(map, field + ".inject", $"missing: what to inject ({string.Join(", ", Injections.Keys)})");
            }
            else if (!Injections.TryGetValue(injectName, out kind))
            {
                Error(Node(map, "inject")!, field + ".inject", $"unknown injection '{injectName}' ({string.Join(", ", Injections.Keys)})");
                injectName = null;
            }

            var agent = Scalar(map, "agent", field + ".agent");
            var provider = Scalar(map, "provider", field + ".provider");
            if (injectName is not null)
            {
                var needsAgent = kind is StepKind.Crash or StepKind.Exit or StepKind.Run or StepKind.Stop or StepKind.Restart;
                if (needsAgent && agent is null)
                {
                    Error(map, field + ".agent", $"missing: the agent to {injectName}");
                }

                if (kind is StepKind.ProviderLimited or StepKind.Usage && provider is null)
                {
                    Error(map, field + ".provider", $"missing: the provider of {injectName}");
                }

                if (kind is not (StepKind.DaemonRestart or StepKind.JournalFailure) && Node(map, "down") is { } down)
                {
                    Error(down, field + ".down", "only a daemon_restart or a journal_failure has a down time");
                }

                if (kind == StepKind.JournalFailure && Node(map, "down") is null)
                {
                    Error(map, field + ".down", "missing: how long the journal stays down (e.g. 10m)");
                }

                if (kind == StepKind.Reload && Node(map, "fleet") is null)
                {
                    Error(map, field + ".fleet", "missing: the fleet file the reload reads (a path, or an inline fleet mapping)");
                }

                foreach (var key in (string[])["fleet", "allow_empty"])
                {
                    if (kind != StepKind.Reload && Node(map, key) is { } only)
                    {
                        Error(only, field + "." + key, $"only a reload has {key}");
                    }
                }

                foreach (var (key, kinds) in ProjectKeys)
                {
                    if (!kinds.Contains(kind) && Node(map, key) is { } only)
                    {
                        Error(only, field + "." + key, $"only {string.Join(" or ", kinds.Select(k => Injections.First(i => i.Value == k).Key))} has {key}");
                    }
                }

                if (ProjectKeys["project"].Contains(kind) && Node(map, "project") is null)
                {
                    Error(map, field + ".project", $"missing: the project to {injectName.Replace("_project", "", StringComparison.Ordinal)} (its name)");
                }

                if (kind == StepKind.InitProject)
                {
                    InitProjectFields(map, field, fleets);
                }

                NodeField(map, field, kind, injectName, fleet);
            }

            if (agent is not null && fleets is not null && !fleets.Any(f => f.Agents.Any(a => a.Name == agent)))
            {
                Error(Node(map, "agent")!, field + ".agent", $"no agent '{agent}' in the fleet");
            }

            if (provider is not null && fleets is not null && !fleets.Any(f => f.Providers.Any(p => p.Name == provider)))
            {
                Error(Node(map, "provider")!, field + ".provider", $"no provider '{provider}' in the fleet");
            }

            DateTimeOffset? until = Node(map, "until") is { } untilNode && At(untilNode, field + ".until", start) is { } u ? start + u : null;
            if (at is null || injectName is null)
            {
                return null;
            }

            return new ScenarioStep(at.Value, kind, (int)map.Start.Line)
            {
                Agent = agent,
                Provider = provider,
                Until = until,
                ExitCode = Int(map, "exit", field + ".exit") ?? 1,
                Task = Scalar(map, "task", field + ".task"),
                CostUsd = Decimal(map, "cost_usd", field + ".cost_usd") ?? 0,
                InputTokens = Long(map, "input_tokens", field + ".input_tokens") ?? 0,
                OutputTokens = Long(map, "output_tokens", field + ".output_tokens") ?? 0,
                Down = Duration(map, "down", field + ".down") ?? TimeSpan.Zero,
                Reload = kind == StepKind.Reload && reloads.TryGetValue(map, out var reload) ? reload.Loaded : null,
                FleetSource = kind == StepKind.Reload && reloads.TryGetValue(map, out var from) ? from.Source : null,
                AllowEmpty = Bool(map, "allow_empty", field + ".allow_empty") ?? false,
                Project = Scalar(map, "project", field + ".project"),
                Description = Scalar(map, "description", field + ".description"),
                Personas = Strings(map, "personas", field + ".personas"),
                Repo = kind == StepKind.InitProject ? BesideScenario(Scalar(map, "repo", field + ".repo") ?? ".") : null,
                BaseBranch = Scalar(map, "base", field + ".base"),
                MaxRuntime = Duration(map, "max_runtime", field + ".max_runtime"),
                CreatePr = Bool(map, "create_pr", field + ".create_pr"),
                Extend = Duration(map, "extend", field + ".extend"),
                Node = kind is StepKind.LoseNode or StepKind.RestoreNode ? Scalar(map, "node", field + ".node") : null,
            };
        }

        /// <summary>A <c>lose_node</c>/<c>restore_node</c> step names a node the fleet's <c>cluster.nodes</c> lists; no other step has <c>node</c>.</summary>
        private void NodeField(YamlMappingNode map, string field, StepKind kind, string injectName, FleetSpec? fleet)
        {
            var nodeNode = Node(map, "node");
            if (kind is not (StepKind.LoseNode or StepKind.RestoreNode))
            {
                if (nodeNode is not null)
                {
                    Error(nodeNode, field + ".node", "only lose_node or restore_node has node");
                }

                return;
            }

            if (nodeNode is null)
            {
                Error(map, field + ".node", $"missing: the cluster node to {injectName.Replace("_node", "", StringComparison.Ordinal)} (a name in the fleet's cluster.nodes)");
                return;
            }

            if (fleet is null)
            {
                return;
            }

            var listed = fleet.Cluster?.Nodes.Select(n => n.Name).ToList() ?? [];
            if (listed.Count == 0)
            {
                Error(Node(map, "inject")!, field + ".inject", $"{injectName} needs a cluster: the fleet lists no cluster.nodes");
            }
            else if (nodeNode is YamlScalarNode { Value: { } name } && !listed.Contains(name, StringComparer.Ordinal))
            {
                Error(nodeNode, field + ".node", $"no node '{name}' in the fleet's cluster.nodes ({string.Join(", ", listed)})");
            }
        }

        /// <summary>
        /// An <c>init_project</c> step's own checks: a description, personas the fleet's <c>projects.personas_dir</c> has (the
        /// rest of <c>df init</c>'s checks are the daemon's, answered on the timeline as a <c>ProjectCommandResult</c>).
        /// </summary>
        private void InitProjectFields(YamlMappingNode map, string field, IReadOnlyList<FleetSpec>? fleets)
        {
            if (Node(map, "description") is null)
            {
                Error(map, field + ".description", "missing: what the project is to achieve (df init's description)");
            }

            if (Node(map, "personas") is not { } personasNode)
            {
                Error(map, field + ".personas", "missing: the personas of the project's tasks (e.g. [engineer])");
                return;
            }

            if (personasNode is not YamlSequenceNode list || fleets is null)
            {
                return; // not a list: the step's own reading says so
            }

            if (list.Children.Count == 0)
            {
                Error(personasNode, field + ".personas", "empty: name at least one persona");
            }

            var personas = list.Children.OfType<YamlScalarNode>().Select(n => n.Value ?? "").ToList();

            var known = fleets.SelectMany(f => f.Projects.Personas).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var persona in personas.Where(p => !known.Contains(p)))
            {
                var dir = fleets[0].Projects.PersonasDir;
                Error(personasNode, field + ".personas", known.Count == 0
                    ? $"no persona '{persona}': the fleet has no personas (projects.personas_dir: {dir})"
                    : $"no persona '{persona}' in the fleet's projects.personas_dir ({dir}; it has {string.Join(", ", known.Order(StringComparer.Ordinal))})");
            }
        }

        /// <summary>
        /// <c>review:</c> or <c>projects:</c>: what the sandbox's stand-in repository does (<see cref="RepositoryScript"/>):
        /// <c>todos</c> (the review's scan), <c>changes</c> (the files each run changes), <c>gates</c> (gate runs in turn).
        /// </summary>
        private RepositoryScript Script(YamlMappingNode root, string key, bool todos)
        {
            if (Node(root, key) is not { } node)
            {
                return RepositoryScript.Default;
            }

            if (node is not YamlMappingNode map)
            {
                Error(node, key, todos ? "a mapping: todos, changes, gates" : "a mapping: changes, gates");
                return RepositoryScript.Default;
            }

            UnknownKeys(map, todos ? ["todos", "changes", "gates"] : ["changes", "gates"], key);
            var gates = new List<GateScript>();
            foreach (var (gate, i) in Sequence(map, "gates", key + ".gates"))
            {
                gates.Add(Gates(gate, $"{key}.gates[{i}]"));
            }

            return new RepositoryScript
            {
                Todos = Strings(map, "todos", key + ".todos"),
                Changes = Node(map, "changes") is null ? RepositoryScript.Default.Changes : Strings(map, "changes", key + ".changes"),
                Gates = gates,
            };
        }

        /// <summary>One gate run: <c>pass</c>, <c>fail</c>, or a mapping of gate name (or <c>all</c>) to pass or fail.</summary>
        private GateScript Gates(YamlNode node, string field)
        {
            bool? Verdict(YamlNode n, string at)
            {
                if (n is YamlScalarNode { Value: "pass" or "true" })
                {
                    return true;
                }

                if (n is YamlScalarNode { Value: "fail" or "false" })
                {
                    return false;
                }

                Error(n, at, "pass or fail");
                return null;
            }

            if (node is YamlScalarNode)
            {
                return Verdict(node, field) is false ? GateScript.Fail : GateScript.Pass;
            }

            if (node is not YamlMappingNode map)
            {
                Error(node, field, "pass, fail, or a mapping of gate name (or all) to pass or fail, e.g. { tests: fail }");
                return GateScript.Pass;
            }

            var all = true;
            var byName = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Children)
            {
                var name = ((YamlScalarNode)k).Value ?? "";
                if (Verdict(v, field + "." + name) is not { } passes)
                {
                    continue;
                }

                if (name == "all")
                {
                    all = passes;
                }
                else
                {
                    byName[name] = passes;
                }
            }

            return new GateScript(all, byName);
        }

        /// <summary>
        /// Each <c>inject: reload</c> step's fleet, read as the daemon would read the file on SIGHUP. Its errors are not
        /// the scenario's: an invalid file is what the reload is given (and refuses). Only a file that cannot be read is.
        /// </summary>
        private Dictionary<YamlNode, ReloadFleet> ReadReloads(YamlMappingNode root, string yaml)
        {
            var reloads = new Dictionary<YamlNode, ReloadFleet>();
            foreach (var (node, i) in Sequence(root, "steps"))
            {
                if (node is not YamlMappingNode map || Node(map, "inject") is not YamlScalarNode { Value: "reload" } || Node(map, "fleet") is not { } fleetNode)
                {
                    continue;
                }

                var field = $"steps[{i}].fleet";
                switch (fleetNode)
                {
                    case YamlScalarNode { Value: { Length: > 0 } file }:
                        var source = BesideScenario(file);
                        if (!File.Exists(source))
                        {
                            Error(fleetNode, field, $"cannot read the fleet file '{source}'");
                            continue;
                        }

                        reloads[map] = new ReloadFleet(FleetLoader.LoadFile(source, _ => true), source);
                        break;
                    case YamlMappingNode inline:
                        var (text, firstLine, indent) = Slice(yaml, inline);
                        var loaded = FleetLoader.Parse(text, path, _ => true);
                        var placed = loaded.Diagnostics.Select(d => Placed(d, firstLine, indent, field)).ToList();
                        reloads[map] = new ReloadFleet(loaded with { Diagnostics = placed }, $"{path}:{firstLine} (inline fleet)");
                        break;
                    default:
                        Error(fleetNode, field, "a fleet file path or an inline fleet mapping");
                        break;
                }
            }

            return reloads;
        }

        private Expectation? Expect(YamlNode node, string field)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, field, "an expectation: event, where, within, count, never");
                return null;
            }

            UnknownKeys(map, ExpectKeys, field);
            var name = Scalar(map, "event", field + ".event");
            if (name is null)
            {
                Error(map, field + ".event", "missing: the event's type (e.g. AgentLifecycle or agent-lifecycle)");
                return null;
            }

            if (ScenarioEvents.Resolve(name) is null)
            {
                Error(Node(map, "event")!, field + ".event", $"unknown event type '{name}'");
            }

            var where = new Dictionary<string, string>(StringComparer.Ordinal);
            if (Node(map, "where") is { } whereNode)
            {
                if (whereNode is not YamlMappingNode w)
                {
                    Error(whereNode, field + ".where", "a mapping of field to value (snake_case, as in --json)");
                }
                else
                {
                    foreach (var (k, v) in w.Children)
                    {
                        if (v is YamlScalarNode { Value: { } value })
                        {
                            where[((YamlScalarNode)k).Value ?? ""] = value;
                        }
                        else
                        {
                            Error(v, $"{field}.where.{k}", "a single value");
                        }
                    }
                }
            }

            var expectation = new Expectation(name, where, (int)map.Start.Line)
            {
                Never = Bool(map, "never", field + ".never") ?? false,
                After = Duration(map, "after", field + ".after") ?? TimeSpan.Zero,
                Within = Duration(map, "within", field + ".within"),
                Count = Int(map, "count", field + ".count"),
                AtLeast = Int(map, "at_least", field + ".at_least"),
                AtMost = Int(map, "at_most", field + ".at_most"),
            };
            if (expectation.Never && (expectation.Count ?? expectation.AtLeast ?? expectation.AtMost) is not null)
            {
                Error(map, field, "'never' takes no count");
            }

            return expectation;
        }

        private void UnknownKeys(YamlMappingNode map, HashSet<string> known, string field)
        {
            foreach (var key in map.Children.Keys.OfType<YamlScalarNode>())
            {
                if (key.Value is { } k && !known.Contains(k))
                {
                    Error(key, field.Length == 0 ? k : field + "." + k, $"unknown key (known: {string.Join(", ", known)})");
                }
            }
        }

        private static YamlNode? Node(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

        private IEnumerable<(YamlNode Node, int Index)> Sequence(YamlMappingNode root, string key, string? field = null)
        {
            switch (Node(root, key))
            {
                case null:
                    return [];
                case YamlSequenceNode seq:
                    return seq.Children.Select((n, i) => (n, i));
                case var other:
                    Error(other, field ?? key, "a list");
                    return [];
            }
        }

        private string? Scalar(YamlMappingNode map, string key, string field)
        {
            switch (Node(map, key))
            {
                case null:
                    return null;
                case YamlScalarNode s:
                    return s.Value;
                case var other:
                    Error(other, field, "a single value");
                    return null;
            }
        }

        private IReadOnlyList<string> Strings(YamlMappingNode map, string key, string field)
        {
            switch (Node(map, key))
            {
                case null:
                    return [];
                case YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode):
                    return seq.Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToList();
                case var other:
                    Error(other, field, "a list of strings");
                    return [];
            }
        }

        private int? Int(YamlMappingNode map, string key, string field) =>
            Number<int>(map, key, field, "a whole number", s => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null);

        private long? Long(YamlMappingNode map, string key, string field) =>
            Number<long>(map, key, field, "a whole number", s => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null);

        private decimal? Decimal(YamlMappingNode map, string key, string field) =>
            Number<decimal>(map, key, field, "a number", s => decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v) ? v : null);

        private bool? Bool(YamlMappingNode map, string key, string field) =>
            Number<bool>(map, key, field, "true or false", s => s switch { "true" => true, "false" => false, _ => (bool?)null });

        private T? Number<T>(YamlMappingNode map, string key, string field, string what, Func<string, T?> parse)
            where T : struct
        {
            var node = Node(map, key);
            if (node is null)
            {
                return null;
            }

            if (node is YamlScalarNode { Value: { } s } && parse(s) is { } v)
            {
                return v;
            }

            Error(node, field, $"not {what}");
            return null;
        }

        private TimeSpan? Duration(YamlMappingNode map, string key, string field)
        {
            var node = Node(map, key);
            if (node is null)
            {
                return null;
            }

            if (node is YamlScalarNode { Value: { } s } && Durations.TryParse(s, out var d) && d >= TimeSpan.Zero)
            {
                return d;
            }

            Error(node, field, "not a duration (e.g. 30s, 5m, 2h, 1h30m)");
            return null;
        }

        /// <summary>An offset from the start: a duration (10m), or an instant in any zone (2026-12-07T03:00:00+09:00).</summary>
        private TimeSpan? At(YamlNode node, string field, DateTimeOffset start)
        {
            if (node is YamlScalarNode { Value: { } s })
            {
                if (Durations.TryParse(s, out var d) && d >= TimeSpan.Zero)
                {
                    return d;
                }

                if (s.Contains('T', StringComparison.Ordinal) && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
                {
                    if (instant < start)
                    {
                        Error(node, field, $"{instant:O} is before the scenario's start {start:O}");
                        return null;
                    }

                    return instant - start;
                }
            }

            Error(node, field, "an offset from the start (e.g. 10m, 2h30m) or an instant (e.g. 2026-12-07T03:00:00+09:00)");
            return null;
        }
    }
}
