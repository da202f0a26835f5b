namespace DarkFactory.Actors.Routing;

/// <summary>
/// The node's local copy of what a run start routes against: the compiled policy of the current fleet
/// (published by the gateway when a revision arrives, before any layer sees it) and the router's latest
/// provider board (published as <see cref="ProviderBoardPublished"/> and copied here by the node's
/// <see cref="RouteBoardSubscriber"/>), resolved against each other once and swapped as one immutable unit.
/// Layers decide a run's route against it without asking the router (no mailbox round trip on a run start).
/// Thread-safe: writers are serialised, readers never wait.
/// </summary>
public sealed class RouteBoard
{
    private readonly Lock _write = new();
    private volatile Published? _current;
    private volatile ProviderBoard _board = ProviderBoard.Empty;
    private long _sequence;

    public RoutingPolicy? Policy => _current?.Policy;

    /// <summary>The latest board (resolved or not: a board that arrives before any policy is kept for it).</summary>
    public ProviderBoard Board => _board;

    /// <summary>A fleet revision's policy with a board: the gateway's publication of a new revision.</summary>
    public void Publish(RoutingPolicy policy, ProviderBoard board)
    {
        lock (_write)
        {
            Swap(policy, board);
        }
    }

    /// <summary>A fleet revision's policy; the latest board is resolved against it.</summary>
    public void Publish(RoutingPolicy policy)
    {
        lock (_write)
        {
            Swap(policy, _board);
        }
    }

    /// <summary>The router's latest board, resolved against the current policy (kept until a policy arrives).</summary>
    public void Publish(ProviderBoard board)
    {
        lock (_write)
        {
            Swap(_current?.Fleet, board);
        }
    }

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

    private void Swap(RoutingPolicy? policy, ProviderBoard board)
    {
        board = board.Frozen();
        _board = board;
        if (policy is not null)
        {
            // the providers added at runtime come with the router's board; the fleet's policy takes them in
            // (compiled again only when they change)
            var effective = (_current is { } c && ReferenceEquals(c.Fleet, policy) ? c.Policy : policy).With(board.Added);
            _current = new Published(policy, effective, effective.Compile(board), effective.Compile(board with { EnforceInstalled = false }));
        }
    }

    /// <param name="Fleet">The fleet revision's own policy (without the providers added at runtime).</param>
    /// <param name="Policy">The policy routed against: <paramref name="Fleet"/> with the board's added providers.</param>
    /// <param name="AnyCli">The same board with a missing CLI only noted (agents with their own command).</param>
    private sealed record Published(RoutingPolicy Fleet, RoutingPolicy Policy, BoardView View, BoardView AnyCli);
}
