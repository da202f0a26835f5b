namespace DarkFactory.Actors.Adapters;

/// <summary>
/// What a run said, kept bounded while it runs (its first lines and the tail of the rest), read when it ends:
/// its final message and the CLI's session id. For an AI CLI the adapter reads its reply events; a plain
/// command's output is its stdout. Not thread-safe: owned by one actor.
/// </summary>
public sealed class RunTranscript(int headLines = 32, int tailChars = 256 * 1024)
{
    /// <summary>The most a final message keeps (its end).</summary>
    public const int MaxMessageChars = 64 * 1024;

    private readonly List<OutputLine> _head = [];
    private readonly LinkedList<OutputLine> _tail = new();
    private int _tailChars;
    private bool _dropped;

    public void Add(IReadOnlyList<OutputLine> lines)
    {
        foreach (var line in lines)
        {
            if (_head.Count < headLines)
            {
                _head.Add(line);
                continue;
            }

            _tail.AddLast(line);
            _tailChars += line.Text.Length + 1;
            while (_tailChars > tailChars && _tail.First is { } first)
            {
                _tailChars -= first.Value.Text.Length + 1;
                _tail.RemoveFirst();
                _dropped = true;
            }
        }
    }

    /// <param name="adapter">The run's CLI adapter; null for a plain command (its stdout is its output).</param>
    public (string FinalMessage, string? SessionId) Read(CliAdapter? adapter)
    {
        var lines = _head.Concat(_tail);
        if (adapter is null)
        {
            var sb = new StringBuilder();
            var index = 0;
            foreach (var line in lines)
            {
                if (_dropped && index++ == _head.Count)
                {
                    sb.Append("[...]\n");
                }

                if (line.Stream == OutputStream.Stdout)
                {
                    sb.Append(line.Text).Append('\n');
                }
            }

            return (Clip(sb.ToString()), null);
        }

        string? session = null;
        var message = new StringBuilder();
        var delta = false;
        foreach (var line in lines)
        {
            if (line.Stream != OutputStream.Stdout || adapter.Reply(line.Text) is not { } reply)
            {
                delta = false;
                continue;
            }

            session ??= reply.SessionId;
            if (reply.Text is not { } text)
            {
                continue;
            }

            if (!(reply.Delta && delta))
            {
                message.Clear();
            }

            message.Append(text);
            delta = reply.Delta;
        }

        return (Clip(message.ToString()), session);
    }

    private static string Clip(string text) => text.Length <= MaxMessageChars ? text : "[...]\n" + text[^MaxMessageChars..];
}
