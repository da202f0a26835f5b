using System.CommandLine;
using static DarkFactory.Host.Cli.CliApp;

namespace DarkFactory.Host.Cli;

/// <summary><c>df nodes</c>: the cluster's members as the daemon's node sees them (any node answers for the whole cluster).</summary>
public static class ClusterCommands
{
    public static Command Nodes(Func<ParseResult, DataDirectory> data)
    {
        var json = JsonOption("Print JSON: {\"members\": [{\"node\", \"address\", \"roles\", \"status\", \"agents\"}], \"singletons\": {\"placement\": NODE}, \"epoch\", \"unplaced\": [{\"agent\", \"reason\", \"moving_from\", \"moving_to\"}]}");
        var command = new Command("nodes", "The cluster's members: node, address, roles, status (up, joining, leaving, unreachable, ...) and the agents on each; where the singletons run.\nExample: ./df nodes --json") { json };
        command.SetQuery(json, data, _ => "/api/cluster", (cluster, _) =>
        {
            Table.Write(Console.Out, ["NODE", "ADDRESS", "ROLES", "STATUS", "AGENTS"], cluster.GetProperty("members").EnumerateArray().Select(m => (IReadOnlyList<string>)
            [
                Str(m, "node"), Str(m, "address"), Joined(m, "roles"), Str(m, "status"), Joined(m, "agents") is { Length: > 0 } agents ? agents : "-",
            ]));
            var singletons = cluster.GetProperty("singletons").EnumerateObject().Select(p => $"{p.Name} on {p.Value.GetString()}").ToList();
            Console.WriteLine(singletons.Count == 0 ? "singletons: none yet" : "singletons: " + string.Join(", ", singletons));
            var epoch = cluster.TryGetProperty("epoch", out var e) ? e.GetInt64() : 0;
            Console.WriteLine(epoch == 0 ? "placement: none yet" : $"placement: epoch {epoch}");
            if (cluster.TryGetProperty("unplaced", out var unplaced))
            {
                foreach (var agent in unplaced.EnumerateArray())
                {
                    Console.WriteLine(agent.TryGetProperty("moving_from", out var from) && from.ValueKind == JsonValueKind.String
                        ? $"moving: {Str(agent, "agent")} ({Str(agent, "reason")})"
                        : $"unplaced: {Str(agent, "agent")} ({Str(agent, "reason")})");
                }
            }

            return 0;
        });
        return command;
    }

    private static string Joined(JsonElement e, string property) =>
        string.Join(",", e.GetProperty(property).EnumerateArray().Select(x => x.GetString()));
}
