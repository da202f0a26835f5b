using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>
/// A mock of the GitHub pulls API on 127.0.0.1 (random port): records every request (method, path,
/// authorization, body), answers the list of PRs for a head branch, and creates PRs with increasing
/// numbers. Shared with the host tests (linked file).
/// </summary>
public sealed class MockGitHub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _byHead = new(StringComparer.Ordinal);
    private int _next = 41;

    private MockGitHub(WebApplication app) => _app = app;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>Status code every request answers instead (0: behave normally).</summary>
    public int FailWith { get; set; }

    public int Created => Requests.Count(r => r.Method == "POST");

    /// <summary>How long a PR creation waits before it answers (the PR exists already): a client killed meanwhile never sees the answer.</summary>
    public TimeSpan PostDelay { get; set; }

    /// <summary>PR creations per head branch.</summary>
    public int CreatedFor(string branch) => Requests.Count(r => r.Method == "POST" && r.Body.Contains($"\"head\":\"{branch}\"", StringComparison.Ordinal));

    public static async Task<MockGitHub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var mock = new MockGitHub(app);
        app.MapGet("/repos/{owner}/{name}/pulls", async (string owner, string name, HttpContext http) =>
        {
            if (await mock.Record(http) is { } fail)
            {
                return fail;
            }

            var head = http.Request.Query["head"].ToString();
            var branch = head.Contains(':') ? head[(head.IndexOf(':') + 1)..] : head;
            return Results.Json(mock._byHead.TryGetValue(branch, out var n)
                ? new[] { new { number = n, html_url = $"https://github.example/{owner}/{name}/pull/{n}", url = $"{mock.BaseUrl}/repos/{owner}/{name}/pulls/{n}" } }
                : []);
        });
        app.MapPost("/repos/{owner}/{name}/pulls", async (string owner, string name, HttpContext http) =>
        {
            if (await mock.Record(http) is { } fail)
            {
                return fail;
            }

            var body = JsonSerializer.Deserialize<JsonElement>(mock.Requests.Last().Body);
            var head = body.GetProperty("head").GetString()!;
            var n = Interlocked.Increment(ref mock._next);
            mock._byHead[head] = n;
            if (mock.PostDelay > TimeSpan.Zero)
            {
                await Task.Delay(mock.PostDelay);
            }

            return Results.Json(new { number = n, html_url = $"https://github.example/{owner}/{name}/pull/{n}", url = $"{mock.BaseUrl}/repos/{owner}/{name}/pulls/{n}" }, statusCode: 201);
        });
        await app.StartAsync();
        mock.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return mock;
    }

    /// <summary>Makes the mock know a PR for a branch already (as if opened before a crash).</summary>
    public void Existing(string branch, int number) => _byHead[branch] = number;

    private async Task<IResult?> Record(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var body = await reader.ReadToEndAsync();
        Requests.Enqueue(new RecordedRequest(http.Request.Method, http.Request.Path + http.Request.QueryString, http.Request.Headers.Authorization.ToString(), body));
        return FailWith > 0 ? Results.Json(new { message = "mock failure" }, statusCode: FailWith) : null;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record RecordedRequest(string Method, string Path, string Authorization, string Body);
