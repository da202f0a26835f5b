namespace DarkFactory.Host.Fleet;

/// <summary>What a validator sees: the records read so far, where they came from, and where to report.</summary>
internal sealed class FleetValidationContext(string file, string baseDirectory, FleetSourceMap map, Func<string, bool> isInstalled, List<FleetDiagnostic> diagnostics)
{
    public string BaseDirectory => baseDirectory;
    public FleetSourceMap Map => map;
    public Func<string, bool> IsInstalled => isInstalled;

    public void Error(string path, string message) => Add(DiagnosticSeverity.Error, path, message);

    public void Warning(string path, string message) => Add(DiagnosticSeverity.Warning, path, message);

    /// <summary>The path of a field of a record the reader built (e.g. agents[2] + "provider").</summary>
    public string PathOf(object record, string field) => FleetReader.Join(map.PathOf(record), field);

    private void Add(DiagnosticSeverity severity, string path, string message)
    {
        var (line, column) = map.At(path);
        diagnostics.Add(new FleetDiagnostic(severity, file, line, column, path, message));
    }
}

/// <summary>One concern of fleet validation that spans records (duplicates, references, the machine).</summary>
internal interface IFleetValidator
{
    void Validate(FleetSpec fleet, FleetValidationContext ctx);
}

/// <summary>Agent, provider and gate names are unique.</summary>
internal sealed class UniqueNamesValidator : IFleetValidator
{
    public void Validate(FleetSpec fleet, FleetValidationContext ctx)
    {
        Check(fleet.Agents, a => a.Name, "agent", ctx);
        Check(fleet.Providers, p => p.Name, "provider", ctx);
        Check(fleet.CompoundReview.Gates, g => g.Name, "gate", ctx);
    }

    public static void Check<T>(IEnumerable<T> items, Func<T, string> name, string what, FleetValidationContext ctx)
        where T : class
    {
        var first = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var n = name(item);
            if (n.Length == 0)
            {
                continue;
            }

            if (first.TryGetValue(n, out var earlier))
            {
                var (line, _) = ctx.Map.At(ctx.PathOf(earlier, "name"));
                ctx.Error(ctx.PathOf(item, "name"), $"duplicate {what} name '{n}' (first defined at line {line})");
            }
            else
            {
                first[n] = item;
            }
        }
    }
}

/// <summary>Providers and agents named by agents, routing rules and the compound review exist.</summary>
internal sealed class ReferencesValidator : IFleetValidator
{
    public void Validate(FleetSpec fleet, FleetValidationContext ctx)
    {
        var providers = fleet.Providers.Select(p => p.Name).Where(n => n.Length > 0).ToHashSet(StringComparer.Ordinal);
        foreach (var agent in fleet.Agents)
        {
            CheckProvider(agent.Provider, agent, providers, ctx);
        }

        foreach (var rule in fleet.Routing)
        {
            CheckProvider(rule.Provider, rule, providers, ctx);
        }

        var review = fleet.CompoundReview;
        if (review.Agent is { } reviewer)
        {
            var agents = fleet.Agents.Select(a => a.Name).ToArray();
            if (!agents.Contains(reviewer, StringComparer.Ordinal))
            {
                ctx.Error(ctx.PathOf(review, "agent"), $"unknown agent '{reviewer}'{FleetReader.Suggest(reviewer, agents)}");
            }
        }
    }

    private static void CheckProvider(string? provider, object owner, HashSet<string> providers, FleetValidationContext ctx)
    {
        if (provider is null || providers.Contains(provider))
        {
            return;
        }

        var declared = providers.Count == 0 ? "no providers are declared" : $"declared: {string.Join(", ", providers.Order(StringComparer.Ordinal))}";
        ctx.Error(ctx.PathOf(owner, "provider"), $"unknown provider '{provider}'{FleetReader.Suggest(provider, providers)} ({declared})");
    }
}

