using System.Text.RegularExpressions;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// The daemon's own log as files when no journald takes it: <c>DIR/logs/daemon-YYYY-MM-DD.log</c> (UTC days), a
/// new file at the first entry of each day, files older than the retention (default 30 days) deleted then. Under
/// systemd (<c>JOURNAL_STREAM</c> set) journald keeps the log and rotates it itself, so no file is written.
/// </summary>
public sealed partial class DaemonLogFile : ILoggerProvider
{
    public const int DefaultRetentionDays = 30;
    private readonly object _gate = new();
    private readonly string _directory;
    private readonly int _retentionDays;
    private readonly TimeProvider _clock;
    private StreamWriter? _writer;
    private DateOnly _day;

    public DaemonLogFile(string directory, int retentionDays, TimeProvider clock)
    {
        _directory = directory;
        _retentionDays = retentionDays;
        _clock = clock;
        Directory.CreateDirectory(directory);
    }

    public static string FileFor(DateOnly day) => $"daemon-{day:yyyy-MM-dd}.log";

    /// <summary>The daemon log files in the directory that are older than the retention on <paramref name="today"/>.</summary>
    public static IEnumerable<string> Expired(string directory, DateOnly today, int retentionDays) =>
        Directory.EnumerateFiles(directory, "daemon-*.log")
            .Where(f => DayOf(Path.GetFileName(f)) is { } day && day <= today.AddDays(-retentionDays));

    private static DateOnly? DayOf(string file) =>
        Name().Match(file) is { Success: true } m && DateOnly.TryParseExact(m.Groups[1].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : null;

    public void Write(string category, LogLevel level, string message, Exception? exception)
    {
        var now = _clock.GetUtcNow();
        var line = new StringBuilder()
            .Append(now.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)).Append(' ')
            .Append(Level(level)).Append(' ').Append(category).Append(": ").Append(message);
        if (exception is not null)
        {
            line.Append('\n').Append(exception);
        }

        lock (_gate)
        {
            var today = DateOnly.FromDateTime(now.UtcDateTime);
            if (_writer is null || today != _day)
            {
                Roll(today);
            }

            _writer!.WriteLine(line.ToString());
        }
    }

    private void Roll(DateOnly today)
    {
        _writer?.Dispose();
        _day = today;
        var stream = new FileStream(Path.Combine(_directory, FileFor(today)), new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        _writer = new StreamWriter(stream) { AutoFlush = true };
        foreach (var old in Expired(_directory, today, _retentionDays))
        {
            try
            {
                File.Delete(old);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    public ILogger CreateLogger(string categoryName) => new CallbackLogger(categoryName, (category, level, message, exception, _) => Write(category, level, message, exception));

    public void Dispose()
    {
        lock (_gate)
        {
            _writer?.Dispose();
            _writer = null;
        }
    }

    [GeneratedRegex(@"^daemon-(\d{4}-\d{2}-\d{2})\.log$")]
    private static partial Regex Name();
}
