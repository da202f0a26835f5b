namespace DarkFactory.Actors.Supervision;

/// <summary>
/// A queued run's task goes to disk while it waits (<see cref="TaskSpill"/>: the queue holds paths, not text) and comes
/// back for its start. The layer decides when; this does the file work and says what went wrong, without throwing.
/// </summary>
public static class QueuedRuns
{
    /// <summary>
    /// The request with its task on disk; as it is without a spill or a task. A task that cannot be written (a full
    /// disk) waits in memory: the request as it is, and <paramref name="error"/> says why.
    /// </summary>
    public static RunRequest Spill(TaskSpill? spill, RunRequest request, out string? error)
    {
        error = null;
        if (spill is null || request.Task is not { } task)
        {
            return request;
        }

        try
        {
            return request with { Task = null, Spilled = spill.Spill(task) };
        }
        catch (IOException e)
        {
            error = e.Message;
            return request;
        }
    }

    /// <summary>The request with its task read back from disk (the file is gone after); null when it cannot be read, and <paramref name="error"/> says why.</summary>
    public static RunRequest? Unspill(RunRequest request, out string? error)
    {
        error = null;
        try
        {
            return request with { Task = request.Task ?? request.Spilled?.Take(), Spilled = null };
        }
        catch (IOException e)
        {
            error = e.Message;
            return null;
        }
    }
}
