using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DarkFactory.Host.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.Fuzz;

/// <summary>
/// Issue 15, "tests that attack": every operation of the daemon's own OpenAPI document, called with random and
/// boundary path values, query values, bodies (valid shapes, wrong types, deep nesting, sizes up to and over the
/// limits), content types and authorization headers. No answer is a 5xx, the daemon stays up and its memory stays
/// bounded. Seeds and budget: tests/Host/Fuzz/seeds.json; a failure names the seed and the request.
/// </summary>
[Collection("daemon")]
public sealed class ApiFuzzTests(ITestOutputHelper output)
{
    private const long RssBound = 700L * 1024 * 1024;

    private static readonly string[] PathValues =
    [
        "keeper", "worker", "nobody", "", " ", "%20", "..", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "a%00b", "%E2%80%AE", "%F0%9F%9A%80", "a,b",
        "keeper@project", "@", "-1", "0", "99999999999999999999", new string('a', 300), "%ZZ", "x;y", "\u00e9", "Keeper", "keeper/extra",
    ];

    private static readonly string[] QueryValues =
    [
        "", "0", "-1", "1", "500", "501", "2147483648", "-2147483649", "1e9", "NaN", "true", "false", "lots", "%00", "keeper", "nobody",
        "keeper,nobody", new string('9', 400), "null", "[]", "{}", "markdown", "json", "xml", "active", "2026-12-06T00:00:00Z", "yesterday",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/problem+json", "text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/json; charset=latin1", "", "garbage/",
    ];

