using System.Diagnostics;
using System.Text.Json;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>One server-sent event as a test reads it, with when it arrived.</summary>
public sealed record SseEvent(string Name, string Data, TimeSpan ArrivedAt)
{
    public JsonElement Json => JsonSerializer.Deserialize<JsonElement>(Data);
}

/// <summary>Reads /api/events of a daemon in the background; tests wait for the events they expect.</summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<SseEvent> _events = [];
    private readonly Task _reading;

    private SseReader(HttpClient http, Stream stream)
    {
        _http = http;
        _reading = Task.Run(() => Read(stream));
    }

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public static async Task<SseReader> Open(DaemonProcess daemon, string query = "")
    {
        var http = daemon.Client();
        http.Timeout = Timeout.InfiniteTimeSpan;
        var response = await http.GetAsync("/api/events" + query, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return new SseReader(http, await response.Content.ReadAsStreamAsync());
    }

    public IReadOnlyList<SseEvent> Events
    {
        get
        {
            lock (_events)
            {
                return _events.ToList();
            }
        }
    }

    private async Task Read(Stream stream)
    {
        using var reader = new StreamReader(stream);
        string? name = null;
        string? data = null;
        try
        {
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (name is not null && data is not null)
                    {
                        lock (_events)
                        {
                            _events.Add(new SseEvent(name, data, Clock.Elapsed));
                        }
                    }

                    name = data = null;
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line["data: ".Length..];
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Waits for the first event (from index <paramref name="from"/>) that matches.</summary>
    public async Task<SseEvent> WaitFor(Func<SseEvent, bool> match, TimeSpan timeout, string what, int from = 0)
    {
        SseEvent? found = null;
        await DaemonProcess.Until(() => Task.FromResult((found = Events.Skip(from).FirstOrDefault(match)) is not null), timeout, what);
        return found!;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _http.Dispose();
        try
        {
            await _reading;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }

        _stop.Dispose();
    }
}
