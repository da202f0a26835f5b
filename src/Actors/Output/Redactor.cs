namespace DarkFactory.Actors.Output;

/// <summary>
/// Replaces known secret values in output bytes with "***" before they reach a file or a subscriber. For a
/// stream read in chunks, <see cref="Redact(ReadOnlyMemory{byte}, int, bool)"/> redacts only the part of a
/// chunk that more bytes can no longer change and leaves the rest (at most one secret's length) for the next
/// chunk, so a secret split across reads is masked exactly as if the stream had been read in one piece.
/// </summary>
public sealed class Redactor
{
    public static readonly Redactor None = new([]);
    private static readonly byte[] Mask = "***"u8.ToArray();
    private readonly byte[][] _secrets;

    public Redactor(IEnumerable<string> secrets)
    {
        // Very short values would mask ordinary text; a secret shorter than 4 bytes is not a secret worth the name.
        _secrets = secrets.Where(s => s.Length >= 4).Distinct().OrderByDescending(s => s.Length)
            .Select(Encoding.UTF8.GetBytes).ToArray();
        MaxSecretBytes = _secrets.Length == 0 ? 0 : _secrets.Max(s => s.Length);
    }

    public bool IsEmpty => _secrets.Length == 0;

    /// <summary>Bytes of the longest secret: a chunk holds back less than this.</summary>
    public int MaxSecretBytes { get; }

    /// <summary>True when the bytes hold a known secret.</summary>
    public bool Contains(ReadOnlySpan<byte> input)
    {
        foreach (var secret in _secrets)
        {
            if (input.IndexOf(secret) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Returns the input itself when it holds no secret (the common case costs one vectorised scan per secret).</summary>
    public ReadOnlyMemory<byte> Redact(ReadOnlyMemory<byte> input) => Redact(input, input.Length, final: true).Block;

    public string Redact(string text)
    {
        if (_secrets.Length == 0)
        {
            return text;
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var redacted = Redact(bytes);
        return redacted.Length == bytes.Length && redacted.Span.SequenceEqual(bytes) ? text : Encoding.UTF8.GetString(redacted.Span);
    }

    /// <summary>
    /// Redacts a chunk of a stream up to <paramref name="end"/> (or less): <c>Consumed</c> is how many input bytes
    /// <c>Block</c> (the redacted output) stands for. Unless <paramref name="final"/>, bytes that could be the
    /// beginning of a secret completed by the next chunk are not consumed; a secret that begins before
    /// <paramref name="end"/> and is complete in the input is consumed whole, even past <paramref name="end"/>.
    /// </summary>
    /// <param name="input">The unconsumed bytes of the stream so far.</param>
    /// <param name="end">How far the caller wants to go (a line boundary, or all of it).</param>
    /// <param name="final">The stream ends with this input: nothing is held back.</param>
    public (ReadOnlyMemory<byte> Block, int Consumed) Redact(ReadOnlyMemory<byte> input, int end, bool final)
    {
        if (_secrets.Length == 0)
        {
            return (input[..end], end);
        }

        var span = input.Span;
        var limit = final ? end : Math.Min(end, HoldBack(span));
        var next = new int[_secrets.Length];
        var (at, length) = FirstMatch(span, 0, next);
        if (at < 0 || at >= limit)
        {
            return (input[..limit], limit);
        }

        var output = new List<byte>(span.Length);
        var pos = 0;
        while (at >= 0 && at < limit)
        {
            output.AddRange(span[pos..at]);
            output.AddRange(Mask);
            pos = at + length;
            (at, length) = FirstMatch(span, pos, next);
        }

        if (limit > pos)
        {
            output.AddRange(span[pos..limit]);
        }

        return (output.ToArray(), Math.Max(pos, limit));
    }

    /// <summary>
    /// The earliest complete secret at or after <paramref name="from"/> (the longest one where several start
    /// there); <paramref name="next"/> caches each secret's next occurrence between calls (0 = not searched yet).
    /// </summary>
    private (int At, int Length) FirstMatch(ReadOnlySpan<byte> span, int from, int[] next)
    {
        var best = -1;
        var bestLength = 0;
        for (var i = 0; i < _secrets.Length; i++)
        {
            // stored as position + 1 (0: not searched yet; -1: none left)
            if (next[i] == 0 || (next[i] > 0 && next[i] - 1 < from))
            {
                var found = span[from..].IndexOf(_secrets[i]);
                next[i] = found < 0 ? -1 : from + found + 1;
            }

            if (next[i] > 0 && (best < 0 || next[i] - 1 < best))
            {
                best = next[i] - 1;
                bestLength = _secrets[i].Length; // longest first: a tie keeps the longer one
            }
        }

        return (best, bestLength);
    }

    /// <summary>The first position from which the rest of the input is a proper prefix of a secret (could still become one); the length when none.</summary>
    private int HoldBack(ReadOnlySpan<byte> span)
    {
        for (var p = Math.Max(0, span.Length - MaxSecretBytes + 1); p < span.Length; p++)
        {
            var tail = span[p..];
            foreach (var secret in _secrets)
            {
                if (secret.Length > tail.Length && secret.AsSpan().StartsWith(tail))
                {
                    return p;
                }
            }
        }

        return span.Length;
    }
}
