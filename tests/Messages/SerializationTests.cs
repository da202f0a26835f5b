using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using DarkFactory.Actors.Serialization;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Scheduling;
using Xunit;

namespace DarkFactory.Messages.Tests;

/// <summary>Every message round-trips through the Dark Factory serializer, and every manifest is pinned.</summary>
public sealed class SerializationTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 7, 30, 0, TimeSpan.Zero);
    private readonly ActorSystem _system = ActorSystem.Create("serialization", ConfigurationFactory.ParseString(File.ReadAllText(Hocon())));

    /// <summary>One realistic sample of every message type; a new message without a sample fails <see cref="Every_manifest_has_a_sample"/>.</summary>
    public static readonly IReadOnlyList<IDarkFactoryMessage> Samples =
    [
        new FleetDiagnostic(DiagnosticSeverity.Error, "fleet.yaml", 12, 7, "agents[2].schedule", "bad cron expression"),
        new AgentOutput("repo-health", "ab12", 42, At, [new OutputLine(OutputStream.Stdout, "ok"), new OutputLine(OutputStream.Stderr, "error: x", OutputKind.Error)]),
        new ExitInfo(137, 9, At, "max runtime 00:30:00 exceeded"),
        new AgentStatus { Agent = "ci-watchdog", Layer = LayerName.Safety, State = AgentState.Running, Pid = 4242, RunId = "ab12", Restarts = 3, LastExit = new ExitInfo(1, null, At), StartedAt = At, Install = "npm install -g x" },
        new StartAgent("implementer", "add a test"),
        new StopAgent("implementer"),
        new RestartAgent("implementer"),
        CommandResult.Done("started", "ab12"),
        GetAgents.Instance,
        new AgentsSnapshot([new AgentStatus { Agent = "a", State = AgentState.Quarantined, Reason = "crash loop" }]),
        new GetHistory("a", 10),
        new AgentHistory("a", [new AgentLifecycle("a", LifecycleKind.Crashed, At, "ab12", null, 3, null, "boom")]),
        new ApplyFleet(SampleFleet()),
        new FleetApplied(3, ["a"], ["b"], ["c"], ["d"]),
        new AgentLifecycle("a", LifecycleKind.Started, At, "ab12", 4242),
        new SchedulerFired("repo-health", At, At.AddSeconds(42), FiringOutcome.Started, "ab12"),
        new SchedulerSnapshot([new SchedulerFired("a", At, At, FiringOutcome.Skipped, Detail: "the previous run is still going (overlap: skip)", CatchUp: true)]),
        new GetSchedule(5),
        new AgentSchedule("repo-health", "0 * * * *", "Europe/Berlin", [At, At.AddHours(1)], OverlapPolicy.Queue, CatchUpPolicy.All, TimeSpan.FromMinutes(2), 1, new SchedulerFired("repo-health", At, At, FiringOutcome.Queued)),
        new ScheduleSnapshot([new AgentSchedule("a", "*/5 * * * * *", "UTC", [At], OverlapPolicy.Skip, CatchUpPolicy.Once, TimeSpan.Zero)]),
        new AgentUsage("code-reviewer", "ab12", "anthropic", "claude-sonnet-4-5", 1200, 340, At, CachedInputTokens: 800, CostUsd: 0.0123m),
        new ProviderLimited("anthropic", "code-reviewer", "ab12", At, At.AddHours(3), "You've hit your limit", LimitSource.Pattern, "You've hit your limit · resets 7pm (America/Los_Angeles)"),
    ];

    private static FleetSpec SampleFleet() => new()
    {
        Providers = [new ProviderSpec { Name = "anthropic", Cli = "claude", ApiKeyEnv = "ANTHROPIC_API_KEY", Prices = new ProviderPrices { InputPerMillion = 3m } }],
        Agents =
        [
            new AgentSpec
            {
                Name = "a",
                Layer = LayerName.Core,
                Command = ["bash", "-c", "true"],
                Env = new Dictionary<string, EnvValue> { ["K"] = EnvValue.Literal("v"), ["T"] = new EnvValue { FromEnv = "TOKEN" } },
                Limits = new ResourceLimits { MemoryBytes = 1024 * 1024 * 512, OpenFiles = 128 },
                MaxRuntime = TimeSpan.FromMinutes(30),
                Restart = RestartType.Transient,
            },
        ],
        CompoundReview = new CompoundReviewSpec { Gates = [new GateSpec { Name = "build", Command = ["dotnet", "build"] }] },
    };

    private static string Hocon()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "DarkFactory.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir.FullName, "hocon", "darkfactory.conf");
    }

    [Fact]
    public void Every_manifest_has_a_sample()
    {
        var sampled = Samples.Select(s => s.GetType()).ToHashSet();
        var missing = DarkFactoryJson.Manifests.Values.Where(t => !sampled.Contains(t)).Select(t => t.Name).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Every_message_uses_the_dark_factory_serializer_and_round_trips()
    {
        var serialization = _system.Serialization;
        foreach (var sample in Samples)
        {
            var serializer = serialization.FindSerializerFor(sample);
            Assert.IsType<DarkFactorySerializer>(serializer);
            var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, sample);
            var bytes = serializer.ToBinary(sample);
            var back = serialization.Deserialize(bytes, serializer.Identifier, manifest);

            // records compare collections by reference: compare the canonical JSON instead
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(sample, sample.GetType(), DarkFactoryJson.Options), System.Text.Json.JsonSerializer.Serialize(back, back.GetType(), DarkFactoryJson.Options));
            Assert.Equal(sample.GetType(), back.GetType());
        }
    }

    [Fact]
    public void Persisted_event_manifests_are_pinned()
    {
        // Storage contracts: changing one of these breaks every stored journal.
        Assert.Equal(typeof(AgentLifecycle), DarkFactoryJson.Manifests["agent-lifecycle"]);
        Assert.Equal(typeof(AgentHistory), DarkFactoryJson.Manifests["history"]);
        Assert.Equal(typeof(SchedulerFired), DarkFactoryJson.Manifests["scheduler-fired"]);
        Assert.Equal(typeof(SchedulerSnapshot), DarkFactoryJson.Manifests["scheduler-snapshot"]);
    }

    [Fact]
    public void Stored_json_stays_readable()
    {
        const string stored = """{"agent":"a","kind":"crashed","at":"2026-11-22T07:30:00+00:00","run_id":"ab12","exit_code":3,"detail":"boom"}""";
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)_system);
        var e = (AgentLifecycle)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(stored), "agent-lifecycle");
        Assert.Equal(LifecycleKind.Crashed, e.Kind);
        Assert.Equal(3, e.ExitCode);
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));
}
