using System.Collections.Immutable;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Control;

namespace DarkFactory.Actors.Control;

/// <summary>
/// Feeds <see cref="FleetTelemetry"/> from the event stream: agent states (from the status changes the
/// event bridge publishes), restarts and exits (lifecycle), output lines, spend and tokens (usage),
/// rate limits, and — read by manifest from their JSON, so they light up as those features publish —
/// drift verdicts (<c>drift-verdict</c>), corrections (<c>drift-correction</c>), routing decisions
/// (<c>route-chosen</c>), spend (<c>cost-recorded</c>, the router's ledger) and compound review steps
/// (<c>review-*</c>). Also traces a task's path with <see cref="RunTraces"/>: per run a <c>task</c> span with
/// <c>route</c>, <c>spawn</c>, <c>run</c> and <c>exit</c> children.
/// </summary>
public sealed class TelemetryActor : ReceiveActor
{
    private static readonly string[] States = Enum.GetNames<AgentState>().Select(n => JsonNamingPolicy.SnakeCaseLower.ConvertName(n)).ToArray();
    private readonly FleetTelemetry _telemetry;
    private readonly Dictionary<string, AgentState> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _reviews = new(StringComparer.Ordinal);
    private readonly RunTraces _traces;
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private OutputConsumer? _output;

    public TelemetryActor(FleetTelemetry telemetry)
    {
        _telemetry = telemetry;
        _traces = new RunTraces(telemetry.Source);
        Receive<AgentStatus>(OnStatus);
        Receive<AgentRemoved>(m =>
        {
            _states.Remove(m.Agent);
            _telemetry.RemoveAgent(m.Agent);
            PublishStates();
        });
        Receive<AgentLifecycle>(OnLifecycle);
        Receive<AgentOutput>(m =>
        {
            _output?.Taken(m);
            _telemetry.OutputLines.Add(m.Lines.Count, Tag("agent", m.Agent));
        });
        Receive<AgentUsage>(OnUsage);
        Receive<ProviderLimited>(m => _telemetry.Limited.Add(1, Tag("provider", m.Provider ?? "unknown"), Tag("source", m.Source.ToString().ToLowerInvariant())));
        Receive<IDarkFactoryMessage>(OnOther);
    }

    public static Props Props(FleetTelemetry telemetry) => Akka.Actor.Props.Create<TelemetryActor>(telemetry);

    protected override void PreStart()
    {
        _topics.Subscribe(Self, typeof(IDarkFactoryMessage));
        _output = OutputFlow.For(Context.System).Join("telemetry");
        PublishStates(); // every state at 0 from the start
    }

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        _output?.Dispose();
        _traces.Close(DateTimeOffset.UtcNow);
    }

    private void OnStatus(AgentStatus status)
    {
        _states[status.Agent] = status.State;
        _telemetry.KnowAgent(status.Agent);
        PublishStates();
    }

    private void PublishStates()
    {
        var counts = States.ToDictionary(s => s, _ => 0);
        foreach (var state in _states.Values)
        {
            counts[JsonNamingPolicy.SnakeCaseLower.ConvertName(state.ToString())]++;
        }

        _telemetry.SetStates(counts.ToImmutableDictionary());
    }

    private void OnLifecycle(AgentLifecycle e)
    {
        _traces.Lifecycle(e);
        switch (e.Kind)
        {
            case LifecycleKind.Restarting:
                _telemetry.Restarts.Add(1, Tag("agent", e.Agent));
                break;
            case var kind when kind.EndsRun():
                if (e.ExitCode is not null || e.Kind != LifecycleKind.Stopped)
                {
                    _telemetry.Exits.Add(1, Tag("agent", e.Agent), Tag("code", e.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"), Tag("kind", e.Kind.ToString().ToLowerInvariant()));
                }

                break;
        }
    }

    private void OnUsage(AgentUsage u)
    {
        // spend comes from the router's ledger (cost-recorded: reported or priced), tokens from here
        var provider = u.Provider ?? "unknown";
        _telemetry.Tokens.Add(u.InputTokens, Tag("provider", provider), Tag("direction", "input"));
        _telemetry.Tokens.Add(u.OutputTokens, Tag("provider", provider), Tag("direction", "output"));
    }

    /// <summary>Messages of other features, read by manifest from their JSON (no compile-time dependency).</summary>
    private void OnOther(IDarkFactoryMessage message)
    {
        var name = EventBridgeActor.EventName(message.GetType());
        if (name is null || !(name is "drift-verdict" or "drift-correction" or "route-chosen" or "cost-recorded" || name.StartsWith("review-", StringComparison.Ordinal)))
        {
            return;
        }

        var json = JsonSerializer.SerializeToElement(message, message.GetType(), DarkFactoryJson.Options);
        var read = new TelemetryFields(json);
        switch (name)
        {
            case "drift-verdict" when read.String("agent") is { } agent && read.Number("score") is { } score:
                _telemetry.SetDrift(agent, score);
                break;
            case "drift-correction":
                _telemetry.Corrections.Add(1, Tag("action", read.String("action") ?? "unknown"));
                break;
            case "route-chosen":
                OnRoute(read);
                break;
            case "cost-recorded" when read.Number("cost_usd") is { } cost:
                _telemetry.Spend.Add(cost, Tag("provider", read.String("provider") ?? "unknown"));
                break;
            case "cost-recorded":
                break;
            default:
                OnReview(name, read);
                break;
        }
    }

    private void OnRoute(TelemetryFields read)
    {
        var reason = TelemetryFields.Label(read.String("reason_kind") ?? read.String("strategy") ?? read.String("reason") ?? "unknown");
        var provider = read.String("provider") ?? "unknown";
        _telemetry.RoutingDecisions.Add(1, Tag("reason", reason), Tag("provider", provider));
        if (read.String("agent") is { } agent && read.String("run_id") is { } runId)
        {
            _traces.Route(agent, runId, read.Time("at") ?? DateTimeOffset.UtcNow, read.String("cli"), provider, read.String("model"), read.String("reason"));
        }
    }

    private void OnReview(string name, TelemetryFields read)
    {
        var id = read.String("review_id");
        var at = read.Time("at");
        if (id is null || at is null)
        {
            return;
        }

        if (name == "review-started")
        {
            _reviews[id] = at.Value;
            return;
        }

        var outcome = name switch
        {
            "review-completed" => "completed",
            "review-failed" => "failed",
            "review-step" => read.String("outcome"),
            _ => null,
        };
        if (outcome is null)
        {
            return;
        }

        _telemetry.ReviewOutcomes.Add(1, Tag("outcome", outcome));
        if (_reviews.Remove(id, out var started))
        {
            _telemetry.ReviewDuration.Record((at.Value - started).TotalSeconds, Tag("outcome", outcome));
        }
    }

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
}

/// <summary>Reads optional fields of a message's JSON.</summary>
public readonly struct TelemetryFields(JsonElement json)
{
    public string? String(string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public double? Number(string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    public DateTimeOffset? Time(string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.TryGetDateTimeOffset(out var t) ? t : null;

    /// <summary>A bounded metric label from free text: its first word, at most 40 characters, lower case.</summary>
    public static string Label(string text)
    {
        var word = text.Trim().Split([' ', ':', ',', ';', '('], 2)[0].ToLowerInvariant();
        return word.Length == 0 ? "unknown" : word.Length > 40 ? word[..40] : word;
    }
}
