using System.Runtime.CompilerServices;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>Nightwatch's line path: a plain command's batch judged from its bytes, one line's flags and mentions acted on.</summary>
public sealed partial class NightwatchActor
{
    /// <summary>
    /// A plain command's lines, judged from its bytes (issue 18). An ASCII batch is widened to chars once and the
    /// prefilter's literals and '@' are searched over the whole of it: only a line holding one is classified or
    /// looked at for a mention; every line is still counted (<see cref="AgentWatch.Line(string, OutputKind, ReadOnlySpan{char}, bool, DateTimeOffset)"/>).
    /// Any other batch is decoded line by line into the same scratch. A string is made only of a line that is kept
    /// (a rate limit's, a mention's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // loops over every line of a flood
    private void Judge(AgentOutput batch, AgentWatch w, LineBatch lines)
    {
        var patterns = _fleet.Patterns;
        var mentions = _mentions.Any;
        if (!lines.Ascii)
        {
            for (var i = 0; i < lines.Count; i++)
            {
                var text = lines.Chars(i, ref _scratch);
                Line(batch, w, lines, i, text, patterns.Classify(text), mentions && text.Contains('@'));
            }

            return;
        }

        if (_scratch.Length < lines.ByteCount)
        {
            _scratch = new char[Math.Max(lines.ByteCount, _scratch.Length * 2)];
        }

        var all = _scratch.AsSpan(0, Encoding.Latin1.GetChars(lines.Block, _scratch));
        var every = patterns.EveryLine;
        var candidate = every ? 0 : patterns.Candidate(all);
        var at = mentions ? all.IndexOf('@') : -1;
        for (var i = 0; i < lines.Count; i++)
        {
            var start = lines.Start(i);
            var text = all.Slice(start, lines.Length(i));
            var next = i + 1 < lines.Count ? lines.Start(i + 1) : all.Length; // this line and what ended it lie before
            var flags = LineFlags.None;
            if (every || (candidate >= 0 && candidate < next))
            {
                flags = patterns.Classify(text);
                if (!every)
                {
                    candidate = After(patterns.Candidate(all[next..]), next);
                }
            }

            var mentioned = at >= 0 && at < next;
            if (mentioned)
            {
                at = After(all[next..].IndexOf('@'), next);
            }

            Line(batch, w, lines, i, text, flags, mentioned && text.Contains('@'));
        }

        static int After(int found, int from) => found < 0 ? -1 : from + found;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Line(AgentOutput batch, AgentWatch w, LineBatch lines, int i, ReadOnlySpan<char> text, LineFlags flags, bool mentioned)
    {
        if (flags == LineFlags.RateLimit)
        {
            RateLimited(w, batch.RunId, lines.Text(i));
        }

        w.Line(batch.RunId, OutputKind.Text, text, flags == LineFlags.Error, batch.At);
        if (mentioned)
        {
            Mentioned(batch, lines.Text(i));
        }
    }

    private void Mentioned(AgentOutput batch, string line)
    {
        foreach (var start in _mentions.In(batch.Agent, line, Now))
        {
            Log.Info("Agent [{0}] mentioned @{1}: starting it", batch.Agent, start.Agent);
            _factory.Tell(start, Self);
        }
    }
}
