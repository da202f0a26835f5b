using DarkFactory.Host.Ops;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// Checks the SQLite store before the daemon uses it, so that a broken data directory is one line naming the
/// file and what to do (exit 1), never an unhandled exception, a restart loop or a silent new history:
/// a damaged file (garbage, truncated, corrupted pages: <c>PRAGMA quick_check</c>), and a directory that held
/// state (its release stamp or token is there) whose store is now missing or empty (0 bytes) —
/// refused unless <c>df up --allow-empty-store</c> asks for a new history.
/// </summary>
public static class StoreGuard
{
    /// <summary>Why the daemon must not start on this store; null when it may.</summary>
    public static string? Refusal(DataDirectory data, bool allowEmptyStore)
    {
        var db = data.Database;
        var heldState = File.Exists(Path.Combine(data.Path, DataStamp.FileName)) || File.Exists(Path.Combine(data.Path, DataDirectory.TokenFile));
        var exists = File.Exists(db);
        if (!exists || new FileInfo(db).Length == 0)
        {
            return heldState && !allowEmptyStore
                ? $"{data.Path} held a Dark Factory store, but {db} is {(exists ? "empty (0 bytes)" : "missing")}: restore the latest backup (df restore FILE --data-dir NEWDIR), or start a new, empty history with df up --allow-empty-store"
                : null;
        }

        var check = Doctor.StoreCheck(data);
        if (!check.Ok)
        {
            return $"{check.Detail.ReplaceLineEndings(" ")}; {check.Fix}";
        }

        return null;
    }
}
