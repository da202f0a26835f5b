using System.CommandLine;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Routing;

namespace DarkFactory.Host.Cli;

/// <summary>`df route`, `df costs` and `df providers`: the router's decisions, the cost ledger and provider health.</summary>
public static class RouterCommands
{
    public static Command Route(Func<ParseResult, DataDirectory> data)
    {
        var task = new Argument<string>("task") { Description = "The task text to route" };
        var agent = new Option<string?>("--agent") { Description = "Route for this agent (its capabilities and own provider count); default: the best-fit agent by capabilities" };
        var fleet = new Option<string>("--fleet") { Description = "The fleet file read when no daemon is running", DefaultValueFactory = _ => "fleet.yaml" };
        var offline = new Option<bool>("--offline") { Description = "Decide from the fleet file even when a daemon is running (no live provider state)" };
        var json = CliApp.JsonOption("Print {chosen: {cli, provider, model, reason}, candidates: [{cli, provider, model, score, rejected_because}]}");
        var command = new Command(
            "route",
            "Show the route (CLI, provider, model) a task gets and why every other candidate lost. Uses the running daemon's live\n"
            + "provider state (rate limits, breakers, budgets) when there is one, else the fleet file.\n"
            + "Example: ./df route \"audit the dependencies for CVEs\" --json")
        {
            task, agent, fleet, offline, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var text = parse.GetValue(task)!;
            var agentName = parse.GetValue(agent);
            JsonElement decision;
            string source;
            var live = parse.GetValue(offline) ? null : data(parse).ReadEndpoint();
            if (live is not null)
            {
                using var client = DaemonClient.Connect(data(parse));
                var query = $"/api/route?task={Uri.EscapeDataString(text)}" + (agentName is null ? string.Empty : $"&agent={Uri.EscapeDataString(agentName)}");
                var (ok, body) = await client.PostJson(query, null, ct);
                if (!ok)
                {
                    throw new CliException(body.TryGetProperty("detail", out var d) ? d.GetString() ?? "route refused" : "route refused");
                }

                decision = body;
                source = $"daemon {live.Url} (live provider state)";
            }
            else
            {
                var path = parse.GetValue(fleet)!;
                decision = JsonSerializer.SerializeToElement(Offline(path, text, agentName), DarkFactoryJson.Options);
                source = $"{path} (no daemon running: every provider assumed ok)";
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(decision, DarkFactoryJson.Indented));
            }
            else
            {
                PrintDecision(decision, source);
            }

            return decision.TryGetProperty("chosen", out var c) && c.ValueKind == JsonValueKind.Object ? 0 : 3;
        });
        return command;
    }

    /// <summary>The decision from the fleet file alone: no daemon, every provider ok unless its CLI is not installed.</summary>
    public static RouteDecision Offline(string fleetPath, string task, string? agentName)
    {
        var load = FleetLoader.LoadFile(fleetPath);
        if (!load.Ok)
        {
            var first = load.Diagnostics.First(d => d.IsError);
            throw new CliException($"{fleetPath} has errors (first: {first}); check it with: ./df validate {fleetPath}");
        }

        var spec = load.Fleet!;
        var policy = new RoutingPolicy(spec);
        var agents = new AgentMatcher(spec);
        var agent = agentName is null ? agents.BestFit(task) : agents.Named(agentName) ?? throw new CliException($"unknown agent '{agentName}' in {fleetPath}");
        var path = Environment.GetEnvironmentVariable("PATH");
        var board = ProviderBoard.Empty.With(missingClis: BoardBuilder.MissingClis(spec, name => Executables.Find(name, path))) with { EnforceInstalled = false };
        return policy.Decide(task, agent, board) with { Agent = agent?.Name };
    }

    public static Command Costs(Func<ParseResult, DataDirectory> data)
    {
        var by = new Option<string>("--by") { Description = "Group by agent, provider, day or run", DefaultValueFactory = _ => "provider" };
        by.AcceptOnlyFromAmong("agent", "provider", "day", "run");
        var json = CliApp.JsonOption("Print {by, rows: [{key, runs, input_tokens, output_tokens, cached_input_tokens, cost_usd}], total_usd}");
        var project = new Argument<string?>("project") { Description = "A project's id or name: its runs' costs by task, persona and provider", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("costs", "Show the cost ledger: tokens and USD per provider, agent, day or run (priced with providers[].prices when the CLI gave no cost); with a project, its runs by task, persona and provider.\nExample: ./df costs --by agent; ./df costs auth-hardening") { project, by, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            if (parse.GetValue(project) is { } id)
            {
                return await ProjectCommands.Costs(client, id, parse.GetValue(json), ct);
            }

            var report = await client.GetJson($"/api/costs?by={parse.GetValue(by)}", ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(report, DarkFactoryJson.Indented));
                return 0;
            }

            Table.Write(Console.Out, [Str(report, "by").ToUpperInvariant(), "RUNS", "INPUT", "OUTPUT", "CACHED", "COST (USD)"], report.GetProperty("rows").EnumerateArray().Select(r => (IReadOnlyList<string>)
            [
                Str(r, "key"), Str(r, "runs"), Str(r, "input_tokens"), Str(r, "output_tokens"), Str(r, "cached_input_tokens"), Usd(r.GetProperty("cost_usd")),
            ]));
            Console.WriteLine($"total: ${Usd(report.GetProperty("total_usd"))}");
            return 0;
        });
        return command;
    }

    public static Command Providers(Func<ParseResult, DataDirectory> data)
    {
        var json = CliApp.JsonOption("Print a JSON array of {name, state: ok|limited|open|over_budget, reset_at, spend, ...}");
        var command = new Command("providers", "Show each provider's state (ok, limited, open breaker, over budget), until when, and its spend.\nExample: ./df providers --json") { json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            var providers = await client.GetJson("/api/providers", ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(providers, DarkFactoryJson.Indented));
                return 0;
            }

            Table.Write(Console.Out, ["NAME", "CLI", "STATE", "RESET AT", "IN FLIGHT", "QUEUED", "REQ/MIN", "SPEND (USD)", "TODAY", "NOTE"], providers.EnumerateArray().Select(p => (IReadOnlyList<string>)
            [
                Str(p, "name"), Str(p, "cli"), Str(p, "state"), Str(p, "reset_at", "-"),
                $"{Str(p, "in_flight", "0")}/{Str(p, "max_concurrent", "-")}", Str(p, "queued", "0"), Str(p, "requests_last_minute", "0"),
                Usd(p.GetProperty("spend")), p.TryGetProperty("spend_today", out var t) ? Usd(t) : "0.00", Str(p, "reason"),
            ]));
            var gate = await client.GetJson("/api/providers/queue", ct);
            Console.WriteLine();
            Console.WriteLine($"runs: {Str(gate, "in_flight", "0")} in flight / max_concurrent_runs {Str(gate, "max_concurrent_runs", "none")} ({Str(gate, "exempt", "0")} of safety agents, exempt), {Str(gate, "queued", "0")} queued");
            if (gate.TryGetProperty("queue", out var queue) && queue.GetArrayLength() > 0)
            {
                Table.Write(Console.Out, ["#", "AGENT", "PROVIDER", "LIMIT", "SINCE", "WHY"], queue.EnumerateArray().Select(q => (IReadOnlyList<string>)
                [
                    Str(q, "position"), Str(q, "agent"), Str(q, "provider", "-"), Str(q, "limit"), Str(q, "since"), Str(q, "reason"),
                ]));
            }

            var avoids = await client.GetJson("/api/providers/avoids", ct);
            if (avoids.ValueKind == JsonValueKind.Array && avoids.GetArrayLength() > 0)
            {
                Console.WriteLine();
                Console.WriteLine("avoided after a severe drift (per agent; other agents still use these):");
                Table.Write(Console.Out, ["AGENT", "PROVIDER", "MODEL", "UNTIL", "WHY"], avoids.EnumerateArray().Select(a => (IReadOnlyList<string>)
                [
                    Str(a, "agent"), Str(a, "provider", "(any)"), Str(a, "model", "(any)"), Str(a, "until"), Str(a, "reason"),
                ]));
            }

            if (providers.EnumerateArray().Any(p => p.TryGetProperty("polling", out var polling) && polling.ValueKind == JsonValueKind.True))
            {
                Console.WriteLine("polling: agents wait for a provider; the router probes the limited ones and starts them when one answers");
            }

            return 0;
        });
        return command;
    }

    private static void PrintDecision(JsonElement d, string source)
    {
        if (d.TryGetProperty("chosen", out var chosen) && chosen.ValueKind == JsonValueKind.Object)
        {
            Console.WriteLine($"route   {Str(chosen, "cli")} / {Str(chosen, "provider", "-")} / {Str(chosen, "model", "(default model)")}");
            Console.WriteLine($"why     {Str(chosen, "reason")}");
        }
        else
        {
            Console.WriteLine($"route   none: {Str(d, "waiting", "no candidate")}");
        }

        if (d.TryGetProperty("agent", out var agent) && agent.ValueKind == JsonValueKind.String)
        {
            Console.WriteLine($"agent   {agent.GetString()}");
        }

        Console.WriteLine($"source  {source}");
        Console.WriteLine();
        Table.Write(Console.Out, ["PROVIDER", "CLI", "MODEL", "SCORE", "REJECTED BECAUSE"], d.GetProperty("candidates").EnumerateArray().Select(c => (IReadOnlyList<string>)
        [
            Str(c, "provider"), Str(c, "cli"), Str(c, "model", "-"), Str(c, "score"), Str(c, "rejected_because", "(chosen)"),
        ]));
    }

    internal static string Usd(JsonElement e) =>
        e.ValueKind == JsonValueKind.Number ? e.GetDecimal().ToString("0.00##", CultureInfo.InvariantCulture) : "0.00";

    private static string Str(JsonElement e, string property, string missing = "") =>
        e.TryGetProperty(property, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()
            : missing;
}
