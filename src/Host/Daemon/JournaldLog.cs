using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// The daemon's log straight into journald (its native protocol over <c>/run/systemd/journal/socket</c>) when it
/// runs under systemd: each entry with <c>PRIORITY</c>, <c>SYSLOG_IDENTIFIER=darkfactory</c>, <c>DF_CATEGORY</c>,
/// its structured values as fields (<c>{Count}</c> becomes <c>COUNT=</c>) and, for the supervisor's
/// "Agent [name] run [id]" entries, <c>DF_AGENT=</c> and <c>DF_RUN_ID=</c>: <c>journalctl -u darkfactory
/// DF_AGENT=keeper</c> shows one agent's entries. <c>DF_JOURNAL_SOCKET</c> overrides the socket (tests).
/// </summary>
public sealed partial class JournaldLog : ILoggerProvider
{
    public const string DefaultSocket = "/run/systemd/journal/socket";
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly UnixDomainSocketEndPoint _journal;

    private JournaldLog(string socket) => _journal = new UnixDomainSocketEndPoint(socket);

    /// <summary>The journal's socket when the daemon runs under systemd's journal (JOURNAL_STREAM set) and it exists; else null.</summary>
    public static JournaldLog? ForThisProcess()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")))
        {
            return null;
        }

        var socket = Environment.GetEnvironmentVariable("DF_JOURNAL_SOCKET") is { Length: > 0 } s ? s : DefaultSocket;
        return File.Exists(socket) ? new JournaldLog(socket) : null;
    }

    /// <summary>One entry in the journal's export format (a value holding a newline uses the length-prefixed form).</summary>
    public static byte[] Entry(IEnumerable<KeyValuePair<string, string>> fields)
    {
        using var buffer = new MemoryStream();
        foreach (var (name, value) in fields)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            buffer.Write(Encoding.ASCII.GetBytes(name));
            if (value.Contains('\n'))
            {
                buffer.WriteByte((byte)'\n');
                var length = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)bytes.Length);
                buffer.Write(length);
            }
            else
            {
                buffer.WriteByte((byte)'=');
            }

            buffer.Write(bytes);
            buffer.WriteByte((byte)'\n');
        }

        return buffer.ToArray();
    }

    /// <summary>The fields of one log entry: message, priority, identifier, category, structured values, agent and run ids.</summary>
    public static List<KeyValuePair<string, string>> Fields(string category, LogLevel level, string message, Exception? exception, IEnumerable<KeyValuePair<string, object?>>? state)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("MESSAGE", exception is null ? message : message + "\n" + exception),
            new("PRIORITY", Priority(level)),
            new("SYSLOG_IDENTIFIER", "darkfactory"),
            new("DF_CATEGORY", category),
        };
        foreach (var (key, value) in state ?? [])
        {
            if (key != "{OriginalFormat}" && value is not null && FieldName(key) is { } name)
            {
                fields.Add(new(name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty));
            }
        }

        if (AgentRun().Match(message) is { Success: true } m)
        {
            fields.Add(new("DF_AGENT", m.Groups[1].Value));
            if (m.Groups[2].Success)
            {
                fields.Add(new("DF_RUN_ID", m.Groups[2].Value));
            }
        }

        return fields;
    }

    /// <summary>A journal field name: upper case letters, digits and underscores, not starting with one.</summary>
    private static string? FieldName(string key)
    {
        var name = new string(Snake().Replace(key, "$1_$2").ToUpperInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray()).TrimStart('_');
        return name.Length == 0 || char.IsAsciiDigit(name[0]) || name is "MESSAGE" or "PRIORITY" or "SYSLOG_IDENTIFIER" ? null : name;
    }

    private static string Priority(LogLevel level) => level switch
    {
        LogLevel.Critical => "2",
        LogLevel.Error => "3",
        LogLevel.Warning => "4",
        LogLevel.Information => "6",
        _ => "7",
    };

    private void Send(List<KeyValuePair<string, string>> fields)
    {
        try
        {
            _socket.SendTo(Entry(fields), _journal);
        }
        catch (SocketException)
        {
            // the journal is gone (shutdown, restart): an entry lost is better than a daemon stopped
        }
    }

    public ILogger CreateLogger(string categoryName) => new CallbackLogger(categoryName, (category, level, message, exception, state) => Send(Fields(category, level, message, exception, state)));

    public void Dispose() => _socket.Dispose();

    [GeneratedRegex(@"\bAgent \[([^\]]+)\](?: run \[([0-9a-f]+)\])?")]
    private static partial Regex AgentRun();

    [GeneratedRegex("([a-z0-9])([A-Z])")]
    private static partial Regex Snake();
}
