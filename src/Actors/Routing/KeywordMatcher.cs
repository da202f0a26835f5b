namespace DarkFactory.Actors.Routing;

/// <summary>
/// Finds which of many keywords and phrases occur in a text, in one pass (an Aho-Corasick automaton built
/// once per fleet revision). Matching is case-insensitive and word-bounded: "review" matches "Review the
/// PR" and "code-review" but not "reviewer"; "CVE" matches "CVE-2025-1234". A keyword may be a phrase
/// ("dependency audit"); runs of white space in the text and the phrase are not normalised.
/// </summary>
public sealed class KeywordMatcher
{
    private const int Ascii = 128;

    private readonly Dictionary<long, int> _next = [];
    private readonly int[] _rootAscii;    // root's child by ASCII char; 0 = none (the most frequent lookup)
    private readonly int[] _edgeStart;    // node -> first edge in _edgeChar/_edgeTarget (edges of a node are contiguous)
    private readonly char[] _edgeChar;
    private readonly int[] _edgeTarget;
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

        // flat edge arrays for matching (no hashing per character)
        _rootAscii = new int[Ascii];
        _edgeStart = new int[outputs.Count + 1];
        _edgeChar = new char[_next.Count];
        _edgeTarget = new int[_next.Count];
        var e = 0;
        for (var node = 0; node < children.Length; node++)
        {
            _edgeStart[node] = e;
            foreach (var (child, c) in children[node])
            {
                _edgeChar[e] = c;
                _edgeTarget[e] = child;
                e++;
                if (node == 0 && c < Ascii)
                {
                    _rootAscii[c] = child;
                }
            }
        }

        _edgeStart[children.Length] = e;
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
            var c = text[i];
            c = c < Ascii ? (char)(c is >= 'A' and <= 'Z' ? c | 0x20 : c) : char.ToLowerInvariant(c);
            node = Step(node, c);

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

    /// <summary>The automaton's move from <paramref name="node"/> on <paramref name="c"/>, following failure links.</summary>
    private int Step(int node, char c)
    {
        while (true)
        {
            if (node == 0)
            {
                return c < Ascii ? _rootAscii[c] : Child(0, c);
            }

            var child = Child(node, c);
            if (child != 0)
            {
                return child;
            }

            node = _fail[node];
        }
    }

    /// <summary>The child of <paramref name="node"/> on <paramref name="c"/>; 0 when none (the root is never a child).</summary>
    private int Child(int node, char c)
    {
        var end = _edgeStart[node + 1];
        for (var e = _edgeStart[node]; e < end; e++)
        {
            if (_edgeChar[e] == c)
            {
                return _edgeTarget[e];
            }
        }

        return 0;
    }

    private static long Key(int node, char c) => ((long)node << 16) | c;
}
