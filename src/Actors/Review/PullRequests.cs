namespace DarkFactory.Actors.Review;

/// <summary>
/// Opens the pull request of a daemon-made branch (a compound review's, a project's): pushes the branch
/// (<see cref="Worktrees.PushAsync"/>, authenticated to the forge only), then asks the forge for a PR of that branch and
/// opens one only if there is none, so a restart after the push never opens a second.
/// </summary>
public static class PullRequests
{
    /// <param name="settingsKey">The fleet.yaml section, for error messages (compound_review, projects).</param>
    public static async Task<PullRequestRef> OpenAsync(
        string repo, string remote, ForgeSpec forge, string settingsKey, IReadOnlyDictionary<string, string?> environment, HttpClient http,
        string branch, string baseBranch, string title, string body, CancellationToken ct)
    {
        var credentials = await CredentialsAsync(forge, settingsKey, remote, environment, async t => await Git.RunAsync(repo, ["remote", "get-url", remote], t) is { Ok: true } url ? url.Stdout : null, ct);
        await Worktrees.PushAsync(repo, remote, branch, credentials, ct);
        return await new GitHubForge(http, forge.BaseUrl, credentials.Repository!, credentials.Token).FindOrCreateAsync(branch, baseBranch, title, body, ct);
    }

    /// <summary>
    /// What a push and the forge's API need, or a <see cref="ForgeException"/> naming the setting that is missing: the forge
    /// kind (github), the repository (the setting, else read from the remote's URL) and the token (from the environment).
    /// </summary>
    /// <param name="remote">The remote the branch is pushed to (named in the error).</param>
    /// <param name="remoteUrl">Its URL (null: no such remote), asked only when the repository is not set.</param>
    public static async Task<ForgeCredentials> CredentialsAsync(
        ForgeSpec forge, string settingsKey, string remote, IReadOnlyDictionary<string, string?> environment, Func<CancellationToken, Task<string?>> remoteUrl, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(forge);
        ArgumentNullException.ThrowIfNull(remoteUrl);
        if (!string.Equals(forge.Kind, "github", StringComparison.Ordinal))
        {
            throw new ForgeException($"{settingsKey}.forge.kind '{forge.Kind}' is not supported yet (github is)");
        }

        var repository = forge.Repository;
        if (repository is null && await remoteUrl(ct) is { } url)
        {
            repository = ReviewOverrides.RepositoryFromRemote(url);
        }

        if (repository is null)
        {
            throw new ForgeException($"{settingsKey}.forge.repository is not set and remote '{remote}' does not name one (owner/name)");
        }

        var token = environment.GetValueOrDefault(forge.TokenEnv);
        if (string.IsNullOrEmpty(token))
        {
            throw new ForgeException($"the environment variable {forge.TokenEnv} ({settingsKey}.forge.token_env) is not set: no token for the forge");
        }

        return new ForgeCredentials(forge.BaseUrl, repository, token);
    }
}
