namespace DarkFactory.Actors.Nightwatch;

/// <summary>Settings of the <see cref="NightwatchActor"/>; tests inject a virtual clock.</summary>
public sealed record NightwatchSettings
{
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public string PersistenceId { get; init; } = "nightwatch";

    public int SnapshotEvery { get; init; } = 200;
    public int KeepCorrections { get; init; } = 1000;
    public int KeepEscalations { get; init; } = 500;

    /// <summary>The same agent's rate-limit lines within this time make one provider-limited event.</summary>
    public TimeSpan LimitDebounce { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Least time between two @mention starts of the same agent.</summary>
    public TimeSpan MentionCooldown { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Posts escalations; null = <see cref="EscalationWebhook.SharedClient"/> (10 s timeout).</summary>
    public HttpClient? Http { get; init; }
}
