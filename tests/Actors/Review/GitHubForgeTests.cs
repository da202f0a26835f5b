using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>The GitHub client against a mock GitHub API on 127.0.0.1.</summary>
public sealed class GitHubForgeTests
{
    private static readonly HttpClient Http = new();

    [Fact]
    public async Task Opens_a_PR_once_and_finds_it_the_second_time()
    {
        await using var github = await MockGitHub.StartAsync();
        var forge = new GitHubForge(Http, github.BaseUrl, "acme/widgets", "tok-123");

        var first = await forge.FindOrCreateAsync("df/compound/2026-11-22-x", "main", "title", "body", CancellationToken.None);
        var second = await forge.FindOrCreateAsync("df/compound/2026-11-22-x", "main", "title", "body", CancellationToken.None);

        Assert.False(first.Existing);
        Assert.True(second.Existing);
        Assert.Equal(first.Number, second.Number);
        Assert.Equal($"https://github.example/acme/widgets/pull/{first.Number}", first.Url);
        Assert.Equal(1, github.Created);
        Assert.All(github.Requests, r => Assert.Equal("Bearer tok-123", r.Authorization));
        var post = github.Requests.Single(r => r.Method == "POST");
        Assert.Contains("\"head\":\"df/compound/2026-11-22-x\"", post.Body);
        Assert.Contains("\"base\":\"main\"", post.Body);
        Assert.Contains("head=acme%3Adf%2Fcompound%2F2026-11-22-x", github.Requests.First().Path);
    }

    [Fact]
    public async Task A_forge_error_names_the_call_and_status_but_never_the_token()
    {
        await using var github = await MockGitHub.StartAsync();
        github.FailWith = 422;
        var forge = new GitHubForge(Http, github.BaseUrl, "acme/widgets", "tok-secret");
        var e = await Assert.ThrowsAsync<ForgeException>(() => forge.FindOrCreateAsync("b", "main", "t", "b", CancellationToken.None));
        Assert.Contains("answered 422", e.Message);
        Assert.Contains("/repos/acme/widgets/pulls", e.Message);
        Assert.DoesNotContain("tok-secret", e.Message);
    }
}
