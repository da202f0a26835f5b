using System.CommandLine;

namespace DarkFactory.Host.Cli;

/// <summary>`df drift` and `df escalations`: what Nightwatch sees and what it handed to a human.</summary>
public static partial class CliApp
{
    private static Command Drift()
    {
        var agent = new Argument<string?>("agent") { Description = "Only this agent", Arity = ArgumentArity.ZeroOrOne };
        var json = JsonOption("Print JSON: [{agent, score, level, components, updated_at, last_correction, pending_hint, paused, provider}]");
        var command = new Command("drift", "Show each agent's drift score, level, signals and last correction.\nExample: ./df drift --json") { agent, json };
        command.SetQuery(json, Data, parse => parse.GetValue(agent) is { } name ? $"/api/drift/{Uri.EscapeDataString(name)}" : "/api/drift", (body, _) =>
        {
            var agents = body.ValueKind == JsonValueKind.Array ? body.EnumerateArray().ToList() : [body];
            Table.Write(Console.Out, ["AGENT", "LEVEL", "SCORE", "SIGNALS", "LAST CORRECTION"], agents.Select(a => (IReadOnlyList<string>)
            [
                Str(a, "agent"),
                Str(a, "level") + (a.TryGetProperty("paused", out var p) && p.ValueKind == JsonValueKind.True ? " (paused)" : string.Empty),
                a.GetProperty("score").GetDouble().ToString("0.00", CultureInfo.InvariantCulture),
                Signals(a.GetProperty("components")),
                a.TryGetProperty("last_correction", out var c) && c.ValueKind == JsonValueKind.Object
                    ? $"{Str(c, "action")} at {Str(c, "at")} ({Str(c, "level")} {c.GetProperty("score").GetDouble().ToString("0.00", CultureInfo.InvariantCulture)})"
                    : "-",
            ]));
            return 0;
        });
        return command;
    }

    private static Command Escalations()
    {
        var json = JsonOption("Print JSON, newest first: [{escalation: {id, agent, at, level, score, reason}, delivery}]");
        var limit = new Option<int>("--limit", "-n") { Description = "How many", DefaultValueFactory = _ => 50 };
        var command = new Command("escalations", "List the drifts Nightwatch escalated to a human, newest first.\nExample: ./df escalations") { json, limit };
        command.SetQuery(json, Data, parse => $"/api/escalations?limit={parse.GetValue(limit)}", (body, _) =>
        {
            Table.Write(Console.Out, ["AT", "AGENT", "ID", "REASON", "WEBHOOK"], body.EnumerateArray().Select(e =>
            {
                var x = e.GetProperty("escalation");
                var d = e.TryGetProperty("delivery", out var v) && v.ValueKind == JsonValueKind.Object ? $"{(v.GetProperty("ok").GetBoolean() ? "sent" : "failed")}: {Str(v, "detail")}" : "-";
                return (IReadOnlyList<string>)[Str(x, "at"), Str(x, "agent"), Str(x, "id"), Str(x, "reason"), d];
            }));
            return 0;
        });
        return command;
    }

    private static string Signals(JsonElement components)
    {
        var parts = components.EnumerateObject()
            .Where(p => p.Value.ValueKind == JsonValueKind.Number && p.Value.GetDouble() > 0)
            .Select(p => $"{p.Name} {p.Value.GetDouble().ToString("0.00", CultureInfo.InvariantCulture)}")
            .ToList();
        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }
}
