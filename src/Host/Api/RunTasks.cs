using System.Collections.Concurrent;

namespace DarkFactory.Host.Api;

/// <summary>
/// The task of each run started through the API (run id → task), so the capability registry can show
/// an agent's current task; runs started by a schedule carry the agent's own task. Bounded: the oldest
/// entries go first.
/// </summary>
public sealed class RunTasks(int capacity = 4096)
{
    private readonly ConcurrentDictionary<string, string> _tasks = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public void Record(string runId, string task)
    {
        if (_tasks.TryAdd(runId, task))
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
