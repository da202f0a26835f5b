namespace DarkFactory.Actors.Routing.Admission;

/// <summary>The declared limit that holds a run back.</summary>
public enum AdmissionLimit
{
    /// <summary>fleet.yaml <c>limits.max_concurrent_runs</c>: runs at the same time across the fleet.</summary>
    MaxConcurrentRuns,

    /// <summary><c>providers[].limits.max_concurrent</c>: runs on the provider at the same time.</summary>
    MaxConcurrent,

    /// <summary><c>providers[].limits.requests_per_minute</c>: run starts on the provider in the last minute.</summary>
    RequestsPerMinute,

    /// <summary><c>providers[].limits.tokens_per_minute</c>: tokens the provider's runs reported in the last minute.</summary>
    TokensPerMinute,
}

/// <summary>What the gate says to a run that wants to start.</summary>
public abstract record AdmissionDecision
{
    private AdmissionDecision()
    {
    }

    public static readonly AdmissionDecision Go = new Admitted();

    /// <summary>Start it.</summary>
    public sealed record Admitted : AdmissionDecision;

    /// <summary>
    /// Wait in the queue: the gate tells the run's owner when it may start (a run ends, the minute slides, a
    /// reload raises a limit).
    /// </summary>
    /// <param name="Position">1 for the first in the queue.</param>
    /// <param name="Until">For a per-minute limit: when the window has room again.</param>
    public sealed record Queued(string Reason, AdmissionLimit Limit, string? Provider, int Position, DateTimeOffset? Until) : AdmissionDecision;
}

/// <summary>The limits the gate enforces, from a fleet revision.</summary>
public sealed record AdmissionLimits(int? MaxConcurrentRuns, IReadOnlyDictionary<string, ProviderLimits> Providers)
{
    public static readonly AdmissionLimits None = new(null, new Dictionary<string, ProviderLimits>());

    public static AdmissionLimits From(FleetSpec fleet) => new(
        fleet.Limits.MaxConcurrentRuns,
        fleet.Providers.ToDictionary(p => p.Name, p => p.Limits, StringComparer.Ordinal));

    public ProviderLimits Of(string? provider) =>
        provider is not null && Providers.TryGetValue(provider, out var l) ? l : Empty;

    private static readonly ProviderLimits Empty = new();
}

/// <summary>A provider's runs and pace as the gate counts them (the API's and <c>df providers</c>' view).</summary>
/// <param name="Throttled">Runs held back since the daemon started, by limit (snake_case names).</param>
public sealed record ProviderAdmission(
    string Provider,
    int InFlight,
    int? MaxConcurrent,
    int Queued,
    long RequestsLastMinute,
    int? RequestsPerMinute,
    long TokensLastMinute,
    long? TokensPerMinute,
    IReadOnlyDictionary<string, long> Throttled);

/// <summary>A run waiting in the gate's queue.</summary>
public sealed record QueuedRun(string Agent, string? Provider, int Position, string Reason, string Limit, DateTimeOffset Since, DateTimeOffset? Until);

/// <summary>The gate at a glance: runs in flight against <c>limits.max_concurrent_runs</c>, the queue in order, each provider.</summary>
/// <param name="InFlight">Runs counted against <c>max_concurrent_runs</c> (safety agents' runs are not).</param>
/// <param name="Exempt">Runs of safety agents (they never wait).</param>
public sealed record AdmissionReport(
    int InFlight,
    int Exempt,
    int? MaxConcurrentRuns,
    int Queued,
    IReadOnlyList<QueuedRun> Queue,
    IReadOnlyList<ProviderAdmission> Providers)
{
    public static readonly AdmissionReport Empty = new(0, 0, null, 0, [], []);
}

/// <summary>
/// Admission of runs against the declared limits (pure; the caller gives the time and serialises calls): the
/// fleet-wide <c>limits.max_concurrent_runs</c> and each provider's <c>max_concurrent</c>,
/// <c>requests_per_minute</c> (run starts in a sliding minute) and <c>tokens_per_minute</c> (reported usage
/// in a sliding minute). A run that would exceed one waits in one queue, in arrival order: a waiting run is
/// never overtaken on the limit that holds it (a later run of another provider may start while the first
/// waits for its provider). When room appears (<see cref="Release"/>, time passing, <see cref="Configure"/>),
/// <see cref="Scan"/> reserves a place for each waiting run that now fits, in order, and returns them: their
/// owners start them (<see cref="Admit"/> takes the reservation) or give it back (<see cref="Cancel"/>).
/// <para>
/// Safety agents' runs are exempt: they start at once and are not counted against <c>max_concurrent_runs</c>
/// (a guard must run when the fleet is busy); they do count against their provider's limits, so other runs
/// wait for them. A run is one request: a CLI's own retries inside a run are its own (a provider's 429 still
/// marks it limited, see <see cref="ProviderHealth"/>).
/// </para>
/// </summary>
public sealed class RunAdmission
{
    /// <summary>The window of the per-minute limits.</summary>
    public static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>The report's name for runs without a provider (plain commands).</summary>
    public const string NoProvider = "none";

