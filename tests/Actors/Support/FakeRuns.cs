using System.Collections.Concurrent;
using Akka.Actor;
using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Supervision;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>
/// Runs without an OS process, for specs of the layer's and the fleet's rules (and scenario runs): give
/// <see cref="Props"/> to <see cref="LayerServices.RunProps"/>. A fake run speaks the ProcessActor's
/// protocol: it tells its parent <see cref="RunStarted"/> at once, and ends when the test says
/// (<see cref="Exit"/>: code 0 is a normal end, anything else a crash) or when its layer stops it (at once,
/// or, for an agent in <see cref="HoldStops"/>, only at the next <see cref="Exit"/>, like a CLI that takes
/// its grace period). Each
/// start and end is reported to <see cref="Observer"/> (a probe), so a spec waits on messages, never on time.
/// An agent in <see cref="HoldStarts"/> stays starting (no <see cref="RunStarted"/>) until <see cref="Start"/>; a
/// standby run (<see cref="AgentRun.Standby"/>) is reported made (<see cref="FakeStandbyMade"/>) and starts when
/// its layer releases it, as the ProcessActor's does.
/// </summary>
public sealed class FakeRuns(TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, IActorRef> _live = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _holding = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _holdingStarts = new(StringComparer.Ordinal);
    private int _pid = 10_000;

    /// <summary>
    /// A crash is reported as a failure of the run's actor (<see cref="AgentCrashedException"/>), the path of a
    /// run actor that fails; false (the default): as the ProcessActor reports it, <see cref="RunEnded"/> with
    /// <see cref="RunEnded.Crashed"/> and a stop.
    /// </summary>
    public bool CrashByException { get; init; }

    /// <summary>Told <see cref="FakeRunStarted"/> and <see cref="FakeRunEnded"/> for every run.</summary>
    public IActorRef? Observer { get; init; }

    public Func<AgentRun, Props> Props => run => Akka.Actor.Props.Create(() => new FakeRun(run, this));

    public TimeProvider Clock => clock;

    /// <summary>The agent's run that is going now.</summary>
    public IActorRef Live(string agent) => _live.TryGetValue(agent, out var run) ? run : throw new InvalidOperationException($"no fake run of '{agent}' is going");

    /// <summary>Ends the agent's current run: code 0 exits normally, anything else crashes it (a run asked to stop ends stopped).</summary>
    public void Exit(string agent, int code) => Live(agent).Tell(new FakeRun.End(code));

    /// <summary>The agent's runs, asked to stop, keep going until the next <see cref="Exit"/>.</summary>
    public void HoldStops(string agent) => _holding[agent] = true;

    internal bool Holds(string agent) => _holding.ContainsKey(agent);

    /// <summary>The agent's runs stay starting (launched, not reported alive) until <see cref="Start"/>.</summary>
    public void HoldStarts(string agent) => _holdingStarts[agent] = true;

    /// <summary>The agent's held run reports its process alive (and later runs start at once).</summary>
    public void Start(string agent)
    {
        _holdingStarts.TryRemove(agent, out _);
        Live(agent).Tell(FakeRun.Begin.Instance);
    }

    internal bool HoldsStart(string agent) => _holdingStarts.ContainsKey(agent);

    internal int NextPid() => Interlocked.Increment(ref _pid);

    internal void Started(string agent, IActorRef run) => _live[agent] = run;

    internal void Gone(string agent, IActorRef run) => _live.TryRemove(new KeyValuePair<string, IActorRef>(agent, run));
}

/// <summary>A fake run began: the run as its layer launched it (plan, ids, task).</summary>
public sealed record FakeRunStarted(string Agent, string RunId, AgentRun Run) : IWithAgent;

/// <summary>A fake standby run was made: it waits for its layer's release.</summary>
public sealed record FakeStandbyMade(string Agent, string RunId) : IWithAgent;

