using Microsoft.Win32.SafeHandles;

namespace DarkFactory.Bench;

/// <summary>
/// Follows a size-rotated log (X.log, X.log.1 .. X.log.N) without losing a byte: it opens every file
/// it sees and holds it, keyed by inode, so a rotated or deleted file stays readable. Afterwards the
/// held files together hold everything the supervisor wrote.
/// </summary>
internal sealed class LogWatcher(string path, int keep) : IDisposable
{
    private readonly Dictionary<ulong, SafeFileHandle> _held = [];

    public void Poll()
    {
        for (var i = 0; i <= keep; i++)
        {
            var name = i == 0 ? path : $"{path}.{i}";
            if (FileId.Inode(name) is not { } ino || _held.ContainsKey(ino))
            {
                continue;
            }

            SafeFileHandle handle;
            try
            {
                handle = File.OpenHandle(name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (FileNotFoundException)
            {
                continue;
            }

            if (FileId.Inode(handle) is { } real && !_held.ContainsKey(real))
            {
                _held[real] = handle;
            }
            else
            {
                handle.Dispose();
            }
        }
    }

    /// <summary>The last line of the current file, if it ends with a newline.</summary>
    public string? LastLine()
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            var take = (int)Math.Min(length, 512);
            var buffer = new byte[take];
            var read = RandomAccess.Read(handle, buffer, length - take);
            var text = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
            if (!text.EndsWith('\n'))
            {
                return null;
            }

            var body = text[..^1];
            return body[(body.LastIndexOf('\n') + 1)..];
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Bytes and newlines in every file held; and the lines starting with "--- " (run markers).</summary>
    public (long Bytes, long Lines, long Markers) Count()
    {
        long bytes = 0, lines = 0, markers = 0;
        var buffer = new byte[1 << 20];
        foreach (var handle in _held.Values)
        {
            long offset = 0;
            var atLineStart = true;
            while (true)
            {
                var read = RandomAccess.Read(handle, buffer, offset);
                if (read <= 0)
                {
                    break;
                }

                var span = buffer.AsSpan(0, read);
                bytes += read;
                for (var i = 0; i < span.Length; i++)
                {
                    if (atLineStart && span.Length - i >= 4 && span[i] == (byte)'-' && span[i + 1] == (byte)'-' && span[i + 2] == (byte)'-' && span[i + 3] == (byte)' ')
                    {
                        markers++;
                    }

                    atLineStart = span[i] == (byte)'\n';
                    if (atLineStart)
                    {
                        lines++;
                    }
                }

                offset += read;
            }
        }

        return (bytes, lines, markers);
    }

    public int FilesHeld => _held.Count;

    /// <summary>Sum of the sizes of every file held (cheap: fstat per file).</summary>
    public long HeldBytes() => _held.Values.Sum(RandomAccess.GetLength);

    public void Dispose()
    {
        foreach (var h in _held.Values)
        {
            h.Dispose();
        }

        _held.Clear();
    }
}
