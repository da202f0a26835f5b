using DarkFactory.Actors.Output;

namespace DarkFactory.Host.Api;

/// <summary>Reads the end of an agent's log file, and follows it across rotations (like tail -F).</summary>
public static class LogTail
{
    /// <summary>The last <paramref name="lines"/> lines, and the file offset they end at.</summary>
    public static (string Text, long Offset) Read(string path, int lines)
    {
        var (start, length) = LogPages.TailStart(path, lines);
        if (start == length)
        {
            return (string.Empty, length);
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
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
