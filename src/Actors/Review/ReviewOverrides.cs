using System.Text.RegularExpressions;

namespace DarkFactory.Actors.Review;

/// <summary>
/// Environment variables that override fleet.yaml's <c>compound_review</c> settings, so a container is
/// configured through its environment only (docker-compose.yml): <c>DF_REVIEW_REPO</c>,
/// <c>DF_REVIEW_BASE_BRANCH</c>, <c>DF_REVIEW_CREATE_PRS</c> (true/false), <c>DF_FORGE_BASE_URL</c>,
/// <c>DF_FORGE_REPOSITORY</c>, <c>DF_FORGE_TOKEN_ENV</c>. The token itself stays in the variable that
/// <c>forge.token_env</c> names (GITHUB_TOKEN by default).
/// </summary>
public static partial class ReviewOverrides
{
    public static readonly IReadOnlyList<string> Names =
        ["DF_REVIEW_REPO", "DF_REVIEW_BASE_BRANCH", "DF_REVIEW_CREATE_PRS", "DF_FORGE_BASE_URL", "DF_FORGE_REPOSITORY", "DF_FORGE_TOKEN_ENV"];

    public static CompoundReviewSpec Apply(CompoundReviewSpec spec, IReadOnlyDictionary<string, string?> env)
    {
        string? Get(string name) => env.GetValueOrDefault(name) is { Length: > 0 } v ? v.Trim() : null;

        var createPrs = Get("DF_REVIEW_CREATE_PRS") is { } c && bool.TryParse(c, out var b) ? b : spec.CreatePrs;
        return spec with
        {
            Repo = Get("DF_REVIEW_REPO") is { } repo ? Path.GetFullPath(repo) : spec.Repo,
            BaseBranch = Get("DF_REVIEW_BASE_BRANCH") ?? spec.BaseBranch,
            CreatePrs = createPrs,
            Forge = spec.Forge with
            {
                BaseUrl = Get("DF_FORGE_BASE_URL") ?? spec.Forge.BaseUrl,
                Repository = Get("DF_FORGE_REPOSITORY") ?? spec.Forge.Repository,
                TokenEnv = Get("DF_FORGE_TOKEN_ENV") ?? spec.Forge.TokenEnv,
            },
        };
    }

    /// <summary>owner/name from a remote URL (https://host/owner/name(.git), git@host:owner/name(.git), ssh://...); null for local paths.</summary>
    public static string? RepositoryFromRemote(string url)
    {
        var m = RemotePattern().Match(url.Trim());
        return m.Success ? $"{m.Groups["owner"].Value}/{m.Groups["name"].Value}" : null;
    }

    [GeneratedRegex(@"^(?:[a-z+]+://(?:[^@/]+@)?[^/]+/|[^@/:]+@[^:/]+:)(?<owner>[A-Za-z0-9_.-]+)/(?<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")]
    private static partial Regex RemotePattern();
}