    private static string RandomJson(Random random, int depth = 0)
    {
        switch (random.Next(depth > 3 ? 6 : 9))
        {
            case 0: return "null";
            case 1: return random.Next(2) == 0 ? "true" : "false";
            case 2: return random.Next(4) switch { 0 => "-1", 1 => "1e308", 2 => "99999999999999999999999", _ => random.Next().ToString(CultureInfo.InvariantCulture) };
            case 3: return JsonSerializer.Serialize(new string((char)random.Next(32, 0x2FFF), random.Next(0, 64)));
            case 4: return JsonSerializer.Serialize(new string('t', random.Next(0, 3) switch { 0 => 10, 1 => 40_000, _ => 300_000 }));
            case 5: return "\"\\ud800\"";
            case 6: return "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomJson(random, depth + 1))) + "]";
            default:
                var keys = new[] { "task", "agent", "name", "description", "repo", "base", "persona", "max_runtime", "extend", "status", "format", "x", "" };
                return "{" + string.Join(",", Enumerable.Range(0, random.Next(0, 5)).Select(_ => $"{JsonSerializer.Serialize(keys[random.Next(keys.Length)])}:{RandomJson(random, depth + 1)}")) + "}";
        }
    }

    private static string Body(Random random) => random.Next(10) switch
    {
        0 => string.Empty,
        1 => "{not json",
        2 => new string('[', 5000) + new string(']', 5000), // deep nesting
        3 => "{\"task\":" + JsonSerializer.Serialize(new string('t', 1024 * 1024 + 1)) + "}", // over max-task-size
        4 => "\u0000\u0001\u0002",
        _ => RandomJson(random),
    };

    private static IEnumerable<(string Method, string Path, IReadOnlyList<string> Query)> Operations(JsonElement openapi)
    {
        foreach (var path in openapi.GetProperty("paths").EnumerateObject())
        {
            foreach (var op in path.Value.EnumerateObject())
            {
                var query = op.Value.TryGetProperty("parameters", out var ps)
                    ? ps.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()!).ToList()
                    : [];
                yield return (op.Name.ToUpperInvariant(), path.Name, query);
            }
        }
    }

    private static long Rss(int pid) => SlowClientTests.RssBytes(pid);

    [Theory]
    [MemberData(nameof(FuzzSeeds.Api), MemberType = typeof(FuzzSeeds))]
    public async Task Every_operation_answers_random_and_boundary_requests_without_a_5xx_and_the_daemon_stays_up_and_bounded(int seed)
    {
        await using var daemon = new DaemonProcess($"""
            version: 1
            agents:
              - name: keeper
                layer: safety
                command: ["{DaemonProcess.Agent("sleeper.sh")}"]
                grace: 1s
              - name: worker
                layer: growth
                command: ["{DaemonProcess.Agent("lines.sh")}", "3"]
            """);
        await daemon.StartAsync();
        using var http = daemon.Client();
        http.Timeout = TimeSpan.FromSeconds(60);
        var token = http.DefaultRequestHeaders.Authorization!.Parameter!;
        var operations = Operations(await daemon.ApiJson("/openapi/v1.json")).Where(o => o.Path != "/api/events" && !o.Path.EndsWith("/logs", StringComparison.Ordinal)).ToList();
        Assert.True(operations.Count >= 20, $"only {operations.Count} operations in the OpenAPI document");
        var random = new Random(seed);
        var budget = FuzzSeeds.Budget("api", "requests_per_seed");
        var statuses = new Dictionary<int, int>();
        var peakRss = 0L;

        // every operation once with sane values, then random ones
        for (var n = 0; n < budget + operations.Count; n++)
        {
            var (method, template, query) = operations[n < operations.Count ? n : random.Next(operations.Count)];
            var path = System.Text.RegularExpressions.Regex.Replace(template, @"\{[^}]+\}", _ => n < operations.Count ? "keeper" : PathValues[random.Next(PathValues.Length)]);
            var parameters = query.Where(_ => random.Next(3) > 0).Select(q => $"{q}={Uri.EscapeDataString(QueryValues[random.Next(QueryValues.Length)])}");
            var url = path + (parameters.Any() ? "?" + string.Join('&', parameters) : string.Empty);
            using var request = new HttpRequestMessage(new HttpMethod(method), url);
            if (method is "POST" or "PUT" or "PATCH" && random.Next(4) > 0)
            {
                var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Body(random)));
                var type = ContentTypes[random.Next(ContentTypes.Length)];
                if (type.Length > 0)
                {
                    content.Headers.TryAddWithoutValidation("Content-Type", type);
                }

                request.Content = content;
            }

            switch (random.Next(12))
            {
                case 0:
                    request.Headers.Authorization = null;
                    request.Headers.TryAddWithoutValidation("Authorization", "bearer " + token);
                    break;
                case 1:
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token[..^1]);
                    break;
                case 2:
                    request.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("a:b")));
                    break;
                case 3:
                    request.Headers.TryAddWithoutValidation("Authorization", "dfr1.keeper.r1.forged");
                    break;
                default:
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    break;
            }

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Assert.Fail($"seed {seed}, request {n}: {method} {url} got no answer ({e.Message}); daemon output:\n{daemon.Output[^Math.Min(daemon.Output.Length, 3000)..]}");
                throw;
            }

            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (status >= 500 && status != 503)
            {
                Assert.Fail($"seed {seed}, request {n}: {method} {url} with {request.Content?.Headers.ContentType?.ToString() ?? "no body"} answered {status}: {await response.Content.ReadAsStringAsync()}");
            }

            response.Dispose();
            if (n % 20 == 0)
            {
                peakRss = Math.Max(peakRss, Rss(daemon.Pid));
            }
        }

        // the daemon is up, answers, and stayed bounded
        using var anonymous = daemon.Client(withToken: false);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/health")).StatusCode);
        peakRss = Math.Max(peakRss, Rss(daemon.Pid));
        Assert.True(peakRss < RssBound, $"seed {seed}: daemon RSS reached {peakRss / (1024 * 1024)} MiB");
        output.WriteLine($"seed {seed}: {budget + operations.Count} requests over {operations.Count} operations; statuses {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}; peak RSS {peakRss / (1024 * 1024)} MiB");
    }
}
