using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Actors.Routing;

/// <summary>
/// The router's published state, shared with the layers: the compiled policy of the current fleet and the
/// latest provider board (resolved against that policy once, here), swapped as one immutable unit. Layers
/// decide a run's route against it without asking the router (no mailbox round trip on a run start); the
/// router publishes after every change. Thread-safe.
/// </summary>
public sealed class RouteBoard
{
    private volatile Published? _current;
    private long _sequence;

    public RoutingPolicy? Policy => _current?.Policy;

    public ProviderBoard Board => _current?.View.Board ?? ProviderBoard.Empty;

    public void Publish(RoutingPolicy policy, ProviderBoard board) =>
        _current = new Published(policy, policy.Compile(board), policy.Compile(board with { EnforceInstalled = false }));

    /// <summary>
    /// The route of a run of <paramref name="agent"/>; null when nothing is published or the fleet has no
    /// providers. An agent whose <c>command</c> overrides its CLI's command line does not need the CLI installed.
    /// Only the choice: the decision's candidates are not explained (see <see cref="RoutingPolicy.Choose"/>).
    /// </summary>
    public RouteDecision? Decide(string task, AgentSpec agent)
    {
        var current = _current;
        if (current is null || !current.Policy.HasProviders)
        {
            return null;
        }

        var view = agent.Command.Count > 0 ? current.AnyCli : current.View;
        return current.Policy.Decide(task, agent, view, Interlocked.Increment(ref _sequence), explain: false);
    }

    /// <param name="AnyCli">The same board with a missing CLI only noted (agents with their own command).</param>
    private sealed record Published(RoutingPolicy Policy, BoardView View, BoardView AnyCli);
}
