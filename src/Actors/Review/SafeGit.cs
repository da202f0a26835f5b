namespace DarkFactory.Actors.Review;

/// <summary>
/// How the daemon runs its own git so that nothing a repository can configure executes, and no secret is
/// in reach of what git starts. A repository's config is agent-writable (a worktree's config.worktree, the
/// shared .git/config without the sandbox, an include.path), so the daemon never trusts it:
/// <list type="bullet">
/// <item>the environment is replaced, not inherited: no provider keys, no forge token, a neutral global config
/// (<c>GIT_CONFIG_GLOBAL=/dev/null</c>, <c>GIT_CONFIG_NOSYSTEM</c>), no prompts, only the transports the review
/// uses (<c>GIT_ALLOW_PROTOCOL</c>, which beats every <c>protocol.*.allow</c>);</item>
/// <item>command-line overrides, which beat every config file (includes too): no fsmonitor, no hooks
/// (<c>core.hooksPath=/dev/null</c>), a fixed ssh, no credential helpers, no pager or editor, no signing;</item>
/// <item>every filter, diff and merge driver the effective config defines is emptied by name (see
/// <see cref="Neutralise"/>), so a <c>.gitattributes</c> naming one runs nothing; diffs are read with
/// <c>--no-ext-diff --no-textconv</c>.</item>
/// </list>
/// The forge token reaches only the one push that needs it, as configuration in the environment scoped to the
/// forge's own URL (<see cref="ForgeAuthentication"/>): never on a command line, never to another host, never to a
/// local remote whose hooks could read it.
/// </summary>
public static class SafeGit
{
    /// <summary>The ssh the daemon's git uses (the environment variable beats <c>core.sshCommand</c> in any config).</summary>
    public const string SshCommand = "ssh -o BatchMode=yes";

    /// <summary>Transports the daemon's git may use; <c>ext::</c> (runs commands) and <c>git://</c> (<c>core.gitProxy</c>) are not among them.</summary>
    public const string AllowedProtocols = "file:http:https:ssh";

    /// <summary>Overrides placed before every subcommand: configuration given on the command line beats every file.</summary>
    public static readonly IReadOnlyList<string> Overrides =
    [
        "-c", "core.fsmonitor=false",
        "-c", "core.hooksPath=/dev/null",
        "-c", "core.sshCommand=" + SshCommand,
        "-c", "credential.helper=",
        "-c", "core.editor=true",
        "-c", "sequence.editor=true",
        "-c", "core.pager=cat",
        "-c", "log.showSignature=false",
        "-c", "commit.gpgSign=false",
        "-c", "tag.gpgSign=false",
        "-c", "submodule.recurse=false",
        "-c", "diff.ignoreSubmodules=all",
        "-c", "status.submoduleSummary=false",
        "-c", "protocol.ext.allow=never",
    ];

    /// <summary>The regular expression of config names that can name a program to run for some paths.</summary>
    public const string DriverKeys = @"^(filter|diff|merge)\.";

    /// <summary>Subcommands that never run a filter, diff or merge driver (no need to list the config first).</summary>
    public static readonly IReadOnlySet<string> DriverFree = new HashSet<string>(StringComparer.Ordinal)
    {
        "config", "rev-parse", "remote", "for-each-ref", "rev-list", "init",
    };

