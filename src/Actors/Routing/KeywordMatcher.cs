namespace DarkFactory.Actors.Routing;

/// <summary>
/// Finds which of many keywords and phrases occur in a text, in one pass (an Aho-Corasick automaton built
/// once per fleet revision). Matching is case-insensitive and word-bounded: "review" matches "Review the
/// PR" and "code-review" but not "reviewer"; "CVE" matches "CVE-2025-1234". A keyword may be a phrase
/// ("dependency audit"); runs of white space in the text and the phrase are not normalised.
/// </summary>
public sealed class KeywordMatcher
{
    private readonly Dictionary<long, int> _next = [];
    private readonly int[] _fail;
    private readonly int[][] _output; // node -> keyword ids ending there (own and by failure links)
    private readonly int[] _lengths;

    public KeywordMatcher(IReadOnlyList<string> keywords)
    {
        Count = keywords.Count;
        _lengths = new int[keywords.Count];
        var outputs = new List<List<int>> { new() };
        var depth = new List<int> { 0 };
        for (var id = 0; id < keywords.Count; id++)
        {
            var word = keywords[id].ToLowerInvariant();
            _lengths[id] = word.Length;
            if (word.Length == 0)
            {
                continue;
            }

            var node = 0;
            foreach (var c in word)
            {
                if (!_next.TryGetValue(Key(node, c), out var child))
                {
                    child = outputs.Count;
                    outputs.Add([]);
                    depth.Add(depth[node] + 1);
                    _next[Key(node, c)] = child;
                }

                node = child;
            }

            outputs[node].Add(id);
        }

        // breadth-first failure links
        _fail = new int[outputs.Count];
        var children = new List<(int Child, char C)>[outputs.Count];
        for (var i = 0; i < children.Length; i++)
        {
            children[i] = [];
        }

        foreach (var (key, child) in _next)
        {
            children[(int)(key >> 16)].Add((child, (char)(key & 0xFFFF)));
        }

        var queue = new Queue<int>();
        foreach (var (child, _) in children[0])
        {
            _fail[child] = 0;
            queue.Enqueue(child);
        }

        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            foreach (var (child, c) in children[node])
            {
                var f = _fail[node];
                while (f != 0 && !_next.ContainsKey(Key(f, c)))
                {
                    f = _fail[f];
                }

                _fail[child] = _next.TryGetValue(Key(f, c), out var target) && target != child ? target : 0;
                outputs[child].AddRange(outputs[_fail[child]]);
                queue.Enqueue(child);
            }
        }

        _output = outputs.Select(o => o.Distinct().ToArray()).ToArray();
    }

    /// <summary>Number of keywords (ids are 0 .. Count-1, in the order given).</summary>
    public int Count { get; }

    /// <summary>Marks in <paramref name="found"/> (length <see cref="Count"/>) every keyword that occurs in <paramref name="text"/> as a whole word.</summary>
    /// <returns>How many distinct keywords were found.</returns>
    public int Match(ReadOnlySpan<char> text, Span<bool> found)
    {
        var hits = 0;
        var node = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = char.ToLowerInvariant(text[i]);
            while (true)
            {
                if (_next.TryGetValue(Key(node, c), out var child))
                {
                    node = child;
                    break;
                }

                if (node == 0)
                {
                    break;
                }

                node = _fail[node];
            }

            var output = _output[node];
            if (output.Length == 0)
            {
                continue;
            }

            var after = i + 1 >= text.Length || !char.IsLetterOrDigit(text[i + 1]);
            if (!after)
            {
                continue;
            }

            foreach (var id in output)
            {
                var start = i - _lengths[id] + 1;
                if (!found[id] && (start == 0 || !char.IsLetterOrDigit(text[start - 1])))
                {
                    found[id] = true;
                    hits++;
                }
            }
        }

        return hits;
    }

    private static long Key(int node, char c) => ((long)node << 16) | c;
}
