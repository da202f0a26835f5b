namespace DarkFactory.Actors.Review;

/// <summary>
/// What the review hears of its agent's runs on the event stream: the tail of each run's output (the summary in
/// the PR) and the runs that ended. Ends are kept even when they overtake the start's answer (the run id is
/// recorded after the fleet answered). Bounded: the newest 8 outputs and 32 ends. Not thread-safe: the actor's.
/// </summary>
public sealed class ReviewRunWatch
{
    private const int MaxOutputs = 8;
    private const int MaxEnds = 32;
    private const int SummaryChars = 2000;

    private readonly Dictionary<string, AgentLifecycle> _ended = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BoundedText> _outputs = new(StringComparer.Ordinal);

    /// <summary>An end of a run counts: exited, crashed, stopped, killed, or could not start.</summary>
    public static bool IsEnd(AgentLifecycle e) =>
        e.RunId is not null && (e.Kind.EndsRun() || e.Kind == LifecycleKind.Unavailable);

    public void Output(AgentOutput output)
    {
        if (!_outputs.TryGetValue(output.RunId, out var text))
        {
            if (_outputs.Count >= MaxOutputs)
            {
                _outputs.Remove(_outputs.Keys.First());
            }

            text = _outputs[output.RunId] = new BoundedText(SummaryChars, tail: true);
        }

        foreach (var line in output.Lines)
        {
            text.AppendLine(line.Text);
        }
    }

    /// <returns>False when <paramref name="e"/> is not a run's end.</returns>
    public bool Ended(AgentLifecycle e)
    {
        if (!IsEnd(e))
        {
            return false;
        }

        if (_ended.Count >= MaxEnds)
        {
            _ended.Remove(_ended.Keys.First());
        }

        _ended[e.RunId!] = e;
        return true;
    }

    /// <summary>The run's end, if it was heard, and the tail of its output (empty when it printed nothing).</summary>
    public bool TryEnd(string runId, out AgentLifecycle end, out string summary)
    {
        summary = _outputs.TryGetValue(runId, out var text) ? text.ToString().Trim() : string.Empty;
        return _ended.TryGetValue(runId, out end!);
    }

    /// <summary>
    /// The run that takes over the review's awaited run: <paramref name="e"/> is the agent's start of a run the review
    /// does not know, right after the awaited run ended with <see cref="AgentLifecycle.Restarts"/> (the layer starts
    /// the same task again); null otherwise.
    /// </summary>
    public static string? Continues(ReviewRecord r, AgentLifecycle e, ReviewRunWatch runs) =>
        e is { Kind: LifecycleKind.Started, RunId: { } next } && r.Finished is null && r.Runs is { Count: > 0 } known &&
        runs.TryEnd(known[^1].RunId, out var end, out _) && end.Restarts && known.All(k => k.RunId != next)
            ? next
            : null;

    public void Clear()
    {
        _ended.Clear();
        _outputs.Clear();
    }
}
