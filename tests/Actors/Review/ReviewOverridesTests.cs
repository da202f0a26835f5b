using DarkFactory.Actors.Review;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

public sealed class ReviewOverridesTests
{
    [Fact]
    public void Environment_variables_override_the_fleet_file()
    {
        var spec = new CompoundReviewSpec { Repo = "/fleet", CreatePrs = false };
        var env = new Dictionary<string, string?>
        {
            ["DF_REVIEW_REPO"] = "/srv/repo",
            ["DF_REVIEW_CREATE_PRS"] = "true",
            ["DF_FORGE_BASE_URL"] = "http://127.0.0.1:8080/api/v3",
            ["DF_FORGE_REPOSITORY"] = "acme/widgets",
            ["DF_REVIEW_BASE_BRANCH"] = "",
        };
        var o = ReviewOverrides.Apply(spec, env);
        Assert.Equal(("/srv/repo", true, "main"), (o.Repo, o.CreatePrs, o.BaseBranch));
        Assert.Equal(("http://127.0.0.1:8080/api/v3", "acme/widgets", "GITHUB_TOKEN"), (o.Forge.BaseUrl, o.Forge.Repository, o.Forge.TokenEnv));
        Assert.Equal(spec, ReviewOverrides.Apply(spec, new Dictionary<string, string?>()));
    }

    [Theory]
    [InlineData("https://github.com/acme/widgets.git", "acme/widgets")]
    [InlineData("https://x-access-token@github.com/acme/widgets", "acme/widgets")]
    [InlineData("git@github.com:acme/widgets.git", "acme/widgets")]
    [InlineData("ssh://git@github.com/acme/wid.gets.git", "acme/wid.gets")]
    [InlineData("/srv/git/widgets.git", null)]
    public void The_repository_is_read_from_the_remote_url(string url, string? repository) =>
        Assert.Equal(repository, ReviewOverrides.RepositoryFromRemote(url));
}
