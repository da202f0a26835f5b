namespace DarkFactory.Actors.Output;

/// <summary>
/// An agent's output log file, rotated by size (agent.log, agent.log.1 ... agent.log.N). Thread-safe:
/// both output readers of a run and the run's start/exit markers write through it. One per agent,
/// shared by its successive runs (held by <see cref="LogSinks"/>). A write never throws: when the file
/// system refuses it (full, read-only, gone), the bytes are counted as dropped, the sink says it is failing
/// (<see cref="Health"/>, <see cref="LogWriteFaults"/>) and the next write tries again, so the output pumps keep
/// draining the agent's pipes and writing resumes by itself once space returns.
/// </summary>
public sealed class LogSink : IDisposable
{
    private readonly object _gate = new();
    private long _maxBytes;
    private int _keep;
    private readonly LogWriteFaults? _faults;
    private FileStream? _file;
    private long _size;
    private LogWriteHealth _health = LogWriteHealth.Healthy;

    public LogSink(string path, long maxBytes = LogRetention.DefaultMaxBytes, int keep = LogRetention.DefaultKeep, LogWriteFaults? faults = null)
    {
        Path = path;
        _maxBytes = maxBytes;
        _keep = keep;
        _faults = faults;
    }

    public string Path { get; }

    /// <summary>Whether writes fail now, why, and how many bytes could not be written so far; <see cref="LogWriteHealth.Changes"/> counts the turns.</summary>
    public LogWriteHealth Health => Volatile.Read(ref _health);

    /// <summary>The agent's rotation and retention (fleet.yaml <c>log</c>), taken from its next write on.</summary>
    public void Retain(LogRetention retention)
    {
        lock (_gate)
        {
            _maxBytes = retention.MaxBytes;
            _keep = retention.Keep;
        }
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            try
            {
                var file = Open();
                if (_health.Failing)
                {
                    Resume(file);
                }

                // never past max_size: the lines that fit, then a rotation (a line longer than a whole file is cut)
                while (_size + bytes.Length > _maxBytes)
                {
                    var room = (int)Math.Min(Math.Max(_maxBytes - _size, 0), bytes.Length);
                    var take = bytes[..room].LastIndexOf((byte)'\n') + 1;
                    if (take == 0 && _size == 0)
                    {
                        take = room;
                    }

                    file.Write(bytes[..take]);
                    _size += take;
                    bytes = bytes[take..];
                    Rotate();
                    file = Open();
                }

                file.Write(bytes);
                _size += bytes.Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Dropped(bytes.Length, e);
            }
        }
    }

    /// <summary>
    /// A failing log that nothing writes to (its agent ended) is tried again: true when it takes writes now
    /// (the gap is noted in it). The readiness check calls it, so a log stays failing only while the disk does.
    /// </summary>
    public bool Retry()
    {
        lock (_gate)
        {
            if (!_health.Failing)
            {
                return true;
            }

            try
            {
                Resume(Open());
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Dropped(0, e);
                return false;
            }
        }
    }

    /// <summary>The first write after a failure: a line in the log saying what is missing, then the sink is healthy again.</summary>
    private void Resume(FileStream file)
    {
        var note = Encoding.UTF8.GetBytes($"--- {DateTimeOffset.UtcNow:O} {_health.DroppedBytes} bytes of output were not written to this log so far ({_health.Error})\n");
        file.Write(note);
        _size += note.Length;
        Turn(_health with { Failing = false, Changes = _health.Changes + 1 });
        _faults?.Resumed(this);
    }

    /// <summary>A write the file system refused: counted, the file closed (the next write opens it again, at its real end).</summary>
    private void Dropped(long bytes, Exception e)
    {
        try
        {
            _file?.Dispose();
        }
        catch (Exception again) when (again is IOException or UnauthorizedAccessException)
        {
            // closing flushes nothing (unbuffered); a failing close changes nothing
        }

        _file = null;
        var error = e.Message.ReplaceLineEndings(" ").Trim();
        var turned = !_health.Failing;
        Turn(_health with { Failing = true, Error = error, DroppedBytes = _health.DroppedBytes + bytes, Changes = _health.Changes + (turned ? 1 : 0) });
        _faults?.Dropped(this, error, bytes);
    }

    private void Turn(LogWriteHealth health) => Volatile.Write(ref _health, health);

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
            try
            {
                _file?.Flush();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Dropped(0, e);
            }
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
            try
            {
                _file?.Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // nothing is buffered: nothing is lost
            }

            _file = null;
        }
    }
}

/// <summary>
/// One log's write health: failing now (and the file system's error), the bytes it could not write since the
/// daemon started, and how many times it turned between failing and writing (a reader compares it to see a turn).
/// </summary>
public sealed record LogWriteHealth(bool Failing, string? Error, long DroppedBytes, long Changes)
{
    public static readonly LogWriteHealth Healthy = new(false, null, 0, 0);
}

/// <summary>
/// The daemon's agent logs that cannot be written, all together (thread-safe): which fail now and why, and the
/// bytes dropped. Read by the readiness check (<c>logs</c>) and the metrics (<c>df_log_write_failing</c>,
/// <c>df_log_dropped_bytes</c>).
/// </summary>
public sealed class LogWriteFaults
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<LogSink, string> _failing = new();
    private long _dropped;

    /// <summary>Bytes of agent output that could not be written to a log since the daemon started.</summary>
    public long DroppedBytes => Interlocked.Read(ref _dropped);

    /// <summary>Logs whose writes fail now (file name, the file system's error), by name.</summary>
    public IReadOnlyList<(string Log, string Error)> Failing =>
        _failing.Select(p => (System.IO.Path.GetFileName(p.Key.Path), p.Value)).OrderBy(p => p.Item1, StringComparer.Ordinal).ToList();

    public int FailingCount => _failing.Count;

    /// <summary>Tries every failing log again (<see cref="LogSink.Retry"/>): those whose agent no longer writes resume once space returns.</summary>
    public void Retry()
    {
        foreach (var sink in _failing.Keys)
        {
            sink.Retry();
        }
    }

    internal void Dropped(LogSink sink, string error, long bytes)
    {
        Interlocked.Add(ref _dropped, bytes);
        _failing[sink] = error;
    }

    internal void Resumed(LogSink sink) => _failing.TryRemove(sink, out _);
}

/// <summary>The log sinks of the daemon, one per agent (like a logger factory).</summary>
/// <param name="faults">Where the sinks report writes the file system refused (the daemon's: readiness and metrics read it).</param>
public sealed class LogSinks(string directory, long maxBytes = LogRetention.DefaultMaxBytes, int keep = LogRetention.DefaultKeep, LogWriteFaults? faults = null) : IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LogSink> _sinks = new(StringComparer.Ordinal);

    public string Directory { get; } = directory;

    public LogSink For(string agent) => _sinks.GetOrAdd(agent, a => new LogSink(PathOf(a), maxBytes, keep, Faults));

    /// <summary>Writes the file system refused, over every agent's log.</summary>
    public LogWriteFaults Faults { get; } = faults ?? new LogWriteFaults();

    /// <summary>The agent's sink, rotating and retaining as its declaration says (a changed <c>log</c> is taken at its next run).</summary>
    public LogSink For(string agent, LogRetention retention)
    {
        var sink = For(agent);
        sink.Retain(retention);
        return sink;
    }

    public string PathOf(string agent) => System.IO.Path.Combine(Directory, agent + ".log");

    public void Dispose()
    {
        foreach (var sink in _sinks.Values)
        {
            sink.Dispose();
        }
    }
}
