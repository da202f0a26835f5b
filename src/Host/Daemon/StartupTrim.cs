namespace DarkFactory.Host.Daemon;

/// <summary>
/// The start-up burst (runtime, ASP.NET Core, Akka, the journal, the fleet's first runs) leaves tens of MiB of garbage
/// in the young generation, and an idle daemon allocates too little to collect it for hours (issue 18: idle memory,
/// -30 MiB PSS with 100 silent agents). Once the fleet is applied, the daemon looks once a second at how much it
/// allocated; the first quiet second (the runs have started, their first output has gone by) it runs one aggressive
/// collection, which gives those pages back to the OS, and stops looking. Nothing periodic is left behind: after
/// <see cref="MaxWait"/> without a quiet second it collects anyway.
/// </summary>
internal static class StartupTrim
{
    /// <summary>How often the allocation is looked at until the daemon is quiet.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    /// <summary>Allocated in one <see cref="Poll"/>, at most, for the daemon to count as quiet.</summary>
    public const long QuietBytes = 1024 * 1024;

    /// <summary>The latest the collection runs after the fleet is applied.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    /// <summary>Starts the watch (off the caller's thread); the task ends after the one collection, or when the daemon stops.</summary>
    public static Task Start(CancellationToken stopping) =>
        WhenQuietAsync(Poll, QuietBytes, MaxWait, () => GC.GetTotalAllocatedBytes(), Collect, TimeProvider.System, stopping);

    /// <summary>Waits for the first <paramref name="poll"/> with at most <paramref name="quietBytes"/> allocated (or <paramref name="maxWait"/>), then calls <paramref name="collect"/> once; true when it did.</summary>
    public static async Task<bool> WhenQuietAsync(
        TimeSpan poll, long quietBytes, TimeSpan maxWait, Func<long> allocated, Action collect, TimeProvider time, CancellationToken stopping)
    {
        var deadline = time.GetTimestamp() + (long)(maxWait.TotalSeconds * time.TimestampFrequency);
        var before = allocated();
        try
        {
            while (true)
            {
                await Task.Delay(poll, time, stopping).ConfigureAwait(false);
                var now = allocated();
                if (now - before <= quietBytes || time.GetTimestamp() >= deadline)
                {
                    break;
                }

                before = now;
            }
        }
        catch (OperationCanceledException)
        {
            return false; // the daemon stops: no collection on the way out
        }

        collect();
        return true;
    }

    private static void Collect() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
}
