using DarkFactory.Actors.Adapters;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Adapters.Tests;

/// <summary>
/// The parsers against real transcripts: each CLI's stdout recorded against the mock model server
/// (tests/Adapters/Fixtures/record.sh CLI SCRIPT), replayed line by line through the classifier and the
/// run's event collector exactly as the ProcessActor does.
/// </summary>
public sealed class TranscriptTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    internal sealed record Replayed(List<OutputKind> Kinds, List<AgentUsage> Usage, List<ProviderLimited> Limits, bool? Success);

    internal static Replayed Replay(string cli, string fixture, int? exitCode = null)
    {
        var adapter = CliAdapters.For(cli)!;
        var classify = CliAdapters.Classifier(cli);
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", fixture))
            .Select(text => new OutputLine(OutputStream.Stdout, text, classify(OutputStream.Stdout, text)))
            .ToList();
        var events = new RunEvents(adapter, "agent-1", "run-1", "prov", "model-x");
        var typed = new List<IDarkFactoryMessage>();
        events.Collect(lines, Now, typed);
        if (exitCode is { } code)
        {
            events.Exited(code, Now, typed);
        }

        return new Replayed(lines.Select(l => l.Kind).ToList(), typed.OfType<AgentUsage>().ToList(), typed.OfType<ProviderLimited>().ToList(), events.Success);
    }

    [Fact]
    public void Claude_success_reports_the_runs_usage_and_cost_once()
    {
        var r = Replay(CliCatalog.Claude, "claude-text.jsonl");

        var usage = Assert.Single(r.Usage);
        Assert.Equal((12, 5, 0), (usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens));
        Assert.Equal(0.000148m, decimal.Round(usage.CostUsd!.Value, 9));
        Assert.Equal("claude-mock", usage.Model);
        Assert.Equal("prov", usage.Provider);
        Assert.Equal(OutputKind.Result, r.Kinds[^1]);
        Assert.True(r.Success);
        Assert.Empty(r.Limits);
    }

    [Fact]
    public void Claude_tool_call_and_its_result_are_typed()
    {
        var r = Replay(CliCatalog.Claude, "claude-tool.jsonl");

        Assert.Contains(OutputKind.ToolCall, r.Kinds);
        Assert.Contains(OutputKind.ToolResult, r.Kinds);
        Assert.True(r.Kinds.IndexOf(OutputKind.ToolCall) < r.Kinds.IndexOf(OutputKind.ToolResult));
        Assert.Equal((32, 13), (r.Usage.Single().InputTokens, r.Usage.Single().OutputTokens));
    }

    [Fact]
    public void Claude_429_is_one_structured_limit_with_the_reset_time_and_a_failed_result()
    {
        var r = Replay(CliCatalog.Claude, "claude-429.jsonl");

        var limit = Assert.Single(r.Limits);
        Assert.Equal(LimitSource.Structured, limit.Source);
        Assert.Equal("prov", limit.Provider);
        Assert.Contains("429", limit.Reason);
        Assert.NotNull(limit.ResetAt);
        Assert.InRange(limit.ResetAt!.Value - Now, TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(35)); // retry_delay_ms from the mock's retry-after: 30
        Assert.Equal(OutputKind.RateLimit, r.Kinds[^1]);
        Assert.False(r.Success);
        Assert.Empty(r.Usage); // no tokens were spent
    }

    [Fact]
    public void Codex_success_reports_usage_from_turn_completed()
    {
        var r = Replay(CliCatalog.Codex, "codex-text.jsonl");

        var usage = Assert.Single(r.Usage);
        Assert.Equal((12, 5), (usage.InputTokens, usage.OutputTokens));
        Assert.Null(usage.CostUsd);
        Assert.Equal("model-x", usage.Model);
        Assert.True(r.Success);
    }

    [Fact]
    public void Codex_command_execution_is_a_tool_call_then_its_result()
    {
        var r = Replay(CliCatalog.Codex, "codex-tool.jsonl");

        Assert.Equal(OutputKind.ToolCall, r.Kinds[2]);
        Assert.Equal(OutputKind.ToolResult, r.Kinds[3]);
        Assert.Equal(OutputKind.Text, r.Kinds[4]); // agent_message
    }

    [Fact]
    public void Codex_429_retries_are_one_limit_and_the_turn_fails()
    {
        var r = Replay(CliCatalog.Codex, "codex-429.jsonl");

        var limit = Assert.Single(r.Limits);
        Assert.Contains("429", limit.Reason);
        Assert.Null(limit.ResetAt); // codex does not pass the server's retry-after on
        Assert.Equal(OutputKind.RateLimit, r.Kinds[^1]);
        Assert.False(r.Success);
    }

    [Fact]
    public void OpenCode_step_finish_reports_usage_and_cost()
    {
        var r = Replay(CliCatalog.OpenCode, "opencode-text.jsonl");

        var usage = Assert.Single(r.Usage);
        Assert.Equal((12, 5), (usage.InputTokens, usage.OutputTokens));
        Assert.Equal(0m, usage.CostUsd);
        Assert.Equal(OutputKind.Usage, r.Kinds[^1]);
    }

    [Fact]
    public void OpenCode_reports_usage_per_step_and_a_finished_tool_as_its_result()
    {
        var r = Replay(CliCatalog.OpenCode, "opencode-tool.jsonl");

        Assert.Contains(OutputKind.ToolResult, r.Kinds);
        Assert.Equal([(20L, 8L), (12L, 5L)], r.Usage.Select(u => (u.InputTokens, u.OutputTokens)));
    }

    [Fact]
    public void OpenCode_429_is_a_limit_with_the_retry_after_of_the_response()
    {
        var r = Replay(CliCatalog.OpenCode, "opencode-429.jsonl");

        var limit = Assert.Single(r.Limits);
        Assert.Equal(Now.AddSeconds(1), limit.ResetAt);
        Assert.Contains("429", limit.Reason);
        Assert.False(r.Success);
    }

    [Fact]
    public void Gemini_result_reports_usage_and_tools_are_typed()
    {
        var text = Replay(CliCatalog.Gemini, "gemini-text.jsonl");
        Assert.Equal((12, 5), (text.Usage.Single().InputTokens, text.Usage.Single().OutputTokens));
        Assert.True(text.Success);

        var tool = Replay(CliCatalog.Gemini, "gemini-tool.jsonl");
        Assert.Contains(OutputKind.ToolCall, tool.Kinds);
        Assert.Contains(OutputKind.ToolResult, tool.Kinds);
    }

    [Fact]
    public void Gemini_exit_173_is_a_429_when_the_output_said_nothing()
    {
        var r = Replay(CliCatalog.Gemini, "gemini-text.jsonl", exitCode: 173);

        Assert.Contains("429", Assert.Single(r.Limits).Reason);
    }

    [Fact]
    public void Gemini_429_result_is_a_limit_with_the_suggested_retry()
    {
        var r = Replay(CliCatalog.Gemini, "gemini-429.jsonl", exitCode: 173);

        var limit = Assert.Single(r.Limits);
        Assert.Equal(Now.AddSeconds(30), limit.ResetAt);
        Assert.Equal(OutputKind.RateLimit, r.Kinds[^1]);
        Assert.False(r.Success);
    }

    [Theory]
    [InlineData(CliCatalog.Claude)]
    [InlineData(CliCatalog.Codex)]
    [InlineData(CliCatalog.OpenCode)]
    [InlineData(CliCatalog.Gemini)]
    public void A_500_is_an_error_and_a_failed_run_but_no_limit(string cli)
    {
        var r = Replay(cli, $"{cli}-500.jsonl");

        Assert.Contains(OutputKind.Error, r.Kinds);
        Assert.DoesNotContain(OutputKind.RateLimit, r.Kinds);
        Assert.Empty(r.Limits);
        Assert.Empty(r.Usage);
        Assert.False(r.Success);
    }

    [Theory]
    [InlineData(CliCatalog.Claude)]
    [InlineData(CliCatalog.Codex)]
    [InlineData(CliCatalog.OpenCode)]
    [InlineData(CliCatalog.Gemini)]
    public void Plain_text_and_broken_json_are_text(string cli)
    {
        var adapter = CliAdapters.For(cli)!;

        Assert.Equal(OutputKind.Text, adapter.Classify(OutputStream.Stdout, "hello world"));
        Assert.Equal(OutputKind.Text, adapter.Classify(OutputStream.Stdout, "{\"type\":\"result\", broken"));
        Assert.Equal(OutputKind.Text, adapter.Classify(OutputStream.Stdout, string.Empty));
    }
}