    /// <summary>
    /// The whole environment of the daemon's git: a PATH to find git and ssh, a neutral HOME and global config,
    /// no terminal prompts, C locale. Nothing else of the daemon's environment.
    /// </summary>
    public static Dictionary<string, string> Environment(string? path)
    {
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = string.IsNullOrEmpty(path) ? "/usr/local/bin:/usr/bin:/bin" : path,
            ["HOME"] = "/nonexistent",
            ["LC_ALL"] = "C",
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_CONFIG_GLOBAL"] = "/dev/null",
            ["GIT_ATTR_NOSYSTEM"] = "1",
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["GIT_ASKPASS"] = "true",
            ["SSH_ASKPASS"] = "true",
            ["GIT_EDITOR"] = "true",
            ["GIT_PAGER"] = "cat",
            ["GIT_SSH_COMMAND"] = SshCommand,
            ["GIT_ALLOW_PROTOCOL"] = AllowedProtocols,
            ["GIT_NO_REPLACE_OBJECTS"] = "1",
            ["GIT_OPTIONAL_LOCKS"] = "0",
        };
    }

    /// <summary>
    /// Where the subcommand is in an argument list: after leading global options (<c>-c key=value</c> pairs,
    /// <c>--git-dir=</c>, <c>--work-tree=</c>); the count when there is none.
    /// </summary>
    public static int SubcommandIndex(IReadOnlyList<string> args)
    {
        var i = 0;
        while (i < args.Count)
        {
            if (args[i] == "-c")
            {
                i += 2;
            }
            else if (args[i].StartsWith("--git-dir=", StringComparison.Ordinal) || args[i].StartsWith("--work-tree=", StringComparison.Ordinal))
            {
                i++;
            }
            else
            {
                return i;
            }
        }

        return args.Count;
    }

    /// <summary>
    /// Overrides that empty every driver named in <c>git config --name-only --get-regexp '^(filter|diff|merge)\.'</c>
    /// output: <c>filter.X.clean/smudge/process</c> (and <c>required=false</c>), <c>diff.X.textconv/command</c>,
    /// <c>merge.X.driver</c>. An empty command runs nothing (git treats it as no driver).
    /// </summary>
    public static IReadOnlyList<string> Neutralise(string configNames)
    {
        var overrides = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in configNames.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // section.subsection.key: the subsection (the driver's name) may itself contain dots
            var first = raw.IndexOf('.');
            var last = raw.LastIndexOf('.');
            if (first <= 0 || last <= first)
            {
                continue; // a key without a driver name (diff.external is refused by --no-ext-diff)
            }

            var section = raw[..first].ToLowerInvariant();
            var name = raw[(first + 1)..last];
            if (!seen.Add(section + "\0" + name))
            {
                continue;
            }

            string[] keys = section switch
            {
                "filter" => ["clean=", "smudge=", "process=", "required=false"],
                "diff" => ["textconv=", "command="],
                "merge" => ["driver="],
                _ => [],
            };
            foreach (var key in keys)
            {
                overrides.Add("-c");
                overrides.Add($"{section}.{name}.{key}");
            }
        }

        return overrides;
    }

    /// <summary>
    /// The forge token for one push, as environment configuration (<c>GIT_CONFIG_COUNT</c>, never argv, which
    /// every local user can read) and scoped with <c>http.&lt;url&gt;.extraHeader</c> to the push URL itself, so a
    /// redirect or a rewritten URL does not carry it elsewhere. Null, and no token, unless the push URL is
    /// http(s) on the forge's git host (its API host without a leading <c>api.</c>: api.github.com → github.com)
    /// and, when the forge's repository is known, names that repository.
    /// </summary>
    public static IReadOnlyDictionary<string, string>? ForgeAuthentication(string pushUrl, string forgeBaseUrl, string? repository, string token)
    {
        if (string.IsNullOrEmpty(token)
            || !Uri.TryCreate(pushUrl, UriKind.Absolute, out var push)
            || !Uri.TryCreate(forgeBaseUrl, UriKind.Absolute, out var forge)
            || push.Scheme is not ("https" or "http")
            || !string.IsNullOrEmpty(push.UserInfo))
        {
            return null;
        }

        var host = forge.Host.StartsWith("api.", StringComparison.OrdinalIgnoreCase) ? forge.Host[4..] : forge.Host;
        if (!string.Equals(push.Scheme, forge.Scheme, StringComparison.Ordinal)
            || !string.Equals(push.Host, host, StringComparison.OrdinalIgnoreCase)
            || push.Port != forge.Port)
        {
            return null;
        }

        if (repository is not null)
        {
            var path = push.AbsolutePath.Trim('/');
            path = path.EndsWith(".git", StringComparison.Ordinal) ? path[..^4] : path;
            if (!string.Equals(path, repository, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
        }

        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:" + token));
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["GIT_CONFIG_COUNT"] = "1",
            ["GIT_CONFIG_KEY_0"] = $"http.{push.GetLeftPart(UriPartial.Path)}.extraHeader",
            ["GIT_CONFIG_VALUE_0"] = "Authorization: Basic " + basic,
        };
    }
}