/// <summary>A fake run ended: by itself (<paramref name="StopReason"/> null) or stopped by its layer.</summary>
public sealed record FakeRunEnded(string Agent, string RunId, ExitInfo Exit, string? StopReason) : IWithAgent;

/// <summary>One fake run (see <see cref="FakeRuns"/>).</summary>
public sealed class FakeRun : ReceiveActor
{
    private readonly AgentRun _run;
    private readonly FakeRuns _runs;
    private string? _stopReason;
    private bool _begun;

    public FakeRun(AgentRun run, FakeRuns runs)
    {
        _run = run;
        _runs = runs;
        Receive<Begin>(_ => Started());
        Receive<ReleaseStandby>(_ => Started());
        Receive<StopRun>(stop =>
        {
            _stopReason ??= stop.Reason;
            if (!_runs.Holds(_run.Agent))
            {
                Finish(new ExitInfo(143, 15, _runs.Clock.GetUtcNow()), _stopReason);
            }
        });
        Receive<End>(end =>
        {
            var exit = new ExitInfo(end.Code, null, _runs.Clock.GetUtcNow());
            if (end.Code == 0 || _stopReason is not null)
            {
                Finish(exit, _stopReason);
                return;
            }

            if (!_runs.CrashByException)
            {
                Finish(exit, null, crashed: true);
                return;
            }

            _runs.Observer?.Tell(new FakeRunEnded(_run.Agent, _run.RunId, exit, null));
            throw new AgentCrashedException(_run.Agent, _run.RunId, exit);
        });
    }

    protected override void PreStart()
    {
        if (_run.Standby)
        {
            _runs.Observer?.Tell(new FakeStandbyMade(_run.Agent, _run.RunId));
            return;
        }

        _runs.Started(_run.Agent, Self);
        if (!_runs.HoldsStart(_run.Agent))
        {
            Started();
        }
    }

    private void Started()
    {
        if (_begun)
        {
            return;
        }

        _begun = true;
        _runs.Started(_run.Agent, Self);
        Context.Parent.Tell(new RunStarted(_run.Agent, _run.RunId, _runs.NextPid(), _runs.Clock.GetUtcNow()));
        _runs.Observer?.Tell(new FakeRunStarted(_run.Agent, _run.RunId, _run));
    }

    protected override void PostStop() => _runs.Gone(_run.Agent, Self);

    private void Finish(ExitInfo exit, string? stopReason, bool crashed = false)
    {
        Context.Parent.Tell(new RunEnded(_run.Agent, _run.RunId, exit, stopReason, Crashed: crashed));
        _runs.Observer?.Tell(new FakeRunEnded(_run.Agent, _run.RunId, exit, stopReason));
        Context.Stop(Self);
    }

    /// <summary>Ends the run with this exit code (0: normally; else a crash).</summary>
    public sealed record End(int Code);

    /// <summary>A held run reports its process alive (<see cref="FakeRuns.Start"/>).</summary>
    public sealed record Begin : Signal<Begin>;
}

/// <summary>
/// Hands each message about an agent (<see cref="IWithAgent"/>) to that agent's probe, so a spec waits
/// for one agent's events in their order without dropping another's (runs of different agents interleave).
/// </summary>
public sealed class ByAgent : ReceiveActor
{
    public ByAgent(IReadOnlyDictionary<string, IActorRef> probes) =>
        Receive<IWithAgent>(m =>
        {
            if (probes.TryGetValue(m.Agent, out var probe))
            {
                probe.Forward(m);
            }
        });
}

/// <summary>A parent that reports the exceptions its child escalates (a layer whose restart intensity is exceeded).</summary>
public sealed class EscalationParent : ReceiveActor
{
    private readonly IActorRef _probe;

    public EscalationParent(Props child, IActorRef probe)
    {
        _probe = probe;
        var layer = Context.ActorOf(child, "layer");
        ReceiveAny(m => layer.Forward(m));
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _probe.Tell(e);
        return Directive.Stop;
    });
}
