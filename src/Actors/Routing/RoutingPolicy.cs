namespace DarkFactory.Actors.Routing;

/// <summary>
/// Decides the route of a task (pure; compiled once per fleet revision). Every provider of the fleet is a
/// candidate. Fit comes first: the routing rules that match, in declared order (a rule matches when the
/// task names one of its keywords, word-bounded and case-insensitive, or the agent has one of its
/// capabilities; a rule with neither is a catch-all), then the agent's own provider, then every other provider as a fallback. The strategy orders
/// candidates of equal fit. Unhealthy candidates (rate limited, breaker open, over budget, CLI not
/// installed) are rejected with the reason; the best remaining one wins, and the decision says which
/// better ones it failed over from. With <c>on_budget_exceeded: wait</c>, a best candidate that is
/// over a budget window makes the run wait instead of switching.
/// </summary>
public sealed class RoutingPolicy
{
    private const int CapabilityTierBase = 2;
    private static readonly RouteCandidate[] NotExplained = [];

    [ThreadStatic]
    private static Candidate[]? t_scratch;

    private readonly ProviderSpec[] _providers;
    private readonly RoutingRuleSpec[] _rules;
    private readonly int[][] _ruleTargets;       // rule -> provider indices
    private readonly RuleShape[] _ruleShape;     // rule -> what makes it match
    private readonly int[][] _keywordRules;      // keyword id -> rules having it
    private readonly string[] _keywords;
    private readonly KeywordMatcher _matcher;
    private readonly double[] _priorityScore;    // provider -> [0,1), higher = better priority
    private readonly double[] _costScore;        // provider -> [0,1), higher = cheaper
    private readonly decimal[] _blendedPrice;
    private readonly double[] _weights;
    private readonly RouterSpec _settings;
    private readonly RouteExplainer _explainer;
    private readonly FleetSpec _fleet;
    private readonly IReadOnlyList<ProviderSpec> _added;

    public RoutingPolicy(FleetSpec fleet)
        : this(fleet, [])
    {
    }

    private RoutingPolicy(FleetSpec fleet, IReadOnlyList<ProviderSpec> added)
    {
        _fleet = fleet;
        _added = added;
        fleet = RuntimeProviders.Merge(fleet, added);
        _settings = fleet.Router;
        _providers = [.. fleet.Providers];
        _rules = [.. fleet.Routing];
        _ruleTargets = _rules.Select(Targets).ToArray();
        _ruleShape = _rules
            .Select(r => (r.Keywords.Count > 0, r.Capabilities.Count > 0) switch
            {
                (false, false) => RuleShape.CatchAll,
                (true, false) => RuleShape.Keywords,
                (false, true) => RuleShape.Capabilities,
                _ => RuleShape.Both,
            })
            .ToArray();

        var keywords = new List<string>();
        var keywordRules = new List<List<int>>();
        var byWord = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var r = 0; r < _rules.Length; r++)
        {
            foreach (var k in _rules[r].Keywords.Where(k => !string.IsNullOrWhiteSpace(k)))
            {
                if (!byWord.TryGetValue(k, out var id))
                {
                    id = keywords.Count;
                    byWord[k] = id;
                    keywords.Add(k);
                    keywordRules.Add([]);
                }

                if (!keywordRules[id].Contains(r))
                {
                    keywordRules[id].Add(r);
                }
            }
        }

        _keywords = [.. keywords];
        _keywordRules = keywordRules.Select(l => l.ToArray()).ToArray();
        _matcher = new KeywordMatcher(_keywords);

