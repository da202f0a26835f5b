using System.CommandLine;
using DarkFactory.Host.Api;
using static DarkFactory.Host.Cli.CliApp;

namespace DarkFactory.Host.Cli;

/// <summary>
/// <c>df provider add|list|remove</c>: providers added while the daemon runs, kept by its router beside fleet.yaml's
/// (over /api/providers). The key stays in the daemon's environment: <c>--api-key-env</c> names the variable.
/// </summary>
public static class ProviderCommands
{
    public static Command Provider(Func<ParseResult, DataDirectory> data)
    {
        var command = new Command("provider", "Add, list or remove providers at runtime (kept by the router, beside fleet.yaml's).\nExample: ./df provider add spare --cli codex --model gpt-5-codex --api-key-env SPARE_OPENAI_KEY --credits 100");
        command.Subcommands.Add(Add(data));
        command.Subcommands.Add(List(data));
        command.Subcommands.Add(Remove(data));
        return command;
    }

    private static Command Add(Func<ParseResult, DataDirectory> data)
    {
        var name = new Argument<string>("name") { Description = "The provider's name (lowercase letters, digits, '-'; not one of fleet.yaml's)" };
        var cli = new Option<string>("--cli") { Description = "The CLI that talks to it: claude, codex, opencode or gemini", Required = true };
        var model = new Option<string>("--model") { Description = "The model its runs use", Required = true };
        var keyEnv = new Option<string>("--api-key-env") { Description = "The daemon's environment variable that holds the key (the key itself is never given)", Required = true };
        var credits = new Option<decimal?>("--credits") { Description = "USD it may spend in total; then it is out of credits" };
        var priority = new Option<int?>("--priority") { Description = "Lower is preferred (fleet.yaml's default: 100)" };
        var json = JsonOption("Print {ok, outcome, message, provider}");
        var command = new Command(
            "add",
            "Add a provider (or change one added so, e.g. raise its credits); agents waiting for a route resume when it can take them.\n"
            + "Example: ./df provider add spare --cli codex --model gpt-5-codex --api-key-env SPARE_OPENAI_KEY --credits 100 --priority 1")
        {
            name, cli, model, keyEnv, credits, priority, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            var request = new AddProviderRequest(parse.GetValue(name), parse.GetValue(cli), parse.GetValue(model), parse.GetValue(keyEnv), parse.GetValue(credits), parse.GetValue(priority));
            return Done(await client.PostJson("/api/providers", request, ct), parse.GetValue(json));
        });
        return command;
    }

    private static Command List(Func<ParseResult, DataDirectory> data)
    {
        var json = JsonOption("Print [{name, cli, model, api_key_env, credits, priority, source: fleet|runtime, added_by, added_at, shadowed}]");
        var command = new Command("list", "List the providers routed to: fleet.yaml's and those added at runtime.\nExample: ./df provider list --json") { json };
        command.SetQuery(json, data, _ => "/api/providers/config", (providers, _) =>
        {
            Table.Write(Console.Out, ["NAME", "CLI", "MODEL", "KEY FROM", "CREDITS", "PRIORITY", "SOURCE"], providers.EnumerateArray().Select(p => (IReadOnlyList<string>)
            [
                Str(p, "name"), Str(p, "cli"), Str(p, "model", "-"), Str(p, "api_key_env", "-"),
                p.TryGetProperty("credits", out var c) && c.ValueKind == JsonValueKind.Number ? "$" + c.GetDecimal().ToString("0.00", CultureInfo.InvariantCulture) : "-",
                Str(p, "priority"),
                Str(p, "source") + (p.TryGetProperty("shadowed", out var s) && s.ValueKind == JsonValueKind.True ? " (shadowed by fleet.yaml)" : string.Empty),
            ]));
            return 0;
        });
        return command;
    }

    private static Command Remove(Func<ParseResult, DataDirectory> data)
    {
        var name = new Argument<string>("name") { Description = "A provider added at runtime" };
        var json = JsonOption("Print {ok, outcome, message}");
        var command = new Command("remove", "Remove a provider added at runtime (fleet.yaml's are removed from the file).\nExample: ./df provider remove spare") { name, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            return Done(await client.DeleteJson("/api/providers/" + Uri.EscapeDataString(parse.GetValue(name)!), ct), parse.GetValue(json));
        });
        return command;
    }

    private static int Done((bool Ok, JsonElement Body) answer, bool json)
    {
        if (!answer.Ok)
        {
            throw new CliException(Str(answer.Body, "detail"));
        }

        if (json)
        {
            Print(answer.Body);
        }
        else
        {
            Console.WriteLine(Str(answer.Body, "message"));
        }

        return 0;
    }
}
