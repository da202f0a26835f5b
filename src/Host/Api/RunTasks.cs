using System.Collections.Concurrent;

namespace DarkFactory.Host.Api;

/// <summary>
/// The task of each run started through the API (run id → task), so the capability registry can show
/// an agent's current task; runs started by a schedule carry the agent's own task. Bounded in entries
/// and in bytes: the oldest entries go first, and a long task is kept as its first
/// <see cref="PreviewChars"/> characters (the run itself got all of it).
/// </summary>
public sealed class RunTasks(int capacity = 4096)
{
    /// <summary>The most characters of one task kept for display.</summary>
    public const int PreviewChars = 2000;

    private readonly ConcurrentDictionary<string, string> _tasks = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    /// <summary>Whether a task is within <paramref name="limit"/> bytes (UTF-8); <paramref name="bytes"/> is its size.</summary>
    public static bool Fits(string task, long limit, out long bytes)
    {
        bytes = Encoding.UTF8.GetByteCount(task);
        return bytes <= limit;
    }

    /// <summary>A task as kept for display: whole when short, else its beginning and its size.</summary>
    public static string Preview(string task) =>
        task.Length <= PreviewChars ? task : $"{task[..PreviewChars]}… ({Encoding.UTF8.GetByteCount(task)} bytes in all)";

    /// <summary>Characters held now (at most <c>capacity × (PreviewChars + 40)</c>).</summary>
    public long HeldChars => _tasks.Values.Sum(t => (long)t.Length);

    public void Record(string runId, string task)
    {
        if (_tasks.TryAdd(runId, Preview(task)))
        {
            _order.Enqueue(runId);
            while (_tasks.Count > capacity && _order.TryDequeue(out var oldest))
            {
                _tasks.TryRemove(oldest, out _);
            }
        }
    }

    public string? Find(string? runId) => runId is not null && _tasks.TryGetValue(runId, out var task) ? task : null;
}
