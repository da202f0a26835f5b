using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization;

namespace DarkFactory.Actors.Review;

public sealed class ForgeException(string message) : Exception(message);

/// <summary>A pull request on the forge: number and web link.</summary>
public sealed record PullRequestRef(int Number, string Url, bool Existing);

/// <summary>
/// The GitHub REST API (or a compatible one at <c>forge.base_url</c>) through HttpClient: look up an open or
/// closed PR for a branch, and open one only when there is none. The token is sent as a bearer header and
/// never appears in an error message.
/// </summary>
public sealed class GitHubForge(HttpClient http, string baseUrl, string repository, string token)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private Uri Url(string path) => new(baseUrl.TrimEnd('/') + "/repos/" + repository + path);

    /// <summary>The PR whose head is <paramref name="branch"/>, or a new one from it into <paramref name="baseBranch"/>.</summary>
    public async Task<PullRequestRef> FindOrCreateAsync(string branch, string baseBranch, string title, string body, CancellationToken ct)
    {
        var owner = repository.Split('/')[0];
        var existing = await SendAsync<List<PullResponse>>(HttpMethod.Get, $"/pulls?state=all&head={Uri.EscapeDataString(owner + ":" + branch)}", null, ct);
        if (existing?.FirstOrDefault() is { } found)
        {
            return new PullRequestRef(found.Number, found.HtmlUrl ?? found.Url ?? string.Empty, Existing: true);
        }

        var created = await SendAsync<PullResponse>(HttpMethod.Post, "/pulls", new { title, head = branch, @base = baseBranch, body }, ct)
            ?? throw new ForgeException($"the forge at {baseUrl} answered an empty body to creating a pull request");
        return new PullRequestRef(created.Number, created.HtmlUrl ?? created.Url ?? string.Empty, Existing: false);
    }

    private async Task<T?> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, Url(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("dark-factory", "1.0"));
        request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ForgeException($"{method} {baseUrl}/repos/{repository}{path.Split('?')[0]}: {e.Message}");
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                var message = text.Length > 300 ? text[..300] : text;
                throw new ForgeException($"{method} {baseUrl}/repos/{repository}{path.Split('?')[0]} answered {(int)response.StatusCode}: {(token.Length > 0 ? message.Replace(token, "***", StringComparison.Ordinal) : message)}");
            }

            return await response.Content.ReadFromJsonAsync<T>(Json, ct);
        }
    }

    private sealed record PullResponse(
        [property: JsonPropertyName("number")] int Number,
        [property: JsonPropertyName("html_url")] string? HtmlUrl,
        [property: JsonPropertyName("url")] string? Url);
}