        _priorityScore = RankScores(_providers.Length, (a, b) => Compare(_providers[a].Priority, _providers[b].Priority, a, b));
        _blendedPrice = _providers.Select(p => p.Prices.InputPerMillion + p.Prices.OutputPerMillion).ToArray();
        _costScore = RankScores(_providers.Length, (a, b) => _blendedPrice[a] != _blendedPrice[b] ? _blendedPrice[a].CompareTo(_blendedPrice[b]) : Compare(_providers[a].Priority, _providers[b].Priority, a, b));
        _weights = _providers.Select(p => _settings.Weights.TryGetValue(p.Name, out var w) ? w : 1.0).ToArray();
        _explainer = new RouteExplainer(_providers, _rules, _blendedPrice, _weights);
    }

    public RouterSpec Settings => _settings;

    public IReadOnlyList<ProviderSpec> Providers => _providers;

    public bool HasProviders => _providers.Length > 0;

    /// <summary>
    /// The fleet's policy with the providers added at runtime after its own (<see cref="RuntimeProviders.Merge"/>):
    /// itself when they are the ones it has already.
    /// </summary>
    public RoutingPolicy With(IReadOnlyList<ProviderSpec> added) =>
        added.SequenceEqual(_added) ? this : new RoutingPolicy(_fleet, added);

    /// <summary>Resolves <paramref name="board"/> against this policy's providers (once per board, not per decision).</summary>
    public BoardView Compile(ProviderBoard board)
    {
        var conditions = new ProviderCondition[_providers.Length];
        var missing = new string?[_providers.Length];
        for (var p = 0; p < _providers.Length; p++)
        {
            conditions[p] = board.Of(_providers[p].Name);
            missing[p] = board.MissingClis.GetValueOrDefault(_providers[p].Cli);
        }

        return new BoardView(this, board, conditions, missing);
    }

    /// <summary>
    /// Decides the route of <paramref name="task"/> for <paramref name="agent"/> (null: no agent context) and
    /// explains it: every candidate, best first, each loser with why it lost (`df route`, /api/route).
    /// </summary>
    /// <param name="sequence">A number that grows by one per decision (round-robin turns, weighted draws).</param>
    public RouteDecision Decide(string task, AgentSpec? agent, ProviderBoard board, long sequence = 0) =>
        Decide(task, agent, Compile(board), sequence, explain: true);

    /// <summary>
    /// The same choice as <see cref="Decide(string, AgentSpec?, ProviderBoard, long)"/> (route, reason, waiting)
    /// without explaining the rejected candidates: <see cref="RouteDecision.Candidates"/> is empty. The path of
    /// a run start, which needs only the winner.
    /// </summary>
    public RouteDecision Choose(string task, AgentSpec? agent, ProviderBoard board, long sequence = 0) =>
        Decide(task, agent, Compile(board), sequence, explain: false);

    /// <summary>Decides against a board already resolved for this policy; <paramref name="explain"/>: list every candidate.</summary>
    public RouteDecision Decide(string task, AgentSpec? agent, BoardView view, long sequence, bool explain)
    {
        if (!ReferenceEquals(view.Policy, this))
        {
            throw new ArgumentException("the board view was compiled for another routing policy", nameof(view));
        }

        if (_providers.Length == 0)
        {
            return agent is null
                ? new RouteDecision(null, [], null, "the fleet declares no providers")
                : new RouteDecision(new Route(agent.Cli, agent.Provider, agent.Model, "the fleet declares no providers: the agent's own CLI", "declared"), [], agent.Name);
        }

        var n = _providers.Length;
        var board = view.Board;
        var strategy = _settings.Strategy;
        var c = Scratch(n);
        var topTier = Score(task, agent, view, c, sequence);

        // ---- rank: c[0 .. ranked) best first. Explained: every candidate. Otherwise only the best available one
        // and those ranking above it (all unavailable: the failover, the budget wait) - the same prefix a full sort gives.
        var best = explain ? -1 : BestAvailable(c, n);
        int ranked;
        if (best < 0)
        {
            Array.Sort(c, 0, n, ByRank.Instance);
            ranked = n;
        }
        else
        {
            ranked = BringForward(c, n, best);
        }

        // ---- choose: the best available; with on_budget_exceeded: wait, a better one over a budget window waits
        string? waiting = null;
        var chosen = -1;
        for (var i = 0; i < ranked; i++)
        {
            if (c[i].Available)
            {
                chosen = i;
                break;
            }

            if (_settings.OnBudgetExceeded == BudgetAction.Wait && c[i].Missing is null && c[i].Condition is { State: ProviderState.OverBudget, Budget: true } over && c[i].Tier > 0)
            {
                waiting = $"{_providers[c[i].Index].Name} is over budget ({over.Reason}){RouteExplainer.Until(over.ResetAt)}; on_budget_exceeded: wait";
                break;
            }
        }

        if (agent is not null && board.Agents.Count > 0 && board.Agents.TryGetValue(agent.Name, out var agentOver))
        {
            waiting = $"agent {agent.Name} is over budget ({agentOver.Reason}){RouteExplainer.Until(agentOver.ResetAt)}";
            chosen = -1;
        }

        var avoidedAnyway = false;
        if (waiting is null && chosen < 0)
        {
            // only avoided routes are left: take the best of them rather than not running at all
            for (var i = 0; i < ranked; i++)
            {
                if (c[i].Healthy)
                {
                    chosen = i;
                    avoidedAnyway = true;
                    break;
                }
            }

            if (chosen < 0)
            {
                waiting = AllMissing(c, n, board.EnforceInstalled) ? "no provider's CLI is installed" : "all providers limited; polling";
            }
        }

        var candidates = NotExplained;
        if (explain)
        {
            candidates = new RouteCandidate[n];
            var chosenRef = chosen >= 0 ? c[chosen] : default;
            for (var i = 0; i < n; i++)
            {
                var x = c[i];
                var p = _providers[x.Index];
                var rejected = i == chosen ? null : _explainer.Rejection(x, chosen >= 0 ? chosenRef : null, waiting, strategy);
                candidates[i] = new RouteCandidate(p.Cli, p.Name, ModelOf(x, agent), Math.Round(x.Tier + x.Strategy, 3), rejected);
            }
        }

        if (chosen < 0)
        {
            return new RouteDecision(null, candidates, agent?.Name, waiting);
        }

        var winner = c[chosen];
        var bp = _providers[winner.Index];
        var reason = _explainer.Chosen(winner, strategy, topTier, c, n, chosen, avoidedAnyway);
        var kind = winner.Condition.State == ProviderState.Open ? "probe" : chosen > 0 ? "failover" : winner.Rule >= 0 ? "rule" : winner.Own ? "own" : "fallback";
        return new RouteDecision(new Route(bp.Cli, bp.Name, ModelOf(winner, agent), reason, kind), candidates, agent?.Name);
    }

    /// <summary>Fills c[0 .. n) in provider order: fit (rule, own, tier), condition, availability, strategy score. Returns the top tier of the available ones.</summary>
    private int Score(string task, AgentSpec? agent, BoardView view, Candidate[] c, long sequence)
    {
        var n = _providers.Length;
        var board = view.Board;

        // ---- fit: matching rules in order, then the agent's own provider
        Span<bool> keywordFound = _keywords.Length <= 1024 ? stackalloc bool[_keywords.Length] : new bool[_keywords.Length];
        var hits = _matcher.Match(task, keywordFound);
        Span<int> ruleKeyword = _rules.Length <= 1024 ? stackalloc int[_rules.Length] : new int[_rules.Length];
        ruleKeyword.Fill(-1);
        for (var k = 0; hits > 0 && k < keywordFound.Length; k++)
        {
            if (keywordFound[k])
            {
                hits--;
                foreach (var r in _keywordRules[k])
                {
                    if (ruleKeyword[r] < 0)
                    {
                        ruleKeyword[r] = k;
                    }
                }
            }
        }

        for (var p = 0; p < n; p++)
        {
            c[p] = new Candidate { Index = p, Rule = -1 };
        }

        var firstRule = -1;
        for (var r = 0; r < _rules.Length; r++)
        {
            var matches = _ruleShape[r] switch
            {
                RuleShape.CatchAll => true,
                RuleShape.Keywords => ruleKeyword[r] >= 0,
                RuleShape.Capabilities => HasAny(agent, _rules[r].Capabilities),
                _ => ruleKeyword[r] >= 0 || HasAny(agent, _rules[r].Capabilities),
            };
            if (!matches)
            {
                continue;
            }

            if (firstRule < 0)
            {
                firstRule = r;
            }

            foreach (var p in _ruleTargets[r])
            {
                if (c[p].Rule < 0)
                {
                    c[p].Rule = r;
                }
            }
        }

        IReadOnlyList<RouteAvoidRecorded>? avoids = null;
        if (agent is not null && board.Avoids.Count > 0)
        {
            board.Avoids.TryGetValue(agent.Name, out avoids);
        }

        var strategy = _settings.Strategy;
        var topTier = -1;
        for (var p = 0; p < n; p++)
        {
            ref var x = ref c[p];
            var own = agent is not null && IsOwn(agent, _providers[p]);
            x.Own = own;
            x.Tier = strategy == RoutingStrategy.CapabilityFirst
                ? x.Rule >= 0 ? CapabilityTierBase + (_rules.Length - x.Rule) : own ? 1 : 0
                : (firstRule >= 0 ? x.Rule >= 0 : own) ? 1 : 0;
            x.Condition = view.Conditions[p];
            x.Missing = view.Missing[p];
            x.Healthy = x.Condition.Available && (x.Missing is null || !board.EnforceInstalled);
            x.Avoid = avoids is null ? null : AvoidOf(avoids, _providers[p].Name, ModelOf(x, agent));
            x.Available = x.Healthy && x.Avoid is null;
            if (x.Available && x.Tier > topTier)
            {
                topTier = x.Tier;
            }
        }

        // ---- strategy score within a tier
        switch (strategy)
        {
            case RoutingStrategy.Cost:
                for (var p = 0; p < n; p++)
                {
                    c[p].Strategy = _costScore[p];
                }

                break;
            case RoutingStrategy.Latency:
                var maxLatency = 1.0;
                for (var p = 0; p < n; p++)
                {
                    if (c[p].Condition.LatencyMs is { } l && l > maxLatency)
                    {
                        maxLatency = l;
                    }
                }

                for (var p = 0; p < n; p++)
                {
                    c[p].Strategy = c[p].Condition.LatencyMs is { } l
                        ? 0.5 + (0.49 * (1 - (l / (maxLatency * 1.01))))
                        : 0.49 * _priorityScore[p];
                }

                break;
            case RoutingStrategy.RoundRobin:
            case RoutingStrategy.Weighted:
                for (var p = 0; p < n; p++)
                {
                    c[p].Strategy = 0.5 * _priorityScore[p]; // outside the turn: priority order
                }

                TakeTurns(c, n, topTier, strategy, sequence);
                break;
            default:
                for (var p = 0; p < n; p++)
                {
                    c[p].Strategy = _priorityScore[p];
                }

                break;
        }

        return topTier;
    }

    private static RouteAvoidRecorded? AvoidOf(IReadOnlyList<RouteAvoidRecorded> avoids, string provider, string? model)
    {
        foreach (var a in avoids)
        {
            if ((a.Provider is not null || a.Model is not null)
                && (a.Provider is null || a.Provider == provider)
                && (a.Model is null || a.Model == model))
            {
                return a;
            }
        }

        return null;
    }

    /// <summary>The best available candidate of c[0 .. n) (unsorted), or -1.</summary>
    private static int BestAvailable(Candidate[] c, int n)
    {
        var best = -1;
        for (var i = 0; i < n; i++)
        {
            if (c[i].Available && (best < 0 || Rank(in c[i], in c[best]) < 0))
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>
    /// Moves the candidates ranking above c[<paramref name="best"/>] to the front, sorted, and the best right after
    /// them: c[0 .. returned) is then what a full sort puts there.
    /// </summary>
    private static int BringForward(Candidate[] c, int n, int best)
    {
        var pivot = c[best];
        var k = 0;
        for (var i = 0; i < n; i++)
        {
            if (Rank(in c[i], in pivot) < 0)
            {
                (c[i], c[k]) = (c[k], c[i]);
                k++;
            }
        }

        for (var i = k; i < n; i++)
        {
            if (c[i].Index == pivot.Index)
            {
                (c[i], c[k]) = (c[k], c[i]);
                break;
            }
        }

        if (k > 1)
        {
            Array.Sort(c, 0, k, ByRank.Instance);
        }

        return k + 1;
    }

    /// <summary>Negative when <paramref name="a"/> ranks before <paramref name="b"/>: higher tier, then higher score, then declaration order.</summary>
    private static int Rank(in Candidate a, in Candidate b)
    {
        var byTier = b.Tier.CompareTo(a.Tier);
        if (byTier != 0)
        {
            return byTier;
        }

        var byScore = b.Strategy.CompareTo(a.Strategy);
        return byScore != 0 ? byScore : a.Index.CompareTo(b.Index);
    }

    private static bool AllMissing(Candidate[] c, int n, bool enforce)
    {
        for (var i = 0; i < n; i++)
        {
            if (c[i].Missing is null || !enforce)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Per-thread scratch for the candidates of one decision (decisions never nest).</summary>
    private static Candidate[] Scratch(int n)
    {
        var c = t_scratch;
        if (c is null || c.Length < n)
        {
            c = new Candidate[Math.Max(n, 64)];
            t_scratch = c;
        }

        return c;
    }

    // ---------------------------------------------------------------- helpers

    private string? ModelOf(Candidate x, AgentSpec? agent)
    {
        if (x.Rule >= 0 && _rules[x.Rule].Model is { } ruleModel)
        {
            return ruleModel;
        }

        var p = _providers[x.Index];
        return agent?.Model is { } own && agent.Provider == p.Name ? own : p.Model;
    }

    private static bool IsOwn(AgentSpec agent, ProviderSpec p) =>
        agent.Provider is { } name ? name == p.Name : agent.Cli == p.Cli;

    private static bool HasAny(AgentSpec? agent, IReadOnlyList<string> capabilities)
    {
        if (agent is null)
        {
            return false;
        }

        foreach (var cap in capabilities)
        {
            foreach (var own in agent.Capabilities)
            {
                if (string.Equals(own, cap, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private int[] Targets(RoutingRuleSpec rule)
    {
        var targets = new List<int>();
        for (var p = 0; p < _providers.Length; p++)
        {
            var provider = _providers[p];
            if ((rule.Provider is null || rule.Provider == provider.Name) && (rule.Cli is null || rule.Cli == provider.Cli))
            {
                targets.Add(p);
            }
        }

        return [.. targets];
    }

    private static int Compare(int a, int b, int ia, int ib) => a != b ? a.CompareTo(b) : ia.CompareTo(ib);

    /// <summary>Scores in [0, 1): the best by <paramref name="compare"/> (ascending = better) gets the highest.</summary>
    private static double[] RankScores(int n, Comparison<int> compare)
    {
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, compare);
        var scores = new double[n];
        for (var rank = 0; rank < n; rank++)
        {
            scores[order[rank]] = (double)(n - rank) / (n + 1);
        }

        return scores;
    }

    /// <summary>Round-robin and weighted: the available candidates of the top tier take turns by <paramref name="sequence"/>.</summary>
    private void TakeTurns(Candidate[] c, int n, int topTier, RoutingStrategy strategy, long sequence)
    {
        Span<int> members = n <= 256 ? stackalloc int[n] : new int[n];
        var count = 0;
        for (var p = 0; p < n; p++)
        {
            if (c[p].Available && c[p].Tier == topTier)
            {
                // insertion by priority, best first (scores are distinct)
                var at = count++;
                while (at > 0 && _priorityScore[members[at - 1]] < _priorityScore[p])
                {
                    members[at] = members[at - 1];
                    at--;
                }

                members[at] = p;
            }
        }

        if (count == 0)
        {
            return;
        }

        int pick;
        if (strategy == RoutingStrategy.RoundRobin)
        {
            pick = (int)(Math.Abs(sequence) % count);
        }
        else
        {
            // a low-discrepancy draw (golden ratio sequence): picks converge on the weights' proportions
            var total = 0.0;
            for (var i = 0; i < count; i++)
            {
                total += _weights[c[members[i]].Index];
            }

            var r = (Math.Abs(sequence) * 0.6180339887498949 % 1.0) * total;
            pick = count - 1;
            for (var i = 0; i < count; i++)
            {
                r -= _weights[c[members[i]].Index];
                if (r < 0)
                {
                    pick = i;
                    break;
                }
            }
        }

        for (var i = 0; i < count; i++)
        {
            var turn = (i - pick + count) % count; // 0 = its turn
            c[members[i]].Strategy = 0.5 + (0.49 * (count - turn) / count);
        }
    }

    private enum RuleShape : byte
    {
        CatchAll,
        Keywords,
        Capabilities,
        Both,
    }

    private sealed class ByRank : IComparer<Candidate>
    {
        public static readonly ByRank Instance = new();

        public int Compare(Candidate a, Candidate b) => Rank(in a, in b);
    }

    /// <summary>One provider during one decision (per-thread scratch; see <see cref="RouteExplainer"/> for its words).</summary>
    internal struct Candidate
    {
        public int Index;
        public int Rule;
        public bool Own;
        public int Tier;
        public double Strategy;
        public ProviderCondition Condition;
        public string? Missing;

        /// <summary>Not limited, not open, not over budget, its CLI installed (or not enforced).</summary>
        public bool Healthy;

        /// <summary>The agent must keep off this route (severe drift); null when not.</summary>
        public RouteAvoidRecorded? Avoid;

        /// <summary>Healthy and not avoided.</summary>
        public bool Available;
    }
}
