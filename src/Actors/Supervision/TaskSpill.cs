using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// Where the tasks of queued runs wait: one owner-only file each (0600) in an owner-only directory of the daemon's
/// data directory (<c>queued-tasks/</c>, 0700; the data directory is this daemon's alone), so a queue of any length
/// holds paths, not text. A run waiting in the admission queue keeps its task here until it starts (the layer reads
/// it back and the file goes) or is dropped (a new start, a stop, its agent removed, its layer stopped: the file
/// goes); the directory is emptied at the daemon's start (a killed daemon's queue is gone with it). A file's name
/// is random, never made from the task or the agent's name, and its text is never logged. Thread-safe (files are
/// independent); its counters feed the metrics.
/// </summary>
public sealed class TaskSpill
{
    public const string DirectoryName = "queued-tasks";

    private const byte Utf8 = 1; // the task is valid UTF-16: stored as UTF-8
    private const byte Utf16 = 2; // the task holds a lone surrogate (JSON allows "\ud800"): stored as its UTF-16 code units, unchanged

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private long _files;
    private long _bytes;

    private TaskSpill(string directory) => Directory = directory;

    /// <summary>The directory of the spilled tasks.</summary>
    public string Directory { get; }

    /// <summary>Tasks spilled and not yet taken back or dropped.</summary>
    public long Files => Interlocked.Read(ref _files);

    /// <summary>Their bytes on disk.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>
    /// Creates <c>queued-tasks/</c> in <paramref name="dataDirectory"/> owner-only and empties it of what a previous
    /// daemon left (its queue did not survive it). Refuses a directory that is a symbolic link.
    /// </summary>
    /// <param name="swept">How many files a previous daemon left.</param>
    /// <exception cref="IOException">The directory cannot be used.</exception>
    public static TaskSpill Prepare(string dataDirectory, out int swept)
    {
        var directory = Path.Combine(dataDirectory, DirectoryName);
        if (new FileInfo(directory).LinkTarget is not null)
        {
            throw new IOException($"{directory} is a symbolic link; remove it (the daemon keeps its queued tasks there)");
        }

        System.IO.Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        swept = 0;
        foreach (var stale in System.IO.Directory.EnumerateFileSystemEntries(directory))
        {
            if (System.IO.Directory.Exists(stale) && new FileInfo(stale).LinkTarget is null)
            {
                System.IO.Directory.Delete(stale, recursive: true);
            }
            else
            {
                File.Delete(stale);
            }

            swept++;
        }

        return new TaskSpill(directory);
    }

    /// <summary>Writes <paramref name="task"/> to a new file of its own; the handle reads it back once, or drops it.</summary>
    /// <exception cref="IOException">It could not be written (a full disk): nothing is left behind.</exception>
    public SpilledTask Spill(string task)
    {
        var path = Path.Combine(Directory, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + ".task");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew, // never another run's file, never through a link planted in its place
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using (var file = new FileStream(path, options))
            {
                Write(file, task);
            }

            var bytes = new FileInfo(path).Length;
            Interlocked.Increment(ref _files);
            Interlocked.Add(ref _bytes, bytes);
            return new SpilledTask(this, path, task.Length, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(path);
            throw new IOException($"the queued task could not be written to {Directory}: {e.Message}", e);
        }
    }

    /// <summary>The format: one tag byte, then the text (UTF-8 when it is valid Unicode, else its UTF-16 code units as they are).</summary>
    private static void Write(Stream file, string task)
    {
        bool valid;
        try
        {
            Strict.GetByteCount(task);
            valid = true;
        }
        catch (EncoderFallbackException)
        {
            valid = false;
        }

        file.WriteByte(valid ? Utf8 : Utf16);
        if (valid)
        {
            using var writer = new StreamWriter(file, Strict, bufferSize: 64 * 1024, leaveOpen: true);
            writer.Write(task);
            return;
        }

        file.Write(MemoryMarshal.AsBytes(task.AsSpan())); // read back by this process only: the machine's byte order
    }

    internal static string Read(string path, int chars)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var tag = file.ReadByte();
        switch (tag)
        {
            case Utf8:
                using (var reader = new StreamReader(file, Strict, detectEncodingFromByteOrderMarks: false, bufferSize: 64 * 1024))
                {
                    var text = reader.ReadToEnd();
                    return text.Length == chars ? text : throw new InvalidDataException($"{path} holds {text.Length} characters, not the {chars} spilled");
                }

            case Utf16 when file.Length - 1 == 2L * chars:
                return string.Create(chars, file, static (span, source) => source.ReadExactly(MemoryMarshal.AsBytes(span)));
            default:
                throw new InvalidDataException($"{path} is not a queued task of {chars} characters");
        }
    }

    internal void Dropped(string path, long bytes)
    {
        TryDelete(path);
        Interlocked.Decrement(ref _files);
        Interlocked.Add(ref _bytes, -bytes);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the next start sweeps it
        }
    }
}

/// <summary>
/// A queued run's task on disk (<see cref="TaskSpill"/>): read back once when the run starts (<see cref="Take"/>),
/// or dropped (<see cref="Dispose"/>); either way its file goes. Equal only to itself.
/// </summary>
public sealed class SpilledTask : IDisposable
{
    private readonly TaskSpill _spill;
    private readonly long _bytes;
    private int _gone;

    internal SpilledTask(TaskSpill spill, string path, int chars, long bytes)
    {
        _spill = spill;
        Path = path;
        Chars = chars;
        _bytes = bytes;
    }

    public string Path { get; }

    /// <summary>The task's length in characters (what it held in memory, halved: .NET text is UTF-16).</summary>
    public int Chars { get; }

    /// <summary>The task, read back; the file goes.</summary>
    /// <exception cref="IOException">The file is gone or not what was written (someone changed the data directory).</exception>
    public string Take()
    {
        try
        {
            return TaskSpill.Read(Path, Chars);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or InvalidDataException or DecoderFallbackException or EndOfStreamException)
        {
            throw new IOException(e.Message, e);
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Drops the task: its file goes (once).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _gone, 1) == 0)
        {
            _spill.Dropped(Path, _bytes);
        }
    }

    public override string ToString() => $"queued task ({Chars} characters, {System.IO.Path.GetFileName(Path)})";
}