    private readonly Dictionary<string, Slot> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SlidingWindow> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SlidingWindow> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Provider, AdmissionLimit Limit), long> _throttled = [];
    private List<Ticket> _queue = [];

    public AdmissionLimits Limits { get; private set; } = AdmissionLimits.None;

    /// <summary>Runs waiting.</summary>
    public int QueueLength => _queue.Count;

    /// <summary>A new fleet revision's limits: a raised one lets waiting runs go (returned, see <see cref="Scan"/>).</summary>
    public IReadOnlyList<string> Configure(AdmissionLimits limits, DateTimeOffset now)
    {
        Limits = limits;
        return Scan(now);
    }

    /// <summary>
    /// A run of <paramref name="agent"/> on <paramref name="provider"/> (null: a plain command) wants to start.
    /// <paramref name="opened"/>: other waiting runs that fit now (see <see cref="Scan"/>).
    /// </summary>
    public AdmissionDecision Admit(string agent, string? provider, bool exempt, DateTimeOffset now, out IReadOnlyList<string> opened)
    {
        opened = Scan(now);
        if (_running.TryGetValue(agent, out var reserved) && reserved.Reserved)
        {
            if (reserved.Provider != provider)
            {
                CountRequest(provider, now); // routed elsewhere since its place was reserved
            }

            _running[agent] = new Slot(provider, exempt, false);
            return AdmissionDecision.Go;
        }

        var index = _queue.FindIndex(t => t.Agent == agent);
        var block = Blocked(provider, exempt, now, index < 0 ? _queue : _queue.Take(index));
        if (block is null)
        {
            if (index >= 0)
            {
                _queue.RemoveAt(index);
            }

            _running[agent] = new Slot(provider, exempt, false);
            CountRequest(provider, now);
            return AdmissionDecision.Go;
        }

        if (index < 0)
        {
            _queue.Add(new Ticket(agent, provider, exempt, now, block));
            index = _queue.Count - 1;
            var key = (block.Provider ?? provider ?? NoProvider, block.Limit);
            _throttled[key] = _throttled.GetValueOrDefault(key) + 1;
        }
        else
        {
            _queue[index] = _queue[index] with { Provider = provider, Why = block };
        }

        return new AdmissionDecision.Queued(block.Reason, block.Limit, block.Provider, index + 1, block.Until);
    }

    /// <summary>The agent's run is over (or never started): its place goes to the waiting runs that fit now (returned).</summary>
    public IReadOnlyList<string> Release(string agent, DateTimeOffset now)
    {
        _running.Remove(agent);
        return Scan(now);
    }

    /// <summary>The agent no longer waits (stopped, removed): its ticket, or its unused reservation, goes.</summary>
    public IReadOnlyList<string> Cancel(string agent, DateTimeOffset now)
    {
        _queue.RemoveAll(t => t.Agent == agent);
        if (_running.TryGetValue(agent, out var s) && s.Reserved)
        {
            _running.Remove(agent);
        }

        return Scan(now);
    }

    /// <summary>Tokens a run reported (<c>AgentUsage</c>); <paramref name="provider"/> null: the provider of the agent's run.</summary>
    public void Used(string agent, string? provider, long tokens, DateTimeOffset now)
    {
        provider ??= _running.GetValueOrDefault(agent)?.Provider;
        if (provider is not null)
        {
            Window(_tokens, provider).Add(now, tokens);
        }
    }

    /// <summary>Whether the agent holds a place (running, or reserved for it).</summary>
    public bool Holds(string agent) => _running.ContainsKey(agent);

    /// <summary>
    /// In queue order, reserves a place for each waiting run that fits now and returns their agents (the first
    /// blocked run of a limit holds back the later ones of that limit).
    /// </summary>
    public IReadOnlyList<string> Scan(DateTimeOffset now)
    {
        if (_queue.Count == 0)
        {
            return [];
        }

        var opened = new List<string>();
        var still = new List<Ticket>(_queue.Count);
        foreach (var t in _queue)
        {
            if (Blocked(t.Provider, t.Exempt, now, still) is { } block)
            {
                still.Add(t with { Why = block });
                continue;
            }

            _running[t.Agent] = new Slot(t.Provider, t.Exempt, true);
            CountRequest(t.Provider, now);
            opened.Add(t.Agent);
        }

        _queue = still;
        return opened;
    }

    /// <summary>When a waiting run's per-minute window has room again (the owner scans then); null: nothing waits on time.</summary>
    public DateTimeOffset? NextWake() => _queue.Select(t => t.Why.Until).Where(u => u is not null).Min();

    public AdmissionReport Report(DateTimeOffset now)
    {
        // "none": runs without a provider (plain commands), so every series exists from the start
        var providers = Limits.Providers.Keys
            .Concat(_running.Values.Select(s => s.Provider).OfType<string>())
            .Concat(_queue.Select(t => t.Provider).OfType<string>())
            .Append(NoProvider)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(p =>
            {
                var l = Limits.Of(p);
                return new ProviderAdmission(
                    p,
                    _running.Values.Count(s => (s.Provider ?? NoProvider) == p),
                    l.MaxConcurrent,
                    _queue.Count(t => (t.Provider ?? NoProvider) == p),
                    _requests.TryGetValue(p, out var r) ? r.Total(now) : 0,
                    l.RequestsPerMinute,
                    _tokens.TryGetValue(p, out var k) ? k.Total(now) : 0,
                    l.TokensPerMinute,
                    Enum.GetValues<AdmissionLimit>().ToDictionary(Name, x => _throttled.GetValueOrDefault((p, x)), StringComparer.Ordinal));
            })
            .ToList();
        var queue = _queue.Select((t, i) => new QueuedRun(t.Agent, t.Provider, i + 1, t.Why.Reason, Name(t.Why.Limit), t.Since, t.Why.Until)).ToList();
        return new AdmissionReport(
            _running.Values.Count(s => !s.Exempt),
            _running.Values.Count(s => s.Exempt),
            Limits.MaxConcurrentRuns,
            _queue.Count,
            queue,
            providers);
    }

    /// <summary>A limit's fleet.yaml name (metrics labels, reports).</summary>
    public static string Name(AdmissionLimit limit) => limit switch
    {
        AdmissionLimit.MaxConcurrentRuns => "max_concurrent_runs",
        AdmissionLimit.MaxConcurrent => "max_concurrent",
        AdmissionLimit.RequestsPerMinute => "requests_per_minute",
        _ => "tokens_per_minute",
    };

    /// <summary>The first limit a run would exceed now, counting the waiting runs ahead of it; null: it fits.</summary>
    private Block? Blocked(string? provider, bool exempt, DateTimeOffset now, IEnumerable<Ticket> ahead)
    {
        if (exempt)
        {
            return null;
        }

        if (Limits.MaxConcurrentRuns is { } cap)
        {
            var running = _running.Values.Count(s => !s.Exempt);
            if (running >= cap)
            {
                return new Block(AdmissionLimit.MaxConcurrentRuns, null, $"max_concurrent_runs {cap} reached ({running} running)", null);
            }
        }

        var limits = Limits.Of(provider);
        if (provider is not null && limits.MaxConcurrent is { } most)
        {
            var on = _running.Values.Count(s => s.Provider == provider);
            if (on >= most)
            {
                return new Block(AdmissionLimit.MaxConcurrent, provider, $"provider {provider}: max_concurrent {most} reached ({on} running)", null);
            }
        }

        if (provider is not null && limits.RequestsPerMinute is { } rpm && Window(_requests, provider).BelowAt(rpm, now) is { } roomAt)
        {
            return new Block(AdmissionLimit.RequestsPerMinute, provider, $"provider {provider}: requests_per_minute {rpm} reached (room at {roomAt:HH:mm:ss} UTC)", roomAt);
        }

        if (provider is not null && limits.TokensPerMinute is { } tpm && Window(_tokens, provider).BelowAt(tpm, now) is { } tokensAt)
        {
            return new Block(AdmissionLimit.TokensPerMinute, provider, $"provider {provider}: tokens_per_minute {tpm} reached (room at {tokensAt:HH:mm:ss} UTC)", tokensAt);
        }

        // first come, first served: a run waiting on a limit this one needs too goes first
        foreach (var t in ahead)
        {
            if (t.Why.Limit == AdmissionLimit.MaxConcurrentRuns)
            {
                return t.Why with { Reason = $"queued behind {t.Agent}: {t.Why.Reason}" };
            }

            if (t.Why.Provider is { } p && p == provider)
            {
                return t.Why with { Reason = $"queued behind {t.Agent}: {t.Why.Reason}" };
            }
        }

        return null;
    }

    private void CountRequest(string? provider, DateTimeOffset now)
    {
        if (provider is not null)
        {
            Window(_requests, provider).Add(now, 1);
        }
    }

    private static SlidingWindow Window(Dictionary<string, SlidingWindow> windows, string provider)
    {
        if (!windows.TryGetValue(provider, out var w))
        {
            windows[provider] = w = new SlidingWindow(Minute);
        }

        return w;
    }

    /// <param name="Reserved">A place the gate reserved for a waiting run its owner has not started yet.</param>
    private sealed record Slot(string? Provider, bool Exempt, bool Reserved);

    private sealed record Block(AdmissionLimit Limit, string? Provider, string Reason, DateTimeOffset? Until);

    private sealed record Ticket(string Agent, string? Provider, bool Exempt, DateTimeOffset Since, Block Why);
}
