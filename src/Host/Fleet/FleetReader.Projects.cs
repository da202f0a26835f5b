using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>fleet.yaml <c>projects:</c>: personas, runtime, audits, concurrency and the gate commands per repository.</summary>
internal sealed partial class FleetReader
{
    private ProjectsSpec ReadProjects(YamlNode node, string path) => ReadSection(node, path, FleetKeys.Projects, new ProjectsSpec(), (f, d) =>
    {
        var worktreeRoot = f.String("worktree_root");
        var p = d with
        {
            PersonasDir = f.String("personas_dir") ?? d.PersonasDir,
            Planner = f.String("planner") ?? d.Planner,
            Auditor = f.String("auditor") ?? d.Auditor,
            MaxRuntime = f.Duration("max_runtime") ?? d.MaxRuntime,
            AuditInterval = f.Duration("audit_interval") ?? d.AuditInterval,
            Concurrency = f.Int("concurrency") ?? d.Concurrency,
            MaxAttempts = f.Int("max_attempts") ?? d.MaxAttempts,
            Repositories = f.Items("repositories", ReadProjectRepository),
            WorktreeRoot = worktreeRoot is null ? null : Path.GetFullPath(Path.Combine(baseDirectory, worktreeRoot)),
            CreatePr = f.Bool("create_pr") ?? d.CreatePr,
            Remote = f.String("remote") ?? d.Remote,
            Forge = f.Node("forge") is { } forge ? ReadForge(forge, f.PathOf("forge")) : d.Forge,
            CheckTimeout = f.Duration("check_timeout") ?? d.CheckTimeout,
        };
        f.Require("personas_dir", p.PersonasDir.Trim().Length > 0, "personas_dir must not be empty");
        f.Require("planner", p.Planner.Trim().Length > 0, "planner must name a persona");
        f.Require("auditor", p.Auditor.Trim().Length > 0, "auditor must name a persona");
        f.Require("max_runtime", p.MaxRuntime > TimeSpan.Zero, "max_runtime must be a positive duration");
        f.Require("audit_interval", p.AuditInterval > TimeSpan.Zero, "audit_interval must be a positive duration");
        f.Require("concurrency", p.Concurrency is >= 1 and <= 64, "concurrency must be between 1 and 64");
        f.Require("max_attempts", p.MaxAttempts is >= 1 and <= 20, "max_attempts must be between 1 and 20");
        f.Require("worktree_root", worktreeRoot is null || worktreeRoot.Trim().Length > 0, "worktree_root must not be empty");
        f.Require("remote", p.Remote.Length > 0, "remote must not be empty");
        f.Require("check_timeout", p.CheckTimeout > TimeSpan.Zero, "check_timeout must be a positive duration");
        p = p with
        {
            Repositories = [.. p.Repositories.Select(r => r with
            {
                Tests = r.Tests is null ? null : r.Tests with { Timeout = p.CheckTimeout },
                Lint = r.Lint is null ? null : r.Lint with { Timeout = p.CheckTimeout },
                Format = r.Format is null ? null : r.Format with { Timeout = p.CheckTimeout },
            })],
        };
        var repositories = (f.Node("repositories") as YamlSequenceNode)?.Children;
        for (var i = 0; i < p.Repositories.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (p.Repositories[j].Path == p.Repositories[i].Path)
                {
                    Error(repositories is { } items && i < items.Count ? items[i] : node, $"{path}.repositories[{i}].path", $"repository '{p.Repositories[i].Path}' is listed twice (first at repositories[{j}])");
                }
            }
        }

        map.Bind(p, path);
        return p;
    });

    /// <summary>projects.repositories[]: a path ("*" for any repository, else relative to the fleet file) and its gate commands.</summary>
    private ProjectRepositorySpec? ReadProjectRepository(YamlNode node, string path)
    {
        if (Section(node, path, FleetKeys.ProjectRepository) is not { } f)
        {
            return null;
        }

        var repo = f.String("path");
        if (repo is null || repo.Trim().Length == 0)
        {
            f.Missing("path", "a repository needs a 'path' (\"*\" for any repository)");
            return null;
        }

        GateSpec? Gate(string key) => f.Argv(key) is { } argv ? new GateSpec { Name = key, Command = argv } : null;
        var r = new ProjectRepositorySpec
        {
            Path = repo == "*" ? "*" : Path.GetFullPath(Path.Combine(baseDirectory, repo)),
            Tests = Gate("tests"),
            Lint = Gate("lint"),
            Format = Gate("format"),
        };
        map.Bind(r, path);
        return r;
    }
}
