using System.CommandLine;
using DarkFactory.Actors.Isolation;
using static DarkFactory.Host.Cli.CliApp;

namespace DarkFactory.Host.Cli;

/// <summary>
/// <c>df branches [--agent A] [--json]</c>: the branches isolated runs left to review or merge (GET /api/branches from
/// the running daemon, else the records in the data directory). Merge one with <c>git merge df/&lt;agent&gt;/...</c>;
/// delete it with <c>git branch -D</c> and it leaves the list.
/// </summary>
public static class BranchCommands
{
    public static Command Branches(Func<ParseResult, DataDirectory> data)
    {
        var agent = new Option<string?>("--agent") { Description = "Only this agent's branches" };
        var json = JsonOption("Print [{agent, branch, run_id, repo, base, commit, commits, files_changed, at, gates, gates_passed}]");
        var command = new Command(
            "branches",
            "List the branches the agents' isolated runs left (isolation: worktree): newest first, with commits, files changed and gate results.\n"
            + "Example: ./df branches --agent implementer --json")
        {
            agent, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var only = parse.GetValue(agent);
            JsonElement branches;
            if (data(parse).ReadEndpoint() is not null)
            {
                using var client = DaemonClient.Connect(data(parse));
                branches = await client.GetJson("/api/branches" + (only is null ? string.Empty : "?agent=" + Uri.EscapeDataString(only)), ct);
            }
            else
            {
                if (only is not null && (only.Contains('/') || only.StartsWith('.')))
                {
                    throw new CliException($"--agent: '{only}' is not an agent name");
                }

                var list = await AgentWorktrees.ListAsync(Path.Combine(data(parse).Path, RunIsolation.BranchesDirectory), only, ct);
                branches = JsonSerializer.SerializeToElement(list, DarkFactoryJson.Options);
            }

            if (parse.GetValue(json))
            {
                Print(branches);
                return 0;
            }

            Table.Write(Console.Out, ["AGENT", "BRANCH", "RUN", "COMMITS", "FILES", "GATES", "AT"], branches.EnumerateArray().Select(b => (IReadOnlyList<string>)
            [
                Str(b, "agent"),
                Str(b, "branch"),
                Str(b, "run_id"),
                b.GetProperty("commits").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture),
                b.GetProperty("files_changed").GetArrayLength().ToString(System.Globalization.CultureInfo.InvariantCulture),
                b.TryGetProperty("gates_passed", out var g) && g.ValueKind != JsonValueKind.Null ? (g.GetBoolean() ? "passed" : "failed") : "-",
                Str(b, "at"),
            ]));
            return 0;
        });
        return command;
    }
}
