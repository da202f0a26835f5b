using System.CommandLine;
using Spectre.Console;

namespace DarkFactory.Host.Cli;

/// <summary>`df review run|list|show`: the compound review.</summary>
public static partial class CliApp
{
    private static Command Review()
    {
        var review = new Command("review", "The nightly compound review: scan, agent in a worktree, gates, pull request (or dry-run report).\nExample: ./df review run --wait");
        review.Subcommands.Add(ReviewRun());
        review.Subcommands.Add(ReviewList());
        review.Subcommands.Add(ReviewShow());
        return review;
    }

    private static Command ReviewRun()
    {
        var wait = new Option<bool>("--wait")
        {
            Description = "Follow the review until it ends, a line per step as it happens (exit 0 completed, 1 failed); with --json the lines go to stderr",
        };
        var timeout = new Option<int>("--timeout") { Description = "With --wait: give up waiting after this many seconds", DefaultValueFactory = _ => 3600 };
        var json = JsonOption("Print the review as JSON");
        var command = new Command("run", "Start a compound review now.\nExample: ./df review run --wait --json") { wait, timeout, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = DaemonClient.Connect(Data(parse));
            var (ok, body) = await client.PostJson("/api/reviews", null, ct);
            if (!ok)
            {
                throw new CliException(Str(body, "detail", "the review was not started"));
            }

            var id = Str(body, "id");
            if (parse.GetValue(wait))
            {
                // progress: stdout for people; stderr when stdout carries the JSON answer
                var progress = new ReviewProgress();
                var output = parse.GetValue(json) ? Console.Error : Console.Out;
                var rich = Terminal.Rich && !parse.GetValue(json);
                void Show(JsonElement review)
                {
                    foreach (var line in progress.Update(review))
                    {
                        if (rich)
                        {
                            AnsiConsole.MarkupLine(Markup.Escape(progress.Format(line with { Status = string.Empty, Detail = string.Empty })) + " " + Table.Colour(line.Status) + " " + Markup.Escape(line.Detail));
                        }
                        else
                        {
                            output.WriteLine(progress.Format(line));
                        }
                    }
                }

                Show(body);
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(parse.GetValue(timeout));
                while (Str(body, "status") == "running")
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new CliException($"review {id} still running after {parse.GetValue(timeout)} s (see: ./df review show {id})");
                    }

                    await Task.Delay(500, ct);
                    try
                    {
                        body = await client.GetJson($"/api/reviews/{Uri.EscapeDataString(id)}", ct);
                        Show(body);
                    }
                    catch (CliException) when (DateTime.UtcNow < deadline)
                    {
                        // the daemon was busy (503): ask again
                    }
                }
            }

            if (parse.GetValue(json))
            {
                Print(body);
            }
            else
            {
                if (parse.GetValue(wait))
                {
                    Console.WriteLine(); // the summary below the progress lines
                }

                WriteReview(body);
            }

            return Str(body, "status") == "failed" ? 1 : 0;
        });
        return command;
    }

    private static Command ReviewList()
    {
        var json = JsonOption("Print a JSON array");
        var limit = new Option<int>("--limit") { Description = "Reviews to show (newest first)", DefaultValueFactory = _ => 20 };
        var command = new Command("list", "List compound reviews, newest first.\nExample: ./df review list") { json, limit };
        command.SetQuery(json, Data, parse => $"/api/reviews?limit={parse.GetValue(limit)}", (reviews, _) =>
        {
            Table.Write(Console.Out, ["ID", "STATUS", "STARTED", "STEP", "FINDING", "PR / REPORT"], reviews.EnumerateArray().Select(r => (IReadOnlyList<string>)
            [
                Str(r, "id"), Str(r, "status"), Str(r, "started_at"), CurrentStep(r),
                r.TryGetProperty("finding", out var f) ? Clip(Str(f, "title"), 50) : "-",
                Str(r, "pr_url", Str(r, "report_path", "-")),
            ]));
            return 0;
        });
        return command;
    }

    private static Command ReviewShow()
    {
        var id = new Argument<string>("id") { Description = "The review's id (see ./df review list)" };
        var json = JsonOption();
        var command = new Command("show", "Show one compound review: steps with timings, gate results, PR link.\nExample: ./df review show 20261122-020000-ab12") { id, json };
        command.SetQuery(json, Data, parse => $"/api/reviews/{Uri.EscapeDataString(parse.GetValue(id)!)}", (review, _) =>
        {
            WriteReview(review);
            return 0;
        });
        return command;
    }

    private static void WriteReview(JsonElement r)
    {
        Console.WriteLine($"review   {Str(r, "id")} ({Str(r, "trigger")}): {Str(r, "status")}");
        if (r.TryGetProperty("finding", out var f))
        {
            Console.WriteLine($"finding  {Str(f, "title")} ({Str(f, "where")})");
        }

        if (r.TryGetProperty("agent", out _))
        {
            Console.WriteLine($"agent    {Str(r, "agent")}{(Str(r, "agent_chosen_by") is { Length: > 0 } why ? $" ({why})" : string.Empty)}");
        }

        if (r.TryGetProperty("branch", out _))
        {
            Console.WriteLine($"branch   {Str(r, "branch")} in {Str(r, "worktree")}");
        }

        Table.Write(Console.Out, ["STEP", "STATUS", "STARTED", "ENDED", "DETAIL"], r.GetProperty("steps").EnumerateArray().Select(s => (IReadOnlyList<string>)
        [
            Str(s, "name"), Str(s, "status"), Str(s, "started_at", "-"), Str(s, "ended_at", "-"), Str(s, "detail", string.Empty),
        ]));
        foreach (var g in r.GetProperty("gates").EnumerateArray())
        {
            Console.WriteLine($"gate     {Str(g, "name")}: {(g.GetProperty("passed").GetBoolean() ? "passed" : "FAILED")} (exit {Str(g, "exit_code", "-")}, {Str(g, "duration_ms")} ms)");
        }

        foreach (var (key, label) in new[] { ("pr_url", "pr"), ("report_path", "report"), ("note", "note"), ("error", "error") })
        {
            if (r.TryGetProperty(key, out _))
            {
                Console.WriteLine($"{label,-8} {Str(r, key)}");
            }
        }
    }

    private static string CurrentStep(JsonElement r) =>
        r.GetProperty("steps").EnumerateArray().Where(s => Str(s, "status") is "running" or "failed").Select(s => Str(s, "name")).FirstOrDefault() ?? "-";

    private static string Clip(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
