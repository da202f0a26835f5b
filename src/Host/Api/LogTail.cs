using System.Text;

namespace DarkFactory.Host.Api;

/// <summary>Reads the end of an agent's log file, and follows it across rotations (like tail -F).</summary>
public static class LogTail
{
    /// <summary>The last <paramref name="lines"/> lines, and the file offset they end at.</summary>
    public static (string Text, long Offset) Read(string path, int lines)
    {
        if (!File.Exists(path))
        {
            return (string.Empty, 0);
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = file.Length;
        if (lines == 0)
        {
            return (string.Empty, length);
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

        file.Position = start;
        var bytes = new byte[length - start];
        file.ReadExactly(bytes);
        return (Encoding.UTF8.GetString(bytes), length);
    }

    /// <summary>Streams what is appended after <paramref name="offset"/> until cancelled; a rotated file is followed from its start.</summary>
    public static async Task Follow(string path, long offset, Func<ReadOnlyMemory<byte>, Task> write, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        while (!ct.IsCancellationRequested)
        {
            if (File.Exists(path))
            {
                await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                if (file.Length < offset)
                {
                    offset = 0; // rotated
                }

                file.Position = offset;
                int read;
                while ((read = await file.ReadAsync(buffer, ct)) > 0)
                {
                    await write(buffer.AsMemory(0, read));
                    offset += read;
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
    }
}
