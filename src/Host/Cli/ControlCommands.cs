using System.CommandLine;
using Spectre.Console;

namespace DarkFactory.Host.Cli;

/// <summary>`df dashboard`, `df capabilities`, `df events`: the control plane from the command line.</summary>
public static class ControlCommands
{
    public static Command Dashboard(Func<ParseResult, DataDirectory> data)
    {
        var print = new Option<bool>("--print") { Description = "Only print the URL (do not try to open a browser)" };
        var json = CliApp.JsonOption("Print {\"url\": ...} as JSON");
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
        var json = CliApp.JsonOption();
        var command = new Command("capabilities", "The capability registry: each agent's capabilities, current task, load and the route of its current run.\nExample: ./df capabilities --json") { agent, json };
        command.SetQuery(json, data, parse => parse.GetValue(agent) is { } name ? $"/api/capabilities/{Uri.EscapeDataString(name)}" : "/api/capabilities", (answer, _) =>
        {
            var rows = (answer.ValueKind == JsonValueKind.Array ? answer.EnumerateArray().ToList() : [answer]).Select(a => (IReadOnlyList<string>)
            [
                Str(a, "agent"), Str(a, "layer"), Str(a, "state"),
                string.Join(",", a.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString())),
                $"{Str(a.GetProperty("load"), "running")} running, {Str(a.GetProperty("load"), "queued")} queued",
                a.TryGetProperty("route", out var route) ? string.Join(" / ", new[] { Str(route, "cli"), Str(route, "provider", string.Empty), Str(route, "model", string.Empty) }.Where(x => x.Length > 0)) : "-",
                Str(a, "current_task", "-"),
            ]);
            Table.Write(Console.Out, ["AGENT", "LAYER", "STATE", "CAPABILITIES", "LOAD", "ROUTE", "CURRENT TASK"], rows);
            return 0;
        });
        return command;
    }

    public static Command Events(Func<ParseResult, DataDirectory> data)
    {
        var output = new Option<string?>("--output") { Description = "Also stream these agents' output (comma-separated names)" };
        var json = CliApp.JsonOption("One JSON object per line: {\"event\": NAME, \"data\": {...}}");
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

    public static Command Wait(Func<ParseResult, DataDirectory> data)
    {
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait at most (exit 1 after)", DefaultValueFactory = _ => 120 };
        var json = CliApp.JsonOption("Print the final states as JSON");
        var command = new Command(
            "wait",
            "Wait until the fleet has settled after a start or reload (no agent starting, stopping or in backoff), with a progress display on a terminal.\nExample: ./df up & ./df wait --timeout 60")
        {
            timeout, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(TimeSpan.FromSeconds(parse.GetValue(timeout)));
            var fleet = new FleetProgress();
            var done = false;
            try
            {
                // a daemon that is still starting (`df up &` just before) has not written daemon.json yet
                while (data(parse).ReadEndpoint() is null)
                {
                    await Task.Delay(100, limit.Token);
                }

                using var client = DaemonClient.Connect(data(parse));
                using var response = await client.Stream("/api/events", limit.Token);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(limit.Token));
                var events = ReadEvents(reader, limit.Token);
                if (Terminal.Rich)
                {
                    await AnsiConsole.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                        .StartAsync(async ctx =>
                        {
                            var bar = ctx.AddTask("agents settled", maxValue: 1);
                            await foreach (var (name, json) in events)
                            {
                                fleet.Apply(name, json);
                                bar.MaxValue = Math.Max(1, fleet.Total);
                                bar.Value = fleet.Settled;
                                bar.Description = $"agents settled ({fleet.Settled}/{fleet.Total})";
                                if (fleet.Done)
                                {
                                    done = true;
                                    bar.Value = bar.MaxValue;
                                    break;
                                }
                            }
                        });
                }
                else
                {
                    var reported = -1;
                    await foreach (var (name, json) in events)
                    {
                        fleet.Apply(name, json);
                        if (fleet.Ready && fleet.Settled != reported)
                        {
                            reported = fleet.Settled;
                            Console.Error.WriteLine($"{fleet.Settled}/{fleet.Total} agents settled");
                        }

                        if (fleet.Done)
                        {
                            done = true;
                            break;
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // the time is up
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { settled = done, agents = fleet.States }, DarkFactoryJson.Indented));
            }
            else
            {
                Console.WriteLine((done ? "fleet settled: " : $"not settled after {parse.GetValue(timeout)} s: ") +
                    string.Join(", ", fleet.States.GroupBy(p => p.Value).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}")));
            }

            return done ? 0 : 1;
        });
        return command;
    }

    private static async IAsyncEnumerable<(string Name, JsonElement Data)> ReadEvents(StreamReader reader, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? name = null;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && name is not null)
            {
                yield return (name, JsonSerializer.Deserialize<JsonElement>(line[6..]));
            }
        }
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

    /// <summary>The fleet's states as the event stream tells them; settled = nothing starting, stopping or in backoff.</summary>
    public sealed class FleetProgress
    {
        private static readonly HashSet<string> Moving = ["starting", "stopping", "backoff"];

        public Dictionary<string, string> States { get; } = new(StringComparer.Ordinal);

        public bool Ready { get; private set; }

        public int Total => States.Count;

        public int Settled => States.Values.Count(s => !Moving.Contains(s));

        public bool Done => Ready && Settled == Total;

        public void Apply(string name, JsonElement data)
        {
            switch (name)
            {
                case "ready":
                    Ready = true;
                    break;
                case "agent-status":
                    States[data.GetProperty("name").GetString()!] = data.GetProperty("state").GetString()!;
                    break;
                case "agent-removed":
                    States.Remove(data.GetProperty("agent").GetString()!);
                    break;
            }
        }
    }

    private static string? Executables(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string Str(JsonElement e, string property, string missing = "") =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()
            : missing;
}
