using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>fleet.yaml <c>compound_review:</c> with its forge and gates (gates and forge are shared with agents and projects).</summary>
internal sealed partial class FleetReader
{
    private CompoundReviewSpec ReadCompoundReview(YamlNode node, string path) => ReadSection(node, path, FleetKeys.CompoundReview, new CompoundReviewSpec { Repo = baseDirectory }, (f, d) =>
    {
        var schedule = f.String("schedule");
        CheckCron(f, "schedule", schedule);
        var timezone = f.String("timezone");
        CheckTimezone(f, "timezone", timezone);
        var repo = f.String("repo");
        var c = d with
        {
            Enabled = f.Bool("enabled") ?? d.Enabled,
            Schedule = schedule ?? d.Schedule,
            Timezone = timezone ?? d.Timezone,
            Repo = repo is null ? baseDirectory : Path.GetFullPath(Path.Combine(baseDirectory, repo)),
            BaseBranch = f.String("base_branch") ?? d.BaseBranch,
            Agent = f.String("agent"),
            Since = f.Duration("since") ?? d.Since,
            CatchUp = f.Enum("catch_up", ReviewCatchUps) ?? d.CatchUp,
            MaxDuration = f.Duration("max_duration") ?? d.MaxDuration,
            CreatePrs = f.Bool("create_prs") ?? d.CreatePrs,
            Remote = f.String("remote") ?? d.Remote,
            Forge = f.Node("forge") is { } forge ? ReadForge(forge, f.PathOf("forge")) : d.Forge,
            Gates = f.Items("gates", ReadGate),
        };
        f.Require("since", c.Since > TimeSpan.Zero, "since must be a positive duration");
        f.Require("max_duration", c.MaxDuration > TimeSpan.Zero, "max_duration must be a positive duration");
        f.Require("base_branch", c.BaseBranch.Length > 0, "base_branch must not be empty");
        f.Require("remote", c.Remote.Length > 0, "remote must not be empty");
        map.Bind(c, path);
        return c;
    });

    private static readonly string[] ForgeKinds = ["github", "gitea", "forgejo", "gitlab"];

    /// <summary>One review at a time: missed firings are caught up once or skipped (no "all").</summary>
    private static readonly Dictionary<string, CatchUpPolicy> ReviewCatchUps = new(StringComparer.Ordinal)
    {
        ["skip"] = CatchUpPolicy.Skip,
        ["once"] = CatchUpPolicy.Once,
    };

    private ForgeSpec ReadForge(YamlNode node, string path) => ReadSection(node, path, FleetKeys.Forge, new ForgeSpec(), (f, d) =>
    {
        var baseUrl = f.String("base_url");
        CheckUrl(f, "base_url", baseUrl);
        var repository = f.String("repository");
        if (repository is not null && !RepositoryName().IsMatch(repository))
        {
            f.Error("repository", $"repository must look like 'owner/name', got '{repository}'");
        }

        var kind = f.String("kind");
        if (kind is not null && !ForgeKinds.Contains(kind, StringComparer.Ordinal))
        {
            f.Error("kind", $"invalid kind '{kind}'{Suggest(kind, ForgeKinds)} (expected one of: {string.Join(", ", ForgeKinds)})");
            kind = null;
        }

        var tokenEnv = f.String("token_env");
        if (tokenEnv is not null && !EnvName().IsMatch(tokenEnv))
        {
            f.Error("token_env", $"'{tokenEnv}' is not a valid environment variable name (token_env names the variable, it never holds the token)");
        }

        return d with
        {
            Kind = kind ?? d.Kind,
            BaseUrl = baseUrl ?? d.BaseUrl,
            Repository = repository,
            TokenEnv = tokenEnv ?? d.TokenEnv,
        };
    });

    private GateSpec? ReadGate(YamlNode node, string path)
    {
        if (Section(node, path, FleetKeys.Gate) is not { } f)
        {
            return null;
        }

        var name = f.String("name");
        if (name is null && !f.Has("name"))
        {
            f.Missing("name", "a gate needs a 'name'");
        }

        var command = f.Argv("command");
        if (command is null && !f.Has("command"))
        {
            f.Missing("command", "a gate needs a 'command' (an argv list or a shell string)");
        }

        var d = new GateSpec { Name = "" };
        var g = d with
        {
            Name = name ?? d.Name,
            Command = command ?? d.Command,
            ExpectExit = f.Int("expect_exit") ?? d.ExpectExit,
            Timeout = f.Duration("timeout") ?? d.Timeout,
        };
        f.Require("expect_exit", g.ExpectExit is >= 0 and <= 255, "expect_exit must be between 0 and 255");
        f.Require("timeout", g.Timeout > TimeSpan.Zero, "timeout must be a positive duration");
        map.Bind(g, path);
        return g;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryName();
}
