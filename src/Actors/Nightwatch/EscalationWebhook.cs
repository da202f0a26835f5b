using System.Net.Http.Json;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// POSTs an <see cref="Escalation"/> to <c>nightwatch.escalation_webhook</c> (a chat-style <c>text</c> plus the
/// escalation's fields, as JSON) and says what became of it: the HTTP status, or the error. The URL's path and
/// query often hold a secret, so a delivery names only its scheme and host.
/// </summary>
public sealed class EscalationWebhook(HttpClient http, TimeProvider clock)
{
    /// <summary>The client used when none is injected: a 10 s timeout.</summary>
    public static readonly HttpClient SharedClient = new() { Timeout = TimeSpan.FromSeconds(10) };

    public async Task<EscalationDelivered> PostAsync(string url, Escalation escalation)
    {
        var body = new
        {
            text = $"Dark Factory: agent {escalation.Agent} stopped — {escalation.Reason}",
            escalation.Id,
            escalation.Agent,
            escalation.At,
            level = escalation.Level.ToString().ToLowerInvariant(),
            escalation.Score,
            escalation.Reason,
            escalation.Components,
            escalation.RunId,
        };
        var target = Redacted(url);
        try
        {
            using var response = await http.PostAsJsonAsync(url, body, DarkFactoryJson.Options).ConfigureAwait(false);
            return new EscalationDelivered(escalation.Id, clock.GetUtcNow(), response.IsSuccessStatusCode, $"{target}: HTTP {(int)response.StatusCode}");
        }
        catch (OperationCanceledException)
        {
            return new EscalationDelivered(escalation.Id, clock.GetUtcNow(), false, $"{target}: timed out");
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or UriFormatException)
        {
            return new EscalationDelivered(escalation.Id, clock.GetUtcNow(), false, $"{target}: {e.GetBaseException().Message}");
        }
    }

    /// <summary>Only the scheme and host of a webhook URL.</summary>
    public static string Redacted(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? $"{u.Scheme}://{u.Authority}" : "webhook";
}
