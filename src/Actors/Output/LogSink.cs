using System.Text;

namespace DarkFactory.Actors.Output;

/// <summary>
/// An agent's output log file, rotated by size (agent.log, agent.log.1 ... agent.log.N). Thread-safe:
/// both output readers of a run and the run's start/exit markers write through it. One per agent,
/// shared by its successive runs (held by <see cref="LogSinks"/>).
/// </summary>
public sealed class LogSink : IDisposable
{
    private readonly object _gate = new();
    private readonly long _maxBytes;
    private readonly int _keep;
    private FileStream? _file;
    private long _size;

    public LogSink(string path, long maxBytes = 16L * 1024 * 1024, int keep = 3)
    {
        Path = path;
        _maxBytes = maxBytes;
        _keep = keep;
    }

    public string Path { get; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            var file = Open();
            if (_size > 0 && _size + bytes.Length > _maxBytes)
            {
                Rotate();
                file = Open();
            }

            file.Write(bytes);
            _size += bytes.Length;
        }
    }

    public void WriteLine(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text + "\n");
        Write(bytes);
        Flush();
    }

    public void Flush()
    {
        lock (_gate)
        {
            _file?.Flush();
        }
    }

    private FileStream Open()
    {
        // Moved or deleted from outside (logrotate, an operator): write to the path again, not to the old inode.
        if (_file is not null && !File.Exists(Path))
        {
            _file.Dispose();
            _file = null;
        }

        if (_file is null)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            // Unbuffered: the pump hands over whole chunks (one write each), output is visible to
            // `df logs` at once, and 1,000 idle agents hold no 64 KiB buffers.
            _file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            _size = _file.Length;
        }

        return _file;
    }

    private void Rotate()
    {
        _file?.Dispose();
        _file = null;
        for (var i = _keep - 1; i >= 1; i--)
        {
            var from = $"{Path}.{i}";
            if (File.Exists(from))
            {
                File.Move(from, $"{Path}.{i + 1}", overwrite: true);
            }
        }

        if (_keep > 0)
        {
            File.Move(Path, $"{Path}.1", overwrite: true);
        }
        else
        {
            File.Delete(Path);
        }

        _size = 0;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
            _file = null;
        }
    }
}

/// <summary>The log sinks of the daemon, one per agent (like a logger factory).</summary>
public sealed class LogSinks(string directory, long maxBytes = 16L * 1024 * 1024, int keep = 3) : IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LogSink> _sinks = new(StringComparer.Ordinal);

    public string Directory { get; } = directory;

    public LogSink For(string agent) => _sinks.GetOrAdd(agent, a => new LogSink(PathOf(a), maxBytes, keep));

    public string PathOf(string agent) => System.IO.Path.Combine(Directory, agent + ".log");

    public void Dispose()
    {
        foreach (var sink in _sinks.Values)
        {
            sink.Dispose();
        }
    }
}
