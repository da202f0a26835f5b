using System.Reflection;

namespace DarkFactory.Host.Ops;

/// <summary>
/// <c>release.json</c> in the data directory: the storage format the directory holds and the release that last
/// ran on it. A release reads every format up to its own (persisted events are storage contracts: old journals
/// must still read), stamps the directory with its own when it starts, and refuses a directory from a newer
/// release rather than misread it. Bump <see cref="CurrentFormat"/> only when a change cannot be read back by
/// the release before it (say so in the release notes: its rollback needs the backup taken before the upgrade).
/// </summary>
public sealed record DataStamp(int Format, string WrittenBy, DateTimeOffset At)
{
    public const string FileName = "release.json";
    public const int CurrentFormat = 1;

    /// <summary>This build's version (informational, with the commit when built from git).</summary>
    public static string Release { get; } = "df " + (typeof(DataStamp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");

    public static DataStamp Current { get; } = new(CurrentFormat, Release, DateTimeOffset.UtcNow);

    public static DataStamp? Read(string dataDir)
    {
        var file = Path.Combine(dataDir, FileName);
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize<DataStamp>(File.ReadAllText(file), DarkFactoryJson.Options) : null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file} is not a release stamp: {e.Message}", e);
        }
    }

    /// <summary>Null when this release may run on the directory; else why not, for the operator.</summary>
    public static string? Refusal(string dataDir)
    {
        DataStamp? stamp;
        try
        {
            stamp = Read(dataDir);
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }

        return stamp is null || stamp.Format <= CurrentFormat
            ? null
            : $"{dataDir} was written by a newer release ({stamp.WrittenBy}, data format {stamp.Format}, {stamp.At:yyyy-MM-dd}); this is {Release}, which reads formats up to {CurrentFormat}. Run the newer release, or restore a backup taken before the upgrade into a new directory (df restore FILE --data-dir NEWDIR)";
    }

    /// <summary>Stamps the directory with this release (kept when it already says this format and release).</summary>
    public static void Write(string dataDir)
    {
        if (Read(dataDir) is { } old && old.Format == CurrentFormat && old.WrittenBy == Release)
        {
            return;
        }

        var file = Path.Combine(dataDir, FileName);
        File.WriteAllText(file + ".tmp", JsonSerializer.Serialize(Current with { At = DateTimeOffset.UtcNow }, DarkFactoryJson.Indented) + "\n");
        File.Move(file + ".tmp", file, overwrite: true);
    }
}
