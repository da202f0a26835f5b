namespace DarkFactory.Host.Daemon;

/// <summary>An ILogger that hands each entry (category, level, message, exception, structured values) to its provider.</summary>
internal sealed class CallbackLogger(string category, Action<string, LogLevel, string, Exception?, IEnumerable<KeyValuePair<string, object?>>?> write) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            write(category, logLevel, formatter(state, exception), exception, state as IEnumerable<KeyValuePair<string, object?>>);
        }
    }
}
