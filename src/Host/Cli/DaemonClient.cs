using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace DarkFactory.Host.Cli;

/// <summary>A `df` command could not reach a daemon, or the daemon said no: one line for the user, a non-zero exit.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Talks to the daemon of a data directory over its HTTP API (address and token from daemon.json).</summary>
public sealed class DaemonClient : IDisposable
{
    private readonly HttpClient _http;

    private DaemonClient(HttpClient http) => _http = http;

    public static DaemonClient Connect(DataDirectory data)
    {
        var endpoint = data.ReadEndpoint() ?? throw NotRunning(data);
        var http = new HttpClient { BaseAddress = new Uri(endpoint.Url), Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.Token);
        return new DaemonClient(http) { Data = data };
    }

    public DataDirectory Data { get; private init; } = null!;

    private static CliException NotRunning(DataDirectory data) =>
        new($"no Dark Factory daemon is running for {data.Path} (start one with: ./df up)");

    public async Task<JsonElement> GetJson(string path, CancellationToken ct = default)
    {
        using var response = await Send(HttpMethod.Get, path, null, ct);
        return await Read(response, ct);
    }

    /// <summary>The resource, or null when the daemon answers 404 (an unknown project, agent or review).</summary>
    public async Task<JsonElement?> FindJson(string path, CancellationToken ct = default)
    {
        using var response = await Send(HttpMethod.Get, path, null, ct);
        return response.StatusCode == HttpStatusCode.NotFound ? null : await Read(response, ct);
    }

    /// <summary>A text resource (a report).</summary>
    public async Task<string> GetText(string path, CancellationToken ct = default)
    {
        using var response = await Send(HttpMethod.Get, path, null, ct);
        if (!response.IsSuccessStatusCode)
        {
            await Read(response, ct);
        }

        return await response.Content.ReadAsStringAsync(ct);
    }

    public async Task<(bool Ok, JsonElement Body)> PostJson(string path, object? body = null, CancellationToken ct = default)
    {
        using var response = await Send(HttpMethod.Post, path, body, ct);
        var json = await Read(response, ct, allowConflict: true);
        return (response.IsSuccessStatusCode, json);
    }

    public async Task<(bool Ok, JsonElement Body)> DeleteJson(string path, CancellationToken ct = default)
    {
        using var response = await Send(HttpMethod.Delete, path, null, ct);
        var json = await Read(response, ct, allowConflict: true);
        return (response.IsSuccessStatusCode, json);
    }

    public async Task<HttpResponseMessage> Stream(string path, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        try
        {
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                await Read(response, ct);
            }

            return response;
        }
        catch (HttpRequestException)
        {
            throw NotRunning(Data);
        }
    }

    private async Task<HttpResponseMessage> Send(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: DarkFactoryJson.Options);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            return await _http.SendAsync(request, timeout.Token);
        }
        catch (HttpRequestException)
        {
            throw NotRunning(Data);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliException($"the daemon at {_http.BaseAddress} did not answer within 60 s");
        }
    }

    private static async Task<JsonElement> Read(HttpResponseMessage response, CancellationToken ct, bool allowConflict = false)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonElement json;
        try
        {
            json = text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text);
        }
        catch (JsonException)
        {
            throw new CliException($"the daemon answered {(int)response.StatusCode} with something that is not JSON");
        }

        if (response.IsSuccessStatusCode || (allowConflict && response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity))
        {
            return json;
        }

        var detail = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("detail", out var d) ? d.GetString() : text;
        throw new CliException(response.StatusCode == HttpStatusCode.Unauthorized
            ? "the daemon refused the token in daemon.json (was the data directory's token file replaced?)"
            : detail ?? response.ReasonPhrase ?? "request failed");
    }

    public void Dispose() => _http.Dispose();
}
