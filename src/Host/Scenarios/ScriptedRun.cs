using System.Collections.Concurrent;
using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Topics;

namespace DarkFactory.Host.Scenarios;

/// <summary>
/// The fake runs of a scenario sandbox, behind the layers' process seam (<c>LayerServices.RunProps</c>): each
/// run of an agent takes the next behaviour the scenario scripted for it (the last one repeats; none: runs
/// 30 s and exits 0). The runner ends an agent's live run on an injected crash or exit.
/// </summary>
public sealed class ScriptedRuns(Scenario scenario, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, int> _started = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IActorRef> _live = new(StringComparer.Ordinal);
    private int _pid = 20_000;

    public TimeProvider Clock => clock;

    public Func<AgentRun, Props> Props => run => Akka.Actor.Props.Create(() => new ScriptedRun(run, this, Next(run.Agent)));

    /// <summary>The agent's run that is going now, if any (an agent's name also finds a run of its project instance, agent@project).</summary>
    public IActorRef? Live(string agent) =>
        _live.GetValueOrDefault(agent) ?? _live.Where(l => AgentInstance.BaseOf(l.Key) == agent).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Value).FirstOrDefault();

    internal int NextPid() => Interlocked.Increment(ref _pid);

    /// <summary>The host went down (<c>daemon_restart</c>): every run going died with it; each agent's next run is still its next behaviour.</summary>
    public void HostDown() => _live.Clear();

    /// <summary>
    /// The node that runs these agents died (<c>lose_node</c>): their live runs are killed (SIGKILL, no grace: what the
    /// node's lifeline guard does) when their layer stops them.
    /// </summary>
    public void NodeLost(IEnumerable<string> agents)
    {
        foreach (var agent in agents)
        {
            _live.GetValueOrDefault(agent)?.Tell(ScriptedRun.HostGone.Instance);
        }
    }

    internal void Started(string agent, IActorRef run) => _live[agent] = run;

    internal void Gone(string agent, IActorRef run) => _live.TryRemove(new KeyValuePair<string, IActorRef>(agent, run));

    /// <summary>The agent's next behaviour; a project's instance of an agent (agent@project) takes the agent's, in the same turn.</summary>
    private RunBehaviour Next(string agent)
    {
        var name = scenario.Agents.ContainsKey(agent) ? agent : AgentInstance.BaseOf(agent);
        var n = _started.AddOrUpdate(name, 1, (_, c) => c + 1) - 1;
        return scenario.Agents.TryGetValue(name, out var runs) && runs.Count > 0 ? runs[Math.Min(n, runs.Count - 1)] : RunBehaviour.Default;
    }
}

/// <summary>
/// One fake run: speaks the ProcessActor's protocol to its layer (<see cref="RunStarted"/>, <see cref="RunEnded"/>,
/// <see cref="AgentCrashedException"/>) and publishes what a real run's capture path publishes (output through the
/// agent's classifier and CLI adapter, usage, limits), on the sandbox's virtual time.
/// </summary>
public sealed class ScriptedRun : ReceiveActor, IWithTimers
{
    private const string EndTimer = "end";
    private const string KillTimer = "kill";
    private const string MaxRuntimeTimer = "max-runtime";
    private const string OutputTimer = "output";
    private const string ResultTimer = "after-result";
    private readonly AgentRun _run;
    private readonly ScriptedRuns _runs;
    private readonly RunBehaviour _behaviour;
    private readonly IFleetTopics _topics;
    private string? _stopReason;
    private bool _timedOut;
    private bool _done;
    private bool _hostGone;
    private bool _resultSeen;
    private bool? _endedAfterResult;
    private long _seq;
    private int _round;

