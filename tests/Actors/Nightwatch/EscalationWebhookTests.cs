using System.Text.Json;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Nightwatch;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>The escalation webhook against a real HTTP endpoint on 127.0.0.1: what is posted, and what a delivery records (never the URL's secret).</summary>
public sealed class EscalationWebhookTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset At = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly Escalation Escalation = new("0a1b2c3d4e5f", "coder", At, DriftLevel.Critical, 0.74, "critical drift 0.74 (errors 0.74)", new DriftComponents(Errors: 0.74), "r1");

    private static EscalationWebhook Webhook(HttpClient http) => new(http, TimeProvider.System);

    [Fact]
    public async Task An_escalation_is_posted_as_json_with_a_text_line_and_its_delivery_names_only_scheme_and_host()
    {
        using var hook = new Webhook();
        using var http = new HttpClient();

        var delivered = await Webhook(http).PostAsync(hook.Url + "T000/secret-token", Escalation).WaitAsync(Wait);

        Assert.True(delivered.Ok);
        Assert.Equal(Escalation.Id, delivered.Id);
        Assert.Equal($"{new Uri(hook.Url).GetLeftPart(UriPartial.Authority)}: HTTP 204", delivered.Detail);
        using var body = JsonDocument.Parse(await hook.Received.Task.WaitAsync(Wait));
        Assert.Equal("Dark Factory: agent coder stopped — critical drift 0.74 (errors 0.74)", body.RootElement.GetProperty("text").GetString());
        Assert.Equal(("coder", "critical", "r1"), (body.RootElement.GetProperty("agent").GetString(), body.RootElement.GetProperty("level").GetString(), body.RootElement.GetProperty("run_id").GetString()));
        Assert.Equal(0.74, body.RootElement.GetProperty("components").GetProperty("errors").GetDouble());
    }

    [Fact]
    public async Task A_refusing_or_unreachable_endpoint_is_an_undelivered_escalation_with_the_reason()
    {
        using var hook = new Webhook(status: 500);
        using var http = new HttpClient();

        var refused = await Webhook(http).PostAsync(hook.Url + "secret", Escalation).WaitAsync(Wait);
        Assert.False(refused.Ok);
        Assert.EndsWith(": HTTP 500", refused.Detail);
        Assert.DoesNotContain("secret", refused.Detail);

        var unreachable = await Webhook(http).PostAsync($"http://127.0.0.1:{Support.Webhook.FreePort()}/secret", Escalation).WaitAsync(Wait);
        Assert.False(unreachable.Ok);
        Assert.StartsWith("http://127.0.0.1:", unreachable.Detail);
        Assert.DoesNotContain("secret", unreachable.Detail);
    }

    [Fact]
    public async Task A_webhook_that_does_not_answer_in_time_is_recorded_as_timed_out()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0); // accepts, never answers
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var http = new HttpClient { Timeout = TimeSpan.FromMilliseconds(300) };

        var delivered = await Webhook(http).PostAsync($"http://127.0.0.1:{port}/x", Escalation).WaitAsync(Wait);

        Assert.Equal((false, $"http://127.0.0.1:{port}: timed out"), (delivered.Ok, delivered.Detail));
    }

    [Theory]
    [InlineData("https://hooks.slack.com/services/T000/B000/secret", "https://hooks.slack.com")]
    [InlineData("http://127.0.0.1:8080/x?token=secret", "http://127.0.0.1:8080")]
    [InlineData("not a url", "webhook")]
    public void Only_scheme_and_host_of_a_url_are_shown(string url, string shown) => Assert.Equal(shown, EscalationWebhook.Redacted(url));
}
