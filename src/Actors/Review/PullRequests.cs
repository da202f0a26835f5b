using DarkFactory.Messages.Fleet;

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
        if (!string.Equals(forge.Kind, "github", StringComparison.Ordinal))
        {
            throw new ForgeException($"{settingsKey}.forge.kind '{forge.Kind}' is not supported yet (github is)");
        }

        var repository = forge.Repository;
        if (repository is null && await Git.RunAsync(repo, ["remote", "get-url", remote], ct) is { Ok: true } url)
        {
            repository = ReviewOverrides.RepositoryFromRemote(url.Stdout);
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

        await Worktrees.PushAsync(repo, remote, branch, new ForgeCredentials(forge.BaseUrl, repository, token), ct);
        return await new GitHubForge(http, forge.BaseUrl, repository, token).FindOrCreateAsync(branch, baseBranch, title, body, ct);
    }
}
