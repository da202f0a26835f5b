namespace DarkFactory.Actors.Adapters;

/// <summary>
/// Turns one run's classified output into typed events: <see cref="AgentUsage"/> for every usage report,
/// <see cref="ProviderLimited"/> (source Structured) for a rate limit — once per run and reset time, since
/// CLIs report each retry. Owned by the run's ProcessActor and used only inside its mailbox; plain text
/// lines cost one comparison.
/// </summary>
public sealed class RunEvents(CliAdapter adapter, string agent, string runId, string? provider, string? model, string? taskId = null, string? projectId = null)
{
    private bool _limited;
    private DateTimeOffset? _lastReset;

    /// <summary>The run reported its provider's rate limit (in its output or by its exit code).</summary>
    public bool ReportedLimit => _limited;

    /// <summary>The run's final result as the CLI reported it (null until a result line).</summary>
    public bool? Success { get; private set; }

    public void Collect(IReadOnlyList<OutputLine> lines, DateTimeOffset now, List<IDarkFactoryMessage> into)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Kind is OutputKind.Text or OutputKind.ToolCall or OutputKind.ToolResult or OutputKind.ToolError)
            {
                continue;
            }

            var details = adapter.Parse(line.Stream, line.Text, now);
            if (details.Success is { } ok)
            {
                Success = ok;
            }

            if (details.Usage is { } u && (u.InputTokens > 0 || u.OutputTokens > 0 || u.CachedInputTokens > 0 || u.CostUsd > 0))
            {
                into.Add(new AgentUsage(agent, runId, provider, u.Model ?? model, u.InputTokens, u.OutputTokens, now, u.CachedInputTokens, u.CostUsd, taskId, projectId));
            }

            if (details.Limit is { } limit)
            {
                Limited(limit, now, line.Text, into);
            }
        }
    }

    /// <summary>At the end of the run: a limit only the exit code reveals (gemini 173), unless one was reported already.</summary>
    public void Exited(int exitCode, DateTimeOffset now, List<IDarkFactoryMessage> into)
    {
        if (!_limited && adapter.LimitFromExit(exitCode) is { } limit)
        {
            Limited(limit, now, null, into);
        }
    }

    private void Limited(RateLimitInfo limit, DateTimeOffset now, string? line, List<IDarkFactoryMessage> into)
    {
        // each retry reports again, often with a reset time computed from its own moment: only a
        // materially different reset time is news
        if (_limited && (limit.ResetAt is null || (_lastReset is { } last && (limit.ResetAt.Value - last).Duration() < TimeSpan.FromSeconds(5))))
        {
            return;
        }

        _limited = true;
        _lastReset = limit.ResetAt ?? _lastReset;
        into.Add(new ProviderLimited(provider, agent, runId, now, limit.ResetAt, limit.Reason, LimitSource.Structured, Truncate(line)));
    }

    private static string? Truncate(string? line) => line is { Length: > 2000 } ? line[..2000] : line;
}
