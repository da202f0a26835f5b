using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Output;

/// <summary>
/// Reads an agent's log file in bounded pages (for another node's <c>df logs</c>): where its last N lines start, and
/// one page from an offset. Nothing is held between calls; a file shorter than the offset asked for was rotated, and
/// is read from its start (as <c>tail -F</c> does).
/// </summary>
public static class LogPages
{
    /// <summary>Where the last <paramref name="lines"/> lines of <paramref name="path"/> start, and its length (0, 0 when there is no file).</summary>
    public static (long Start, long Length) TailStart(string path, int lines)
    {
        if (!File.Exists(path))
        {
            return (0, 0);
        }

        using var file = Open(path);
        return TailStart(file, lines);
    }

    /// <summary>At most <paramref name="maxBytes"/> of <paramref name="path"/> from <paramref name="from"/> (null: from the start of its last <paramref name="tail"/> lines).</summary>
    public static LogPage Read(string agent, string path, long? from, int tail, int maxBytes)
    {
        if (!File.Exists(path))
        {
            return new LogPage(agent, [], 0, 0);
        }

        using var file = Open(path);
        var length = file.Length;
        var start = from is { } offset
            ? offset > length || offset < 0 ? 0 : offset // shorter than where the reader was: rotated
            : TailStart(file, tail).Start;
        var bytes = new byte[(int)Math.Min(Math.Max(maxBytes, 0), length - start)];
        file.Position = start;
        file.ReadExactly(bytes);
        return new LogPage(agent, bytes, start, length);
    }

    private static FileStream Open(string path) => new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    private static (long Start, long Length) TailStart(FileStream file, int lines)
    {
        var length = file.Length;
        if (lines <= 0)
        {
            return (length, length);
        }

        var block = 64 * 1024;
        var position = length;
        var found = 0;
        var start = 0L;
        var buffer = new byte[block];
        while (position > 0 && found <= lines)
        {
            var size = (int)Math.Min(block, position);
            position -= size;
            file.Position = position;
            file.ReadExactly(buffer, 0, size);
            for (var i = size - 1; i >= 0; i--)
            {
                if (buffer[i] == (byte)'\n' && position + i != length - 1)
                {
                    found++;
                    if (found == lines)
                    {
                        start = position + i + 1;
                        position = 0;
                        break;
                    }
                }
            }
        }

        return (start, length);
    }
}
