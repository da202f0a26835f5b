using System.Diagnostics;

/// <summary>One event as received: its name, data, when (on the client's stream clock, and UTC).</summary>
internal sealed record Received(string Name, string Data, TimeSpan Clock, DateTimeOffset ReceivedUtc);

/// <summary>Reads a daemon's /api/events in the background, as the dashboard does.</summary>
internal sealed class SseClient : IAsyncDisposable
{
    private readonly List<Received> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly HttpResponseMessage _response;
    private readonly Task _reading;

    private SseClient(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reading = Task.Run(() => Read(body));
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    public int Count
    {
        get
        {
            lock (_events)
            {
                return _events.Count;
            }
        }
    }

    public static async Task<SseClient> Open(HttpClient http, string path)
    {
        var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return new SseClient(response, await response.Content.ReadAsStreamAsync());
    }

    private async Task Read(Stream body)
    {
        using var reader = new StreamReader(body);
        string? name = null;
        try
        {
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && name is not null)
                {
                    var e = new Received(name, line[6..], _clock.Elapsed, DateTimeOffset.UtcNow);
                    lock (_events)
                    {
                        _events.Add(e);
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }

    /// <summary>The stream clock of the last event that matches (null when none did).</summary>
    public TimeSpan? Last(Func<Received, bool> match)
    {
        lock (_events)
        {
            for (var i = _events.Count - 1; i >= 0; i--)
            {
                if (match(_events[i]))
                {
                    return _events[i].Clock;
                }
            }
        }

        return null;
    }

    public async Task<Received> WaitFor(Func<Received, bool> match, TimeSpan timeout, int from = 0)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_events)
            {
                for (var i = from; i < _events.Count; i++)
                {
                    if (match(_events[i]))
                    {
                        return _events[i];
                    }
                }
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException("event not seen within " + timeout);
            }

            await Task.Delay(1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _reading;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }
}