    public ScriptedRun(AgentRun run, ScriptedRuns runs, RunBehaviour behaviour)
    {
        _run = run;
        _runs = runs;
        _behaviour = behaviour;
        _topics = FleetTopics.For(Context.System);
        Receive<StopRun>(stop => Stop(stop.Reason, timedOut: false));
        Receive<MaxRuntime>(_ => Stop($"max runtime {_run.MaxRuntime} exceeded", timedOut: true));
        Receive<End>(end => EndBy(end.Code, end.Signal));
        Receive<Kill>(_ => Ended(new ExitInfo(137, 9, Now)));
        Receive<HostGone>(_ => _hostGone = true);
        Receive<ResultLingered>(_ => AfterItsResult());
        Receive<Again>(_ => PrintAgain());
        Receive<Begin>(_ =>
        {
            Emit();
            if (_behaviour.OutputEvery is { } every)
            {
                Timers.StartPeriodicTimer(OutputTimer, Again.Instance, every);
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private DateTimeOffset Now => _runs.Clock.GetUtcNow();

    protected override void PreStart()
    {
        _runs.Started(_run.Agent, Self);
        Context.Parent.Tell(new RunStarted(_run.Agent, _run.RunId, _runs.NextPid(), Now));

        // a CLI prints once it runs: its first output comes after the layer recorded the start (at the same virtual
        // instant), as a real run's does, not before it
        Timers.StartSingleTimer(OutputTimer, Begin.Instance, TimeSpan.Zero);
        if (_behaviour.Run is { } runFor)
        {
            Timers.StartSingleTimer(EndTimer, new End(_behaviour.Signal is { } s ? 128 + s : _behaviour.Exit, _behaviour.Signal), runFor);
        }

        if (_run.MaxRuntime is { } max)
        {
            Timers.StartSingleTimer(MaxRuntimeTimer, MaxRuntime.Instance, max);
        }
    }

    protected override void PostStop() => _runs.Gone(_run.Agent, Self);

    private void Emit()
    {
        var typed = new List<IDarkFactoryMessage>();
        Print(typed);

        if (_behaviour.Usage is { } u)
        {
            typed.Add(new AgentUsage(_run.Agent, _run.RunId, _run.Provider, null, u.InputTokens, u.OutputTokens, Now, 0, u.CostUsd, _run.TaskId, _run.ProjectId));
        }

        if (_behaviour.Limited is { AtExit: false } l)
        {
            typed.Add(Limit(l));
        }

        foreach (var e in typed)
        {
            _topics.Publish(e);
        }
    }

    private ProviderLimited Limit(LimitBehaviour l) =>
        new(_run.Provider, _run.Agent, _run.RunId, Now, l.ResetIn is { } r ? Now + r : null, l.Reason, LimitSource.Structured);

    /// <summary>The run's output lines, classified and read by the CLI's adapter as a real run's: usage and limits go into <paramref name="typed"/>.</summary>
    private void Print(List<IDarkFactoryMessage> typed)
    {
        if (_done || _behaviour.Output is not { Count: > 0 } output)
        {
            return;
        }

        // printed as written every round (a heartbeat, a loop, the same error); "{n}" in a line is the round, from 1
        var round = (_round + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var lines = output.Select(line => line.Replace("{n}", round, StringComparison.Ordinal)).Select(text => new OutputLine(OutputStream.Stdout, text, _run.Classify(OutputStream.Stdout, text))).ToList();
        _topics.Publish(new AgentOutput(_run.Agent, _run.RunId, _seq, Now, lines, _run.TaskId, _run.ProjectId));
        _seq += lines.Count;
        _run.Events?.Collect(lines, Now, typed);
        if (!_resultSeen && _run.Events?.Success is not null && _run.ResultGrace is { } grace)
        {
            _resultSeen = true;
            Timers.StartSingleTimer(ResultTimer, ResultLingered.Instance, grace);
        }
    }

    /// <summary>Still going <see cref="AgentRun.ResultGrace"/> after its final result: stopped, and ends as the result said (<see cref="AfterResult"/>).</summary>
    private void AfterItsResult()
    {
        if (_done || _stopReason is not null || _run.Events?.Success is not { } success)
        {
            return;
        }

        _endedAfterResult = success;
        Timers.Cancel(MaxRuntimeTimer);
        if (_behaviour.IgnoreSigterm)
        {
            Timers.StartSingleTimer(KillTimer, Kill.Instance, _run.Grace);
            return;
        }

        Ended(new ExitInfo(143, 15, Now));
    }

    /// <summary>The process is gone after a stop or a kill: ended as asked, or as its result said when it lingered after it.</summary>
    private void Ended(ExitInfo exit)
    {
        if (_endedAfterResult is { } success)
        {
            Finish(AfterResult.Exit(success, _run.ResultGrace!.Value, exit), crashed: !success);
            return;
        }

        Finish(exit);
    }

    private void PrintAgain()
    {
        var typed = new List<IDarkFactoryMessage>();
        _round++;
        Print(typed);
        foreach (var e in typed)
        {
            _topics.Publish(e);
        }
    }

    private void Stop(string reason, bool timedOut)
    {
        if (_done || _stopReason is not null || (timedOut && _endedAfterResult is not null))
        {
            return;
        }

        _stopReason = reason;
        _timedOut = timedOut;
        if (_hostGone)
        {
            Finish(new ExitInfo(137, 9, Now)); // its node died: the lifeline's SIGKILL, whatever it does with a SIGTERM
            return;
        }

        if (_behaviour.IgnoreSigterm)
        {
            Timers.StartSingleTimer(KillTimer, Kill.Instance, _run.Grace);
            return;
        }

        Finish(new ExitInfo(143, 15, Now));
    }

    /// <summary>The run ends by itself (or the scenario ends it): code 0 normally, else a crash.</summary>
    private void EndBy(int code, int? signal)
    {
        var exit = new ExitInfo(code, signal, Now);
        if (_stopReason is null && signal is null)
        {
            var typed = new List<IDarkFactoryMessage>();
            if (_behaviour.Limited is { AtExit: true } l)
            {
                typed.Add(Limit(l));
            }

            _run.Events?.Exited(code, Now, typed);
            foreach (var e in typed)
            {
                _topics.Publish(e);
            }
        }

        if (_stopReason is not null || (code == 0 && signal is null))
        {
            Finish(exit);
            return;
        }

        if (signal is null && (_run.Events?.ReportedLimit == true || _behaviour.Limited is not null))
        {
            Finish(exit, crashed: true, limited: true); // as the ProcessActor reports it: a crash that reported its provider's limit
            return;
        }

        _done = true;
        throw new AgentCrashedException(_run.Agent, _run.RunId, exit);
    }

    private void Finish(ExitInfo exit, bool crashed = false, bool limited = false)
    {
        if (_done)
        {
            return;
        }

        _done = true;
        Context.Parent.Tell(new RunEnded(_run.Agent, _run.RunId, exit, _stopReason, _timedOut, Crashed: crashed, Limited: limited));
        Context.Stop(Self);
    }

    /// <summary>Ends the run with this exit code (and signal): the runner's injected crash or exit.</summary>
    public sealed record End(int Code, int? Signal = null);

    /// <summary>Its node died (<see cref="ScriptedRuns.NodeLost"/>): the stop that follows is a SIGKILL.</summary>
    public sealed record HostGone : Signal<HostGone>;

    private sealed record Kill : Signal<Kill>;

    private sealed record ResultLingered : Signal<ResultLingered>;

    private sealed record Begin : Signal<Begin>;

    private sealed record Again : Signal<Again>;

    private sealed record MaxRuntime : Signal<MaxRuntime>;
}
