using System.Net;
using System.Net.Sockets;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>A real HTTP endpoint on 127.0.0.1 that records the first POST's body and answers it with <paramref name="status"/>.</summary>
public sealed class Webhook : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly int _status;

    public Webhook(int status = 204)
    {
        _status = status;
        Url = $"http://127.0.0.1:{FreePort()}/hooks/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = Serve();
    }

    /// <summary>The endpoint's base URL (ends with a slash).</summary>
    public string Url { get; }

    public TaskCompletionSource<string> Received { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A port nobody listens on (for unreachable webhooks).</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public void Dispose() => _listener.Close();

    private async Task Serve()
    {
        try
        {
            var ctx = await _listener.GetContextAsync();
            using var reader = new StreamReader(ctx.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            ctx.Response.StatusCode = _status;
            ctx.Response.Close();
            Received.TrySetResult(body);
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
        {
        }
    }
}