/// <summary>Warnings about this machine: CLIs that are not installed, commands not found, missing workdirs.</summary>
internal sealed class InstallationValidator : IFleetValidator
{
    public void Validate(FleetSpec fleet, FleetValidationContext ctx)
    {
        foreach (var agent in fleet.Agents)
        {
            if (agent.Name.Length == 0)
            {
                continue;
            }

            if (agent.Command.Count > 0)
            {
                CheckCommand(agent, ctx);
            }
            else if (CliCatalog.Known.TryGetValue(agent.Cli, out var info) && info.Binary is { } binary && !ctx.IsInstalled(binary))
            {
                ctx.Warning(ctx.PathOf(agent, "cli"),
                    $"CLI '{agent.Cli}' is not installed: the agent will be reported unavailable; install it with: {info.InstallCommand}");
            }

            if (agent.Workdir is { } dir && !Directory.Exists(dir))
            {
                ctx.Warning(ctx.PathOf(agent, "workdir"), $"workdir '{dir}' does not exist");
            }
        }
    }

    private static void CheckCommand(AgentSpec agent, FleetValidationContext ctx)
    {
        var exe = agent.Command[0];
        var found = exe.Contains('/') || Path.IsPathRooted(exe)
            ? File.Exists(exe)
            : ctx.IsInstalled(exe) || File.Exists(Path.Combine(ctx.BaseDirectory, exe));
        if (!found)
        {
            ctx.Warning(ctx.PathOf(agent, "command"),
                $"command '{exe}' was not found (neither on PATH nor relative to {ctx.BaseDirectory}): the agent will fail to start");
        }
    }
}

/// <summary>
/// <c>isolation</c>: an AI agent told to edit its working directory in place is warned about (<c>none</c>); a
/// worktree asked for outside a git repository is an error (the agent could never run).
/// </summary>
internal sealed class IsolationValidator : IFleetValidator
{
    public void Validate(FleetSpec fleet, FleetValidationContext ctx)
    {
        foreach (var agent in fleet.Agents.Where(a => a.Name.Length > 0))
        {
            if (agent.Isolation == IsolationMode.None && agent.Cli != CliCatalog.Command)
            {
                ctx.Warning(ctx.PathOf(agent, "isolation"),
                    $"AI agent '{agent.Name}' edits its workdir in place (isolation: none): what it writes lands in that checkout unreviewed; "
                    + "remove the line to give its runs a worktree on a df/ branch");
            }
            else if (agent.Isolation == IsolationMode.Worktree && agent.Workdir is { } dir && Directory.Exists(dir)
                && Actors.Processes.SandboxPlanner.FindDotGit(Path.GetFullPath(dir)).Top is null)
            {
                ctx.Error(ctx.PathOf(agent, "isolation"), $"isolation: worktree needs a git repository, and workdir '{dir}' is not in one (git init it, or isolation: none)");
            }

            if (agent.Gates.Count > 0 && !agent.Isolated())
            {
                ctx.Warning(ctx.PathOf(agent, "gates"), $"gates check the branch of an isolated run; agent '{agent.Name}' is not isolated (isolation: worktree runs them)");
            }

            UniqueNamesValidator.Check(agent.Gates, g => g.Name, "gate", ctx);
        }
    }
}

/// <summary>AI agents that would be restarted forever burn money; say so.</summary>
internal sealed class RunawayCostValidator : IFleetValidator
{
    public void Validate(FleetSpec fleet, FleetValidationContext ctx)
    {
        foreach (var agent in fleet.Agents.Where(a => a.Cli != CliCatalog.Command && a.Name.Length > 0))
        {
            var restart = agent.Restart ?? fleet.Layer(agent.Layer).DefaultRestart;
            if (restart == RestartType.Permanent)
            {
                var field = agent.Restart is null ? "layer" : "restart";
                ctx.Warning(ctx.PathOf(agent, field),
                    $"AI agent '{agent.Name}' is restarted permanently (after every exit, even a clean one) and will keep spending; "
                    + "give it a schedule and restart: transient");
            }
        }
    }
}

