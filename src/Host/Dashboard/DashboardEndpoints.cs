using System.Collections.Frozen;
using System.Reflection;

namespace DarkFactory.Host.Dashboard;

/// <summary>
/// The dashboard: plain HTML, JavaScript and CSS embedded in the assembly (no build step), served at
/// <c>/</c> and <c>/ui/*</c> without the token — the files hold no data. The page asks for the token
/// (or takes it from the URL fragment that `df dashboard` prints, which never reaches the server),
/// keeps it in sessionStorage and sends it as a bearer token on every API call and on the event stream.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly FrozenDictionary<string, (byte[] Body, string Type)> Files = Load();

    public static void MapDashboard(this WebApplication app)
    {
        app.MapGet("/", () => Serve("index.html")).ExcludeFromDescription();
        app.MapGet("/ui/{file}", (string file) => Serve(file)).ExcludeFromDescription();
    }

    private static IResult Serve(string file) =>
        Files.TryGetValue(file, out var f)
            ? Results.Bytes(f.Body, f.Type)
            : Results.NotFound();

    private static FrozenDictionary<string, (byte[] Body, string Type)> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("dashboard/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name["dashboard/".Length..];
            files[file] = (copy.ToArray(), ContentType(file));
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
