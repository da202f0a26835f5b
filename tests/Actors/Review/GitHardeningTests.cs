using DarkFactory.Actors.Output;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>
/// Issue 14, findings 1, 2 and 4: a repository's config is agent-writable, so the daemon's own git (scan,
/// commit, push) must run nothing it names, and never holds a secret a hook could read. Each attack plants
/// programs that write a marker file (and the environment they saw) where an agent could: the worktree's
/// own config, the shared .git/config, an included file, .gitattributes, the hooks directory. The daemon's
/// git runs; no marker may appear. A control run with plain git shows each plant is live.
/// </summary>
public sealed class GitHardeningTests : IDisposable
{
    private const string Branch = "df/compound/2026-12-06-attack";
    private const string ProviderKey = "sk-test-daemon-provider-key-4a1f";
    private const string ProviderKeyEnv = "DF_TEST_HARDENING_PROVIDER_KEY";
    private readonly GitFixture _git = new();
    private readonly string _marks;
    private readonly string _hook;
    private string _worktree = string.Empty;

    public GitHardeningTests()
    {
        // a secret in the daemon's own environment, as a provider key would be
        Environment.SetEnvironmentVariable(ProviderKeyEnv, ProviderKey);
        _marks = Path.Combine(_git.Root, "marks");
        Directory.CreateDirectory(_marks);
        _hook = Path.Combine(_git.Root, "evil.sh");
        File.WriteAllText(_hook, $"#!/bin/sh\nn=$(basename \"$0\")-$$\necho \"$0 $*\" > {_marks}/$n\nenv >> {_marks}/$n\ncat\n");
        File.SetUnixFileMode(_hook, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private IReadOnlyList<string> Marks() => Directory.GetFiles(_marks).Select(f => Path.GetFileName(f) + ": " + File.ReadAllText(f)).ToList();

    private async Task<string> Worktree()
    {
        _git.DayOfHistory(DateTimeOffset.UtcNow);
        _worktree = Path.Combine(_git.Root, "worktrees", "r1");
        await Worktrees.EnsureAsync(_git.Repo, "main", Branch, _worktree, Path.Combine(_git.Root, "hooks", "r1"), CancellationToken.None);
        return _worktree;
    }

    /// <summary>What a hostile agent plants in its worktree and in the repository it shares.</summary>
    private void Plant()
    {
        var common = Path.Combine(_git.Repo, ".git");

        // fsmonitor and drivers: in the shared config (git config without --worktree), in the worktree's own
        // config, and in a file the shared config includes
        GitFixture.Run(_worktree, "config", "core.fsmonitor", _hook);
        GitFixture.Run(_worktree, "config", "--worktree", "core.fsmonitor", _hook);
        foreach (var (key, value) in new[]
        {
            ("filter.evil.clean", _hook), ("filter.evil.smudge", _hook), ("filter.evil.required", "true"),
            ("filter.proc.process", _hook), ("diff.evil.textconv", _hook), ("diff.evil.command", _hook),
            ("merge.evil.driver", _hook), ("core.sshCommand", _hook), ("credential.helper", "!" + _hook),
            ("core.askPass", _hook), ("core.editor", _hook), ("gpg.program", _hook), ("commit.gpgSign", "true"),
            ("log.showSignature", "true"), ("core.pager", _hook), ("core.alternateRefsCommand", _hook),
        })
        {
            GitFixture.Run(_worktree, "config", key, value);
        }

        var included = Path.Combine(_git.Root, "included.cfg");
        File.WriteAllText(included, $"[core]\n\tfsmonitor = {_hook}\n[filter \"inc\"]\n\tclean = {_hook}\n\tsmudge = {_hook}\n");
        GitFixture.Run(_worktree, "config", "include.path", included);
        File.WriteAllText(Path.Combine(_worktree, ".gitattributes"), "* filter=evil diff=evil merge=evil\n*.p filter=proc\n*.i filter=inc\n");

        // hooks, in the shared hooks directory and through a shared core.hooksPath
        var hooks = Path.Combine(_git.Root, "evil-hooks");
        Directory.CreateDirectory(hooks);
        foreach (var name in new[] { "pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "post-checkout", "reference-transaction", "post-index-change", "pre-push", "pre-auto-gc", "post-rewrite" })
        {
            foreach (var dir in new[] { hooks, Path.Combine(common, "hooks") })
            {
                File.Copy(_hook, Path.Combine(dir, name), overwrite: true);
            }
        }

        GitFixture.Run(_worktree, "config", "core.hooksPath", hooks);

        // and the local bare remote's receive hooks
        foreach (var name in new[] { "pre-receive", "update", "post-receive", "post-update", "reference-transaction" })
        {
            File.Copy(_hook, Path.Combine(_git.Bare, "hooks", name), overwrite: true);
        }
    }

    [Fact]
    public async Task The_daemons_commit_scan_and_push_run_nothing_a_repository_configures()
    {
        await Worktree();
        Plant();
        File.WriteAllText(Path.Combine(_worktree, "fix.txt"), "fixed\n");
        File.WriteAllText(Path.Combine(_worktree, "data.p"), "p\n");
        File.WriteAllText(Path.Combine(_worktree, "data.i"), "i\n");

        var (commit, files) = await Worktrees.CommitAsync(_git.Repo, _worktree, "main", "review commit", CancellationToken.None);
        await GitScan.ReadAsync(_git.Repo, "main", DateTimeOffset.UtcNow.AddDays(-1), CancellationToken.None);
        await GitScan.ReadAsync(_worktree, Branch, DateTimeOffset.UtcNow.AddDays(-1), CancellationToken.None);
        await Git.RequireAsync(_worktree, ["status", "--porcelain"]);
        await Git.RequireAsync(_worktree, ["diff", "--no-ext-diff", "--no-textconv", "main...HEAD"]);
        await Worktrees.PushAsync(_git.Repo, "origin", Branch, new ForgeCredentials("https://api.github.com", "acme/widgets", "ghp_forge_token_never_here"), CancellationToken.None);

        Assert.NotNull(commit);
        Assert.Contains("fix.txt", files);
        Assert.Contains(Branch, _git.RemoteBranches());
        Assert.Empty(Marks());

        // control: the same plants are live for a plain git that trusts the repository
        File.AppendAllText(Path.Combine(_worktree, "fix.txt"), "more\n");
        try
        {
            GitFixture.Run(_worktree, "add", "-A");
            GitFixture.Run(_worktree, "commit", "-q", "-m", "plain");
        }
        catch (InvalidOperationException)
        {
            // a required filter or hook may fail the plain commit; what counts is that it ran
        }

        Assert.NotEmpty(Marks());
    }

    [Fact]
    public async Task The_daemons_git_never_sees_the_daemons_secrets()
    {
        await Worktree();
        var env = await Git.RequireAsync(_worktree, ["var", "GIT_EDITOR"]);
        Assert.Equal("true", env.Trim());

        // what git's children would inherit: git itself prints its environment through an alias of !env
        var printed = await Git.RequireAsync(_worktree, ["-c", "alias.show-env=!env", "show-env"]);
        Assert.DoesNotContain(ProviderKey, printed);
        Assert.DoesNotContain(ProviderKeyEnv, printed);
        Assert.Contains("GIT_CONFIG_GLOBAL=/dev/null", printed);
        Assert.Contains("GIT_CONFIG_NOSYSTEM=1", printed);
        Assert.Contains("HOME=/nonexistent", printed);
    }

    [Fact]
    public async Task A_core_worktree_or_a_rewritten_git_file_cannot_point_the_daemons_commit_at_other_files()
    {
        await Worktree();
        var secrets = Path.Combine(_git.Root, "data-dir");
        Directory.CreateDirectory(secrets);
        File.WriteAllText(Path.Combine(secrets, "token"), "the-api-token\n");

        // core.worktree in the worktree's own config, and a .git file pointing at a git dir of the agent's
        GitFixture.Run(_worktree, "config", "--worktree", "core.worktree", secrets);
        var fake = Path.Combine(_worktree, ".fake");
        GitFixture.Run(_git.Root, "init", "-q", "--bare", fake);
        File.WriteAllText(Path.Combine(_worktree, ".git"), "gitdir: " + fake + "\n");
        File.WriteAllText(Path.Combine(_worktree, "fix.txt"), "fixed\n");

        var (commit, files) = await Worktrees.CommitAsync(_git.Repo, _worktree, "main", "review commit", CancellationToken.None);

        Assert.NotNull(commit);
        Assert.Contains("fix.txt", files);
        Assert.DoesNotContain("token", files);
        var tree = GitFixture.Run(_git.Repo, "ls-tree", "-r", "--name-only", Branch);
        Assert.DoesNotContain("token", tree.Split('\n'));
        Assert.Contains("fix.txt", tree.Split('\n'));
    }

    [Fact]
    public async Task The_push_goes_to_the_remotes_url_whatever_the_repository_rewrites()
    {
        await Worktree();
        File.WriteAllText(Path.Combine(_worktree, "fix.txt"), "fixed\n");
        await Worktrees.CommitAsync(_git.Repo, _worktree, "main", "review commit", CancellationToken.None);
        var elsewhere = Path.Combine(_git.Root, "elsewhere.git");
        GitFixture.Run(_git.Root, "init", "-q", "--bare", elsewhere);
        GitFixture.Run(_git.Repo, "config", $"url.{elsewhere}.pushInsteadOf", _git.Bare);
        GitFixture.Run(_git.Repo, "config", $"url.{elsewhere}.insteadOf", _git.Bare);
        GitFixture.Run(_git.Repo, "config", "remote.origin.receivepack", _hook);

        await Worktrees.PushAsync(_git.Repo, "origin", Branch, null, CancellationToken.None);

        Assert.Contains(Branch, _git.RemoteBranches());
        Assert.Empty(GitFixture.Run(elsewhere, "for-each-ref").Trim());
        Assert.Empty(Marks());
    }

    [Fact]
    public async Task A_push_over_ssh_runs_the_daemons_ssh_not_the_repositorys()
    {
        await Worktree();
        GitFixture.Run(_git.Repo, "remote", "set-url", "origin", "ssh://git@127.0.0.1:1/acme/widgets.git");
        GitFixture.Run(_git.Repo, "config", "core.sshCommand", _hook);

        var error = await Assert.ThrowsAsync<GitException>(() => Worktrees.PushAsync(_git.Repo, "origin", Branch, null, CancellationToken.None));

        Assert.Contains("git push", error.Message);
        Assert.Empty(Marks());
    }

    [Fact]
    public void The_forge_token_goes_only_to_the_forges_own_repository_over_http()
    {
        const string api = "https://api.github.com";
        var auth = SafeGit.ForgeAuthentication("https://github.com/acme/widgets.git", api, "acme/widgets", "tok");
        Assert.NotNull(auth);
        Assert.Equal("http.https://github.com/acme/widgets.git.extraHeader", auth["GIT_CONFIG_KEY_0"]);
        Assert.StartsWith("Authorization: Basic ", auth["GIT_CONFIG_VALUE_0"]);
        Assert.DoesNotContain("tok", auth["GIT_CONFIG_KEY_0"]);

        Assert.Null(SafeGit.ForgeAuthentication("https://github.com/attacker/loot.git", api, "acme/widgets", "tok"));
        Assert.Null(SafeGit.ForgeAuthentication("https://evil.example/acme/widgets.git", api, "acme/widgets", "tok"));
        Assert.Null(SafeGit.ForgeAuthentication("http://github.com/acme/widgets.git", api, "acme/widgets", "tok"));
        Assert.Null(SafeGit.ForgeAuthentication("https://someone@github.com/acme/widgets.git", api, "acme/widgets", "tok"));
        Assert.Null(SafeGit.ForgeAuthentication("/srv/git/widgets.git", api, "acme/widgets", "tok"));
        Assert.Null(SafeGit.ForgeAuthentication("git@github.com:acme/widgets.git", api, "acme/widgets", "tok"));
        Assert.NotNull(SafeGit.ForgeAuthentication("https://ghe.example/acme/widgets", "https://ghe.example/api/v3", "acme/widgets", "tok"));
    }

    [Fact]
    public void Drivers_named_in_config_are_emptied_by_name()
    {
        var overrides = SafeGit.Neutralise("filter.evil.clean\nfilter.evil.smudge\ndiff.a.b.textconv\nmerge.m.driver\ndiff.external\n");
        Assert.Equal(
            ["-c", "filter.evil.clean=", "-c", "filter.evil.smudge=", "-c", "filter.evil.process=", "-c", "filter.evil.required=false",
             "-c", "diff.a.b.textconv=", "-c", "diff.a.b.command=", "-c", "merge.m.driver="],
            overrides);
    }

    [Fact]
    public async Task Gates_get_the_agents_allowlist_and_their_output_is_redacted()
    {
        await Worktree();
        var fleet = new FleetSpec
        {
            Providers = [new ProviderSpec { Name = "p", Cli = CliCatalog.Claude, ApiKeyEnv = ProviderKeyEnv }],
            CompoundReview = new CompoundReviewSpec { Forge = new ForgeSpec { TokenEnv = "DF_TEST_HARDENING_FORGE" } },
        };
        var daemonEnv = new Dictionary<string, string?>(DarkFactory.Actors.Supervision.LayerServices.CurrentEnvironment()) { ["DF_TEST_HARDENING_FORGE"] = "ghp_forge_token_4455667788" };
        var secrets = new Redactor(FleetSecrets.Of(fleet, daemonEnv, _ => null));
        var env = DarkFactory.Actors.Processes.ChildEnvironment.Allowlisted(daemonEnv);
        var gates = new GateSpec[]
        {
            new() { Name = "env", Command = ["sh", "-c", "env"] },
            new() { Name = "echo", Command = ["sh", "-c", $"echo key={ProviderKey} token=ghp_forge_token_4455667788"] },
        };

        var results = (await GateRunner.RunAllAsync(gates, _worktree, [], env, secrets, null, CancellationToken.None)).ToDictionary(r => r.Name);

        Assert.DoesNotContain(ProviderKeyEnv, results["env"].Output);
        Assert.DoesNotContain(ProviderKey, results["env"].Output);
        Assert.Contains("PATH=", results["env"].Output);
        Assert.Equal("key=*** token=***\n", results["echo"].Output);
    }

    [Fact]
    public async Task A_change_that_holds_a_known_secret_fails_the_secrets_gate()
    {
        await Worktree();
        File.WriteAllText(Path.Combine(_worktree, "leak.txt"), $"config = {ProviderKey}\n");
        File.WriteAllText(Path.Combine(_worktree, "fine.txt"), "nothing\n");
        var secrets = new Redactor([ProviderKey]);

        var gate = GateRunner.SecretsCheck(_worktree, ["leak.txt", "fine.txt"], [], secrets);

        Assert.False(gate.Passed);
        Assert.Contains("leak.txt", gate.Output);
        Assert.DoesNotContain("fine.txt", gate.Output);
        Assert.DoesNotContain(ProviderKey, gate.Output);
        Assert.True(GateRunner.SecretsCheck(_worktree, ["fine.txt"], [], secrets).Passed);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(ProviderKeyEnv, null);
        _git.Dispose();
    }
}
