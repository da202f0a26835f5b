namespace DarkFactory.Actors.Routing.Admission;

/// <summary>Told to a layer: the waiting run of <paramref name="Agent"/> has a place now; start it (local, never crosses a node).</summary>
public sealed record GateOpened(string Agent);

/// <summary>
/// The node's admission gate (<see cref="RunAdmission"/> behind a lock): every layer asks it before a run
/// starts and tells it when the run is over; it remembers which layer waits for which run and tells that
/// layer <see cref="GateOpened"/> when the run may start. Its <see cref="RunGateKeeper"/> feeds it the runs'
/// token usage and wakes it when a per-minute window slides. Thread-safe (layers call it from their
/// mailboxes, the API reads its report); what it tells actors is told after the lock is released.
/// In a cluster each node has its own gate: <c>max_concurrent_runs</c> protects each machine, and a
/// provider's limits are counted per node.
/// </summary>
public sealed class RunGate(TimeProvider clock)
{
    private readonly Lock _lock = new();
    private readonly RunAdmission _admission = new();
    private readonly Dictionary<string, IActorRef> _owners = new(StringComparer.Ordinal);
    private IActorRef _keeper = ActorRefs.Nobody;
    private DateTimeOffset? _wake;

    private DateTimeOffset Now => clock.GetUtcNow();

    /// <summary>The keeper that wakes the gate when a window slides (<see cref="RunGateKeeper.WakeAt"/>).</summary>
    public void Attach(IActorRef keeper)
    {
        lock (_lock)
        {
            _keeper = keeper;
            _wake = null;
        }

        Changed([]);
    }

    /// <summary>A fleet revision's limits (before its layers reconcile).</summary>
    public void Configure(FleetSpec fleet)
    {
        IReadOnlyList<string> opened;
        lock (_lock)
        {
            opened = _admission.Configure(AdmissionLimits.From(fleet), Now);
        }

        Changed(opened);
    }

    /// <summary>A run of <paramref name="agent"/> (of the layer <paramref name="owner"/>) wants to start.</summary>
    public AdmissionDecision Admit(string agent, string? provider, bool exempt, IActorRef owner)
    {
        AdmissionDecision admission;
        IReadOnlyList<string> opened;
        lock (_lock)
        {
            admission = _admission.Admit(agent, provider, exempt, Now, out opened);
            _owners[agent] = owner;
        }

        Changed(opened);
        return admission;
    }

    /// <summary>The agent's run is over.</summary>
    public void Release(string agent) => Drop(agent, cancel: false);

    /// <summary>The agent no longer waits for a place (stopped, removed), or gives back one reserved for it.</summary>
    public void Cancel(string agent) => Drop(agent, cancel: true);

    /// <summary>A layer stopped: its runs and waiting runs go.</summary>
    public void Forget(IActorRef owner)
    {
        var opened = new List<string>();
        lock (_lock)
        {
            foreach (var agent in _owners.Where(o => o.Value.Equals(owner)).Select(o => o.Key).ToList())
            {
                _owners.Remove(agent);
                opened.AddRange(_admission.Cancel(agent, Now));
                opened.AddRange(_admission.Release(agent, Now));
            }
        }

        Changed(opened);
    }

    /// <summary>Tokens a run reported.</summary>
    public void Used(AgentUsage usage)
    {
        lock (_lock)
        {
            _admission.Used(usage.Agent, usage.Provider, usage.InputTokens + usage.OutputTokens, Now);
        }
    }

    /// <summary>The keeper's timer: windows slid, waiting runs that fit now go.</summary>
    public void Wake()
    {
        IReadOnlyList<string> opened;
        lock (_lock)
        {
            _wake = null;
            opened = _admission.Scan(Now);
        }

        Changed(opened);
    }

    public AdmissionReport Report()
    {
        lock (_lock)
        {
            return _admission.Report(Now);
        }
    }

    private void Drop(string agent, bool cancel)
    {
        IReadOnlyList<string> opened;
        lock (_lock)
        {
            opened = cancel ? _admission.Cancel(agent, Now) : _admission.Release(agent, Now);
            if (!_admission.Holds(agent))
            {
                _owners.Remove(agent);
            }
        }

        Changed(opened);
    }

    /// <summary>Tells the owners of the runs that may start now, and the keeper when to wake next.</summary>
    private void Changed(IReadOnlyList<string> opened)
    {
        var tell = new List<(IActorRef Owner, string Agent)>();
        IActorRef keeper;
        DateTimeOffset? wake = null;
        lock (_lock)
        {
            foreach (var agent in opened)
            {
                if (_owners.TryGetValue(agent, out var owner))
                {
                    tell.Add((owner, agent));
                }
            }

            keeper = _keeper;
            var next = _admission.NextWake();
            if (next != _wake)
            {
                _wake = next;
                wake = next;
            }
        }

        foreach (var (owner, agent) in tell)
        {
            owner.Tell(new GateOpened(agent));
        }

        if (wake is { } at)
        {
            keeper.Tell(new RunGateKeeper.WakeAt(at));
        }
    }
}
