using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Control;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Control;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Control;

public sealed class EventBridgeSpec : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private static readonly DateTimeOffset At = new(2026, 11, 22, 7, 30, 0, TimeSpan.Zero);

    public EventBridgeSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
    }

    private static async Task<ServerEvent> Next(EventClient client, Func<ServerEvent, bool>? where = null, List<string>? seen = null)
    {
        using var cts = new CancellationTokenSource(Wait);
        while (true)
        {
            Assert.True(await client.WaitToReadAsync(cts.Token), "the client was completed");
            if (!client.TryRead(out var e))
            {
                continue;
            }

            seen?.Add(e.Name);
            if (where is null || where(e))
            {
                return e;
            }
        }
    }

    private static AgentStatus Status(string name, AgentState state, int restarts = 0) =>
        new() { Agent = name, Layer = LayerName.Safety, State = state, Restarts = restarts };

    [Fact]
    public async Task A_settled_fleet_is_not_asked_again_until_something_happens_but_a_starting_agent_is()
    {
        var factory = CreateTestProbe();
        var bridge = Sys.ActorOf(EventBridgeActor.Props(factory.Ref, new EventBridgeSettings { StatusRefresh = TimeSpan.FromMilliseconds(100) }));
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running), Status("b", AgentState.Stopped)]));
        await factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500)); // five refresh periods: no query

        // a lifecycle event asks at once; a start in progress is asked for again until it settles
        Sys.EventStream.Publish(new AgentLifecycle("b", LifecycleKind.Started, At, "r1"));
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running), Status("b", AgentState.Starting)]));
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running), Status("b", AgentState.Running)]));
        await factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
        _ = bridge;
    }

    [Theory]
    [InlineData(AgentState.Starting, true)]
    [InlineData(AgentState.Stopping, true)]
    [InlineData(AgentState.Backoff, true)]
    [InlineData(AgentState.Queued, true)]
    [InlineData(AgentState.Unknown, true)]
    [InlineData(AgentState.Running, false)]
    [InlineData(AgentState.Stopped, false)]
    [InlineData(AgentState.Quarantined, false)]
    [InlineData(AgentState.Completed, false)]
    [InlineData(AgentState.Unavailable, false)]
    public void States_left_without_a_lifecycle_event_are_the_ones_refreshed(AgentState state, bool silently) =>
        Assert.Equal(silently, EventBridgeActor.ChangesSilently(state));

    [Fact]
    public async Task Every_published_message_reaches_a_client_named_by_its_manifest()
    {
        // arrange: a factory that knows one agent
        var factory = CreateTestProbe();
        var bridge = Sys.ActorOf(EventBridgeActor.Props(factory.Ref));
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running)]));
        var client = new EventClient();
        bridge.Tell(new EventBridgeActor.Subscribe(client));
        var first = await Next(client, e => e.Name == "agent-status"); // the fleet, first or once known
        Assert.Contains("\"name\":\"a\"", first.Data);

        // act
        Sys.EventStream.Publish(new ProviderLimited("anthropic", "a", "r1", At, null, "429", LimitSource.Structured));

        // assert
        var e = await Next(client, x => x.Name == "provider-limited");
        Assert.Equal("anthropic", JsonDocument.Parse(e.Data).RootElement.GetProperty("provider").GetString());
    }

    [Fact]
    public async Task On_a_cluster_node_lifecycle_events_carry_their_node_and_another_nodes_reach_clients_without_touching_the_status()
    {
        var factory = CreateTestProbe();
        var bridge = Sys.ActorOf(EventBridgeActor.Props(factory.Ref, new EventBridgeSettings { Node = "n1" }));
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running)]));
        var client = new EventClient();
        bridge.Tell(new EventBridgeActor.Subscribe(client));
        await factory.ExpectMsgAsync<GetAgents>(Wait); // a new client: the status again
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running)]));

        // another node's agent, as its relay hands it over: named agent-lifecycle like this node's, with its node
        bridge.Tell(new Messages.Cluster.NodeLifecycle("n2", new AgentLifecycle("far", LifecycleKind.Stopped, At, "r9", By: Requester.Operator)));
        var remote = JsonDocument.Parse((await Next(client, e => e.Name == "agent-lifecycle")).Data).RootElement;
        Assert.Equal("far", remote.GetProperty("agent").GetString());
        Assert.Equal("n2", remote.GetProperty("node").GetString());
        Assert.Equal("stopped", remote.GetProperty("kind").GetString());
        Assert.Equal("operator", remote.GetProperty("by").GetString());
        await factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300)); // no status query for an agent this node does not run

        Sys.EventStream.Publish(new AgentLifecycle("a", LifecycleKind.Started, At, "r1", Pid: 7));
        var local = JsonDocument.Parse((await Next(client, e => e.Name == "agent-lifecycle")).Data).RootElement;
        Assert.Equal("a", local.GetProperty("agent").GetString());
        Assert.Equal("n1", local.GetProperty("node").GetString());
        await factory.ExpectMsgAsync<GetAgents>(Wait);
    }

    [Fact]
    public async Task Output_only_for_clients_that_asked_and_lifecycle_turns_into_status_changes()
    {
        var factory = CreateTestProbe();
        var bridge = Sys.ActorOf(EventBridgeActor.Props(factory.Ref));
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running)]));
        var watcher = new EventClient(EventClient.DefaultMaxBytes, new HashSet<string> { "a" });
        var plain = new EventClient();
        bridge.Tell(new EventBridgeActor.Subscribe(watcher));
        bridge.Tell(new EventBridgeActor.Subscribe(plain));
        await Next(watcher, e => e.Name == "ready");
        await Next(plain, e => e.Name == "ready");
        var plainSaw = new List<string>();

        // output of a: only the watcher
        Sys.EventStream.Publish(new AgentOutput("a", "r1", 1, At, [new OutputLine(OutputStream.Stdout, "hello")]));
        var output = await Next(watcher, e => e.Name == "agent-output");
        Assert.Contains("hello", output.Data);

        // a crash: the bridge asks for the fleet and publishes what changed
        Sys.EventStream.Publish(new AgentLifecycle("a", LifecycleKind.Crashed, At, "r1", ExitCode: 1));
        await factory.FishForMessageAsync(m => m is GetAgents, Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Backoff, restarts: 1)]));
        var status = await Next(plain, e => e.Name == "agent-status" && e.Data.Contains("\"restarts\":1"), plainSaw);
        Assert.Contains("\"state\":\"backoff\"", status.Data);

        // an agent that is gone
        bridge.Tell(EventBridgeActor.RefreshStatus.Instance);
        await factory.FishForMessageAsync(m => m is GetAgents, Wait);
        factory.Reply(new AgentsSnapshot([]));
        var removed = await Next(plain, e => e.Name == "agent-removed", plainSaw);
        Assert.Contains("\"agent\":\"a\"", removed.Data);
        Assert.Contains("agent-lifecycle", plainSaw);
        Assert.DoesNotContain("agent-output", plainSaw);
    }

    [Fact]
    public async Task The_status_view_holds_a_change_before_any_client_sees_it_on_the_stream()
    {
        // arrange
        var factory = CreateTestProbe();
        var view = new FleetStatusView();
        var bridge = Sys.ActorOf(EventBridgeActor.Props(factory.Ref, view: view));
        Assert.Null(view.Current);
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running), Status("b", AgentState.Stopped)]));
        var client = new EventClient();
        bridge.Tell(new EventBridgeActor.Subscribe(client));
        await Next(client, e => e.Name == "agent-status" && e.Data.Contains("\"name\":\"b\"")); // before or after ready, as the snapshot came
        Assert.Equal(["a", "b"], view.Current!.Agents.Select(a => a.Agent));
        Assert.Null(view.Live); // the API asks the fleet until the fleet file is applied and in the view
        view.Serve();
        Assert.Same(view.Current, view.Live);

        // act: a crash, and the fleet's answer to the bridge's query
        Sys.EventStream.Publish(new AgentLifecycle("a", LifecycleKind.Crashed, At, "r1", ExitCode: 1));
        await factory.FishForMessageAsync(m => m is GetAgents, Wait);
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Running, restarts: 1), Status("b", AgentState.Stopped)]));
        await Next(client, e => e.Name == "agent-status" && e.Data.Contains("\"restarts\":1"));

        // assert: whoever saw the event reads it from the view, in the fleet's order, as the API's JSON
        Assert.Equal(1, view.Current!.Find("a")!.Restarts);
        Assert.Equal(["a", "b"], view.Current.Agents.Select(a => a.Agent));
        var json = JsonDocument.Parse(view.Current.Json).RootElement;
        Assert.Equal(JsonSerializer.Serialize(view.Current.Agents, DarkFactoryJson.Options), System.Text.Encoding.UTF8.GetString(view.Current.Json));
        Assert.Equal(1, json[0].GetProperty("restarts").GetInt32());
    }

    [Fact]
    public async Task AwaitStatus_is_answered_once_a_query_started_after_it_is_in_the_view()
    {
        // arrange: the bridge's first query is in flight
        var factory = CreateTestProbe();
        var view = new FleetStatusView();
        var bridge = Sys.ActorOf(EventBridgeActor.Props(factory.Ref, view: view));
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        var first = factory.LastSender;
        var caller = CreateTestProbe();

        // act: a caller changed the fleet and waits until the view shows it
        bridge.Tell(EventBridgeActor.AwaitStatus.Instance, caller.Ref);
        first.Tell(new AgentsSnapshot([Status("a", AgentState.Running)]));

        // assert: the answer to the older query is not enough
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        await caller.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        factory.Reply(new AgentsSnapshot([Status("a", AgentState.Stopping)]));
        Assert.True((await caller.ExpectMsgAsync<EventBridgeActor.StatusCurrent>(Wait)).Ok);
        Assert.Equal(AgentState.Stopping, view.Current!.Find("a")!.State);

        // a fleet that does not answer: the caller is answered anyway (not ok) when the query times out
        var quick = Sys.ActorOf(EventBridgeActor.Props(factory.Ref, new EventBridgeSettings { QueryTimeout = TimeSpan.FromMilliseconds(100) }));
        await factory.ExpectMsgAsync<GetAgents>(Wait);
        quick.Tell(EventBridgeActor.AwaitStatus.Instance, caller.Ref);
        Assert.False((await caller.ExpectMsgAsync<EventBridgeActor.StatusCurrent>(Wait)).Ok);
    }

    [Fact]
    public async Task Telemetry_counts_restarts_exits_lines_and_spend_and_traces_a_run()
    {
        // arrange
        using var telemetry = new FleetTelemetry();
        var measured = new List<(string Name, double Value, string Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter == GetMeter(telemetry))
            {
                l.EnableMeasurementEvents(i);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i.Name, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i.Name, v, tags));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i.Name, v, tags));
        listener.Start();
        var spans = new List<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == FleetTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(activities);
        Sys.ActorOf(TelemetryActor.Props(telemetry));

        void Add(string name, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var text = string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}"));
            lock (measured)
            {
                measured.Add((name, value, text));
            }
        }

        // act
        await AwaitAssertAsync(() =>
        {
            // the actor subscribes in PreStart; publish until it has
            Sys.EventStream.Publish(new AgentOutput("a", "r1", 1, At, [new OutputLine(OutputStream.Stdout, "x"), new OutputLine(OutputStream.Stdout, "y")]));
            lock (measured)
            {
                Assert.Contains(measured, m => m.Name == "df_agent_output_lines" && m.Value == 2);
            }
        }, Wait);
        Sys.EventStream.Publish(new RouteChosen("a", "r1", "claude", "anthropic", "sonnet", "keyword 'review' -> anthropic", At, "keyword"));
        Sys.EventStream.Publish(new AgentLifecycle("a", LifecycleKind.Started, At, "r1", 42));
        Sys.EventStream.Publish(new AgentLifecycle("a", LifecycleKind.Crashed, At.AddSeconds(3), "r1", ExitCode: 3));
        Sys.EventStream.Publish(new AgentLifecycle("a", LifecycleKind.Restarting, At.AddSeconds(3), "r1"));
        Sys.EventStream.Publish(new AgentUsage("a", "r1", "anthropic", "m", 100, 20, At, CostUsd: 0.5m));
        Sys.EventStream.Publish(new CostRecorded("a", "r1", "anthropic", 0.5m));
        Sys.EventStream.Publish(Status("a", AgentState.Backoff));

        // assert
        await AwaitAssertAsync(() =>
        {
            listener.RecordObservableInstruments();
            lock (measured)
            {
                Assert.Contains(measured, m => m.Name == "df_agent_restarts" && m.Tags == "agent=a");
                Assert.Contains(measured, m => m.Name == "df_agent_exits" && m.Tags.Contains("code=3") && m.Tags.Contains("kind=crashed"));
                Assert.Contains(measured, m => m.Name == "df_provider_spend_usd" && m.Value == 0.5 && m.Tags == "provider=anthropic");
                Assert.Single(measured, m => m.Name == "df_provider_spend_usd"); // from the ledger only, not also from usage
                Assert.Contains(measured, m => m.Name == "df_provider_tokens" && m.Value == 100 && m.Tags == "provider=anthropic,direction=input");
                Assert.Contains(measured, m => m.Name == "df_agents" && m.Value == 1 && m.Tags == "state=backoff");
                Assert.Contains(measured, m => m.Name == "df_routing_decisions" && m.Tags == "reason=keyword,provider=anthropic");
            }

            lock (spans)
            {
                var task = Assert.Single(spans, s => s.OperationName == "task");
                Assert.Equal("r1", task.GetTagItem("df.run_id"));
                Assert.Equal(TimeSpan.FromSeconds(3), task.Duration);
                Assert.Equal(ActivityStatusCode.Error, task.Status);
                foreach (var name in new[] { "route", "spawn", "run", "exit" })
                {
                    var child = Assert.Single(spans, s => s.OperationName == name);
                    Assert.Equal(task.TraceId, child.TraceId); // one trace: route -> spawn -> run -> exit
                    Assert.Equal(task.SpanId, child.ParentSpanId);
                }
            }
        }, Wait);
    }

    private static Meter GetMeter(FleetTelemetry telemetry) => telemetry.Restarts.Meter;

    /// <summary>Stands for the router's routing decision (read by manifest).</summary>
    [Manifest("route-chosen")]
    private sealed record RouteChosen(string Agent, string RunId, string Cli, string Provider, string Model, string Reason, DateTimeOffset At, string ReasonKind) : IDarkFactoryMessage;

    /// <summary>Stands for the router's ledger event (read by manifest, like the telemetry reads it).</summary>
    [Manifest("cost-recorded")]
    private sealed record CostRecorded(string Agent, string RunId, string Provider, decimal CostUsd) : IDarkFactoryMessage;
}
