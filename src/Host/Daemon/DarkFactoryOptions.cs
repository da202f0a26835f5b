using Akka.Configuration;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// The daemon's own settings, read from <c>darkfactory.*</c> in its HOCON (defaults in hocon/darkfactory.conf;
/// an operator's <c>DF_HOCON</c> file overrides them).
/// </summary>
public sealed record DarkFactoryOptions
{
    /// <summary><c>darkfactory.ask-timeout</c>: how long the API, and so <c>df</c>, waits for an actor's answer.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary><c>darkfactory.review-ask-timeout</c>: starting a compound review waits for its start to be journaled (slow on a loaded machine).</summary>
    public TimeSpan ReviewAskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>darkfactory.apply-timeout</c>: how long applying a fleet revision (start, SIGHUP, <c>df reload</c>) may take.</summary>
    public TimeSpan ApplyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>darkfactory.event-client-buffer</c>: the most bytes of events one live client (SSE) may have queued; beyond it the oldest are dropped and the client is told (<c>lagged</c>).</summary>
    public long EventClientBytes { get; init; } = 4L * 1024 * 1024;

    /// <summary><c>darkfactory.max-task-size</c>: the largest task (UTF-8 bytes) a run may be given through the API; a larger one is answered 413 naming this key.</summary>
    public long MaxTaskBytes { get; init; } = 1024 * 1024;

    /// <summary><c>darkfactory.max-request-size</c>: the largest request body the API reads; a larger one is answered 413 naming this key.</summary>
    public long MaxRequestBytes { get; init; } = 8L * 1024 * 1024;

    /// <summary>Reads the settings; a missing key keeps its default, a zero or negative duration is refused naming the key.</summary>
    public static DarkFactoryOptions Create(Config config)
    {
        var defaults = new DarkFactoryOptions();
        return new DarkFactoryOptions
        {
            AskTimeout = Positive(config, "darkfactory.ask-timeout", defaults.AskTimeout),
            ReviewAskTimeout = Positive(config, "darkfactory.review-ask-timeout", defaults.ReviewAskTimeout),
            ApplyTimeout = Positive(config, "darkfactory.apply-timeout", defaults.ApplyTimeout),
            EventClientBytes = PositiveSize(config, "darkfactory.event-client-buffer", defaults.EventClientBytes),
            MaxTaskBytes = PositiveSize(config, "darkfactory.max-task-size", defaults.MaxTaskBytes),
            MaxRequestBytes = PositiveSize(config, "darkfactory.max-request-size", defaults.MaxRequestBytes),
        };
    }

    private static long PositiveSize(Config config, string key, long fallback)
    {
        if (!config.HasPath(key))
        {
            return fallback;
        }

        long? value;
        try
        {
            value = config.GetByteSize(key);
        }
        catch (Exception e) when (e is FormatException or ConfigurationException or OverflowException or ArgumentException)
        {
            value = null;
        }

        return value is > 0 ? value.Value : throw new ConfigurationException($"{key} must be a positive size (for example 4MiB), not '{config.GetString(key)}'");
    }

    private static TimeSpan Positive(Config config, string key, TimeSpan fallback)
    {
        if (!config.HasPath(key))
        {
            return fallback;
        }

        var refused = new ConfigurationException($"{key} must be a positive duration (for example 10s), not '{config.GetString(key)}'");
        TimeSpan value;
        try
        {
            value = config.GetTimeSpan(key);
        }
        catch (Exception e) when (e is FormatException or ConfigurationException or OverflowException or ArgumentException)
        {
            throw refused;
        }

        return value > TimeSpan.Zero ? value : throw refused;
    }
}
