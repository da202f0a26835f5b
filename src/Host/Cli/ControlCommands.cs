using System.CommandLine;
using System.Text.Json;
using DarkFactory.Host.Daemon;
using DarkFactory.Messages;

namespace DarkFactory.Host.Cli;

/// <summary>`df dashboard`, `df capabilities`, `df events`: the control plane from the command line.</summary>
public static class ControlCommands
{
    public static Command Dashboard(Func<ParseResult, DataDirectory> data)
    {
        var print = new Option<bool>("--print") { Description = "Only print the URL (do not try to open a browser)" };
        var json = new Option<bool>("--json") { Description = "Print {\"url\": ...} as JSON" };
        var command = new Command(
            "dashboard",
            "Print the dashboard's URL, with the API token in its fragment (#token=...): the fragment never leaves the browser, the page keeps the token in the tab's sessionStorage and removes it from the address bar.\nExample: ./df dashboard --print")
        {
            print, json,
        };
        command.SetAction(parse =>
        {
            var endpoint = data(parse).ReadEndpoint() ?? throw new CliException($"no Dark Factory daemon is running for {data(parse).Path} (start one with: ./df up)");
            var url = endpoint.Url.TrimEnd('/') + "/#token=" + Uri.EscapeDataString(endpoint.Token);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { url }, DarkFactoryJson.Indented));
                return 0;
            }

            Console.WriteLine(url);
            if (!parse.GetValue(print) && !Console.IsOutputRedirected && Executables("xdg-open") is { } open)
            {
                try
                {
                    using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(open, [url]) { UseShellExecute = false, RedirectStandardError = true });
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    // no browser here: the URL is printed
                }
            }

            return 0;
        });
        return command;
    }

    public static Command Capabilities(Func<ParseResult, DataDirectory> data)
    {
        var agent = new Argument<string?>("agent") { Description = "One agent (default: all)", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("capabilities", "The capability registry: each agent's capabilities, current task and load.\nExample: ./df capabilities --json") { agent, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            var name = parse.GetValue(agent);
            var answer = await client.GetJson(name is null ? "/api/capabilities" : $"/api/capabilities/{Uri.EscapeDataString(name)}", ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(answer, DarkFactoryJson.Indented));
                return 0;
            }

            var rows = (answer.ValueKind == JsonValueKind.Array ? answer.EnumerateArray().ToList() : [answer]).Select(a => (IReadOnlyList<string>)
            [
                Str(a, "agent"), Str(a, "layer"), Str(a, "state"),
                string.Join(",", a.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString())),
                $"{Str(a.GetProperty("load"), "running")} running, {Str(a.GetProperty("load"), "queued")} queued",
                Str(a, "current_task", "-"),
            ]);
            Table.Write(Console.Out, ["AGENT", "LAYER", "STATE", "CAPABILITIES", "LOAD", "CURRENT TASK"], rows);
            return 0;
        });
        return command;
    }

    public static Command Events(Func<ParseResult, DataDirectory> data)
    {
        var output = new Option<string?>("--output") { Description = "Also stream these agents' output (comma-separated names)" };
        var json = new Option<bool>("--json") { Description = "One JSON object per line: {\"event\": NAME, \"data\": {...}}" };
        var command = new Command("events", "Follow the daemon's live event stream (agent states, lifecycle, schedules, drift, routes, reviews).\nExample: ./df events --output ci-watchdog") { output, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            var query = parse.GetValue(output) is { Length: > 0 } o ? "?output=" + Uri.EscapeDataString(o) : string.Empty;
            using var response = await client.Stream("/api/events" + query, ct);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            string? name = null;
            try
            {
                while (await reader.ReadLineAsync(ct) is { } line)
                {
                    if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        name = line[7..];
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal) && name is not null)
                    {
                        Console.WriteLine(parse.GetValue(json) ? $"{{\"event\":\"{name}\",\"data\":{line[6..]}}}" : Describe(name, line[6..]));
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }

            return 0;
        });
        return command;
    }

    /// <summary>One event as a line for people: time, name, who, what.</summary>
    public static string Describe(string name, string data)
    {
        var e = JsonSerializer.Deserialize<JsonElement>(data);
        if (name == "agent-output")
        {
            return string.Join(Environment.NewLine, e.GetProperty("lines").EnumerateArray().Select(l => $"{Str(e, "agent")} | {Str(l, "text")}"));
        }

        var who = Str(e, "agent", Str(e, "name", Str(e, "provider", Str(e, "review_id"))));
        var what = string.Join(" ", new[] { "kind", "state", "level", "outcome", "reason", "detail" }.Select(k => Str(e, k)).Where(v => v.Length > 0));
        return $"{DateTimeOffset.Now:HH:mm:ss} {name,-18} {who} {what}".TrimEnd();
    }

    private static string? Executables(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string Str(JsonElement e, string property, string missing = "") =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()
            : missing;
}
