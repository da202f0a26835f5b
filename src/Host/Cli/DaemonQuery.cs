using System.CommandLine;

namespace DarkFactory.Host.Cli;

/// <summary>
/// What most of <c>df</c>'s read commands do: GET one endpoint of the running daemon, then print its answer as it
/// came with <c>--json</c>, else render it for a person.
/// </summary>
internal static class DaemonQuery
{
    /// <summary>Sets the command's action to that query.</summary>
    /// <param name="json">The command's <c>--json</c> option.</param>
    /// <param name="data">The data directory whose daemon is asked.</param>
    /// <param name="path">The endpoint, from the command line.</param>
    /// <param name="render">Writes the answer for a person; returns the exit code.</param>
    public static void SetQuery(
        this Command command,
        Option<bool> json,
        Func<ParseResult, DataDirectory> data,
        Func<ParseResult, string> path,
        Func<JsonElement, ParseResult, int> render)
    {
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(data(parse));
            var answer = await client.GetJson(path(parse), ct);
            if (parse.GetValue(json))
            {
                CliApp.Print(answer);
                return 0;
            }

            return render(answer, parse);
        });
    }
}
