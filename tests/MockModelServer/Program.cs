using DarkFactory.MockModelServer;

// Runs the mock model server by hand:
//   dotnet run --project tests/MockModelServer [-- PORT [SCRIPT]]
// SCRIPT: text (default), 429 (retry after 30 s), 429:SECONDS, 500, hang, or tool:NAME:ARGS_JSON (one tool call, then text).
var port = args.Length > 0 && int.TryParse(args[0], out var p) ? p : 0;
var script = args.Length > 1 ? args[1] : "text";
await using var server = await MockServer.StartAsync(port);
switch (script)
{
    case "429":
        server.Reply(MockReply.RateLimited(TimeSpan.FromSeconds(30)));
        break;
    case var s when s.StartsWith("429:", StringComparison.Ordinal):
        server.Reply(MockReply.RateLimited(TimeSpan.FromSeconds(int.Parse(s[4..], System.Globalization.CultureInfo.InvariantCulture))));
        break;
    case "500":
        server.Reply(MockReply.Error(500));
        break;
    case "hang":
        server.Reply(MockReply.Hang());
        break;
    default:
        if (script.StartsWith("tool:", StringComparison.Ordinal) && script.Split(':', 3) is [_, var name, var json])
        {
            server.Reply(MockReply.Tool(name, json), times: 1);
        }

        break;
}

Console.WriteLine($"mock model server on {server.BaseUrl}, script {script} (Ctrl-C to stop)");
var done = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    done.TrySetResult();
};
using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    done.TrySetResult();
});
await done.Task;
foreach (var r in server.Requests)
{
    Console.WriteLine(r.Describe() + " tools=" + string.Join(',', r.ToolNames));
}