/// <summary>
/// <c>cluster:</c> and the agents' pins: node names are unique, a pin names a listed node or a role some node has,
/// two nodes never run keep-majority (losing the lowest-address node would down the survivor too), and every node that
/// can hold the compound review (a singleton on the singleton role) has its repository when it declares its <c>repos</c>.
/// Without a <c>cluster:</c> section there is nothing to check against (a single node ignores <c>node:</c>).
/// </summary>
internal sealed class ClusterValidator : IFleetValidator
{
    public void Validate(FleetSpec fleet, FleetValidationContext ctx)
    {
        if (fleet.Cluster is not { } cluster)
        {
            return;
        }

        UniqueNamesValidator.Check(cluster.Nodes, n => n.Name, "node", ctx);
        if (cluster is { Nodes.Count: 2, SplitBrain: SplitBrainStrategy.KeepMajority })
        {
            ctx.Error(ctx.PathOf(cluster, "split_brain"),
                "keep-majority with two nodes downs the survivor when the node with the lowest address is lost; "
                + "use split_brain: keep-oldest (down-if-alone) or add a third node");
        }

        var nodes = cluster.Nodes.Select(n => n.Name).Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        var roles = cluster.AllRoles;
        if (fleet.CompoundReview is { Enabled: true } review)
        {
            // the review is a singleton on the singleton role: every node that can hold it acts on its repository
            var role = Cluster.ClusterNodeOptions.SingletonRole(fleet);
            foreach (var n in cluster.Nodes.Where(n => n.Name.Length > 0 && !n.Has(review.Repo) && (role is null || cluster.RolesOf(n.Name).Contains(role, StringComparer.Ordinal))))
            {
                ctx.Error(ctx.PathOf(n, "repos"),
                    $"node {n.Name} can hold the compound review ({(role is null ? "any node can" : $"role {role}")}) but its repos do not list compound_review.repo {review.Repo}; "
                    + $"add it to the node's repos, or {(role is null ? "give the review's nodes role control" : $"take role {role} from the node")}");
            }
        }

        if (fleet.Projects.Repositories.Count > 0)
        {
            // the projects are a singleton on the same role: every node that can hold them makes their worktrees and runs their gates
            var role = Cluster.ClusterNodeOptions.SingletonRole(fleet);
            foreach (var n in cluster.Nodes.Where(n => n.Name.Length > 0 && (role is null || cluster.RolesOf(n.Name).Contains(role, StringComparer.Ordinal))))
            {
                if (fleet.Projects.Repositories.FirstOrDefault(r => r.Path != "*" && !n.Has(r.Path)) is { } missing) // "*": any repository, none named
                {
                    ctx.Error(ctx.PathOf(n, "repos"),
                        $"node {n.Name} can hold the projects ({(role is null ? "any node can" : $"role {role}")}) but its repos do not list projects.repositories' {missing.Path}; "
                        + $"add it to the node's repos, or {(role is null ? "give the projects' nodes role control" : $"take role {role} from the node")}");
                }
            }
        }

        foreach (var agent in fleet.Agents)
        {
            if (agent.PinnedNode() is { } node && !nodes.Contains(node, StringComparer.Ordinal))
            {
                var listed = nodes.Length == 0 ? "cluster.nodes lists none" : $"cluster.nodes: {string.Join(", ", nodes)}";
                ctx.Error(ctx.PathOf(agent, "node"), $"unknown node '{node}'{FleetReader.Suggest(node, nodes)} ({listed})");
            }
            else if (agent.PinnedRole() is { } role && !roles.Contains(role, StringComparer.Ordinal))
            {
                ctx.Error(ctx.PathOf(agent, "node"),
                    $"no node has role '{role}'{FleetReader.Suggest(role, roles)} (roles: {string.Join(", ", roles.Order(StringComparer.Ordinal))})");
            }
            else if (agent.PinnedNode() is { } pinned && agent.Failover == FailoverPolicy.Move)
            {
                ctx.Warning(ctx.PathOf(agent, "failover"),
                    $"failover: move cannot move an agent pinned to node '{pinned}'; pin it to a role (node: role:<role>) to let it move");
            }
        }
    }
}
