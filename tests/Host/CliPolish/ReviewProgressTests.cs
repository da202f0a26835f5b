using System.Text.Json;
using DarkFactory.Host.Cli;
using Xunit;

namespace DarkFactory.Host.Tests.CliPolish;

/// <summary>`df review run --wait`: successive views of a review become one line per step change.</summary>
public sealed class ReviewProgressTests
{
    private static JsonElement View(string status, string steps, string extra = "") => JsonSerializer.Deserialize<JsonElement>(
        $$"""{"id":"r1","trigger":"manual","status":"{{status}}","started_at":"2026-11-22T02:00:00+00:00"{{extra}},"steps":[{{steps}}]}""");

    private static string Step(string name, string status, string? started = null, string? ended = null, string? detail = null) =>
        $$"""{"name":"{{name}}","status":"{{status}}"{{(started is null ? "" : $",\"started_at\":\"2026-11-22T02:00:{started}+00:00\"")}}{{(ended is null ? "" : $",\"ended_at\":\"2026-11-22T02:00:{ended}+00:00\"")}}{{(detail is null ? "" : $",\"detail\":\"{detail}\"")}}}""";

    [Fact]
    public void Each_step_change_is_a_line_once_and_steps_passed_between_two_looks_show_both_ends()
    {
        var progress = new ReviewProgress(TimeZoneInfo.Utc);
        string[] Lines(JsonElement view) => progress.Update(view).Select(progress.Format).ToArray();

        Assert.Equal(
            ["02:00:00  review   started   r1 (manual)", "02:00:00  scan     running"],
            Lines(View("running", Step("scan", "running", "00") + "," + Step("assign", "pending"))));
        Assert.Empty(Lines(View("running", Step("scan", "running", "00") + "," + Step("assign", "pending"))));

        var finding = ""","finding":{"kind":"revert","title":"Revert abc","where":"abc"},"agent":"fixer","agent_chosen_by":"compound_review.agent" """;
        Assert.Equal(
            [
                "02:00:05  scan     completed 2 finding(s)",
                "02:00:05  finding  revert    Revert abc (abc)",
                "02:00:05  assign   running",
                "02:00:06  assign   completed df/compound/x",
                "02:00:06  agent    fixer     compound_review.agent",
                "02:00:06  agent    running",
            ],
            Lines(View("running", Step("scan", "completed", "00", "05", "2 finding(s)") + "," + Step("assign", "completed", "05", "06", "df/compound/x") + "," + Step("agent", "running", "06"), finding)));

        Assert.Equal(
            ["02:00:09  agent    failed    run 1, exit 3", "02:00:09  review   failed    the agent's run failed"],
            Lines(View("failed", Step("scan", "completed", "00", "05") + "," + Step("assign", "completed", "05", "06") + "," + Step("agent", "failed", "06", "09", "run 1, exit 3") + "," + Step("gates", "skipped"),
                finding + ""","ended_at":"2026-11-22T02:00:09+00:00","error":"the agent's run failed" """)));
    }
}
