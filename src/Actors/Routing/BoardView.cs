namespace DarkFactory.Actors.Routing;

/// <summary>
/// A <see cref="ProviderBoard"/> resolved against one <see cref="RoutingPolicy"/>: each provider's condition and
/// missing CLI by provider index (no name lookups per decision). Built by <see cref="RoutingPolicy.Compile"/>;
/// the <see cref="RouteBoard"/> builds it once per publication. Immutable.
/// </summary>
public sealed class BoardView
{
    internal BoardView(RoutingPolicy policy, ProviderBoard board, ProviderCondition[] conditions, string?[] missing)
    {
        Policy = policy;
        Board = board;
        Conditions = conditions;
        Missing = missing;
    }

    public RoutingPolicy Policy { get; }

    public ProviderBoard Board { get; }

    internal ProviderCondition[] Conditions { get; }

    internal string?[] Missing { get; }
}
