using System.CommandLine;
using static DarkFactory.Host.Cli.CliApp;

namespace DarkFactory.Host.Cli;

/// <summary>
/// <c>df personas</c>: the personas projects can use. From the running daemon (what it loaded, GET /api/personas) when
/// there is one, else from the fleet file's <c>projects.personas_dir</c>.
/// </summary>
public static class PersonaCommands
{
    public static Command Personas(Func<ParseResult, DataDirectory> data)
    {
        var fleet = new Option<string>("--fleet") { Description = "The fleet file read when no daemon is running", DefaultValueFactory = _ => "fleet.yaml" };
        var json = JsonOption("Print [{name, version, description, agent, capabilities, checks, file}]");
        var command = new Command(
            "personas",
            "List the personas (projects.personas_dir): who plays each (an agent, else capabilities the router matches), its checks and file.\n"
            + "Example: ./df personas --json")
        {
            fleet, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            JsonElement personas;
            if (data(parse).ReadEndpoint() is not null)
            {
                using var client = DaemonClient.Connect(data(parse));
                personas = await client.GetJson("/api/personas", ct);
            }
            else
            {
                personas = JsonSerializer.SerializeToElement(Offline(parse.GetValue(fleet)!), DarkFactoryJson.Options);
            }

            if (parse.GetValue(json))
            {
                Print(personas);
                return 0;
            }

            Table.Write(Console.Out, ["NAME", "VERSION", "PLAYED BY", "CHECKS", "DESCRIPTION"], personas.EnumerateArray().Select(p => (IReadOnlyList<string>)
            [
                Str(p, "name"),
                Str(p, "version"),
                p.TryGetProperty("agent", out var a) && a.ValueKind == JsonValueKind.String
                    ? $"agent {a.GetString()}"
                    : "router: " + string.Join(", ", p.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString())),
                Joined(p, "checks"),
                Str(p, "description"),
            ]));
            return 0;
        });
        return command;
    }

    /// <summary>The personas of a fleet file (its errors, personas' included, refuse the command).</summary>
    public static IReadOnlyList<PersonaSummary> Offline(string fleetPath)
    {
        var load = FleetLoader.LoadFile(fleetPath);
        if (!load.Ok)
        {
            var first = load.Diagnostics.First(d => d.IsError);
            throw new CliException($"{fleetPath} has errors (first: {first}); check it with: ./df validate {fleetPath}");
        }

        return PersonaSummary.List(load.Fleet!.Projects.Personas);
    }

    private static string Joined(JsonElement e, string property) =>
        e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0
            ? string.Join(", ", v.EnumerateArray().Select(x => x.GetString()))
            : "-";
}
