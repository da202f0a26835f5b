using Spectre.Console;

namespace DarkFactory.Host.Cli;

/// <summary>Whether stdout is a terminal that gets colours and drawn tables (not when piped, not with NO_COLOR or TERM=dumb).</summary>
public static class Terminal
{
    public static bool Rich { get; } = !Console.IsOutputRedirected
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
        && Environment.GetEnvironmentVariable("TERM") is not "dumb";
}

/// <summary>
/// Tables of `df`: on a terminal a Spectre.Console table with states in colour; piped, a plain aligned
/// text table (the same columns, so scripts can read it; `--json` is the stable format).
/// </summary>
public static class Table
{
    public static void Write(TextWriter output, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        if (Terminal.Rich && ReferenceEquals(output, Console.Out))
        {
            var table = new Spectre.Console.Table().Border(TableBorder.Simple).BorderColor(Color.Grey);
            foreach (var h in headers)
            {
                table.AddColumn(new TableColumn($"[bold]{Markup.Escape(h)}[/]"));
            }

            foreach (var row in all)
            {
                table.AddRow(row.Select(c => (Spectre.Console.Rendering.IRenderable)new Markup(Colour(c))).ToArray());
            }

            AnsiConsole.Write(table);
            return;
        }

        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        output.WriteLine(Line(headers, widths));
        foreach (var row in all)
        {
            output.WriteLine(Line(row, widths));
        }
    }

    /// <summary>A cell as Spectre markup: known state and outcome words in their colour, everything else escaped.</summary>
    public static string Colour(string cell)
    {
        var colour = cell switch
        {
            "running" or "completed" or "started" or "passed" or "ok" or "closed" or "active" => "green",
            "starting" or "stopping" or "backoff" or "restarting" or "queued" or "limited" or "half_open" or "minor" or "moderate"
                or "initializing" or "paused" or "waiting_for_credits" or "in_progress" => "yellow",
            "crashed" or "quarantined" or "unavailable" or "failed" or "killed" or "escalated" or "open" or "severe" or "critical" or "blocked" or "timeout" => "red",
            "stopped" or "exited" or "skipped" or "pending" or "-" => "grey",
            _ => null,
        };
        var text = Markup.Escape(cell);
        return colour is null ? text : $"[{colour}]{text}[/]";
    }

    private static string Line(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
}
