using System.Collections;
using System.Text;

namespace DarkFactory.Messages.Agents;

/// <summary>
/// Plain text lines as read from one stream of a run: the (redacted) bytes once, with each line's place in them, and
/// no string per line until a consumer asks for one (issue 18: a flood's millions of lines are judged from the bytes;
/// a line someone keeps becomes a string then, once). Every line is <see cref="OutputKind.Text"/> of
/// <see cref="Stream"/>, without its <c>\n</c> or <c>\r\n</c>, as an <see cref="OutputLine"/> of it would hold it.
/// Immutable once made; safe to read from several actors at once. Serialized as the list of its lines.
/// </summary>
public sealed class LineBatch : IReadOnlyList<OutputLine>
{
    private readonly byte[] _bytes;
    private readonly int[] _bounds; // start and length of each line, in turn
    private OutputLine?[]? _lines;

    /// <param name="stream">The stream every line came from.</param>
    /// <param name="bytes">The lines' bytes (the batch keeps the array: the caller must not change it).</param>
    /// <param name="bounds">Each line's start and length in <paramref name="bytes"/>, in turn (2 × count entries at least).</param>
    /// <param name="count">How many lines.</param>
    /// <param name="ascii">Every byte is ASCII (a line is then widened byte for char, not decoded).</param>
    public LineBatch(OutputStream stream, byte[] bytes, int[] bounds, int count, bool ascii)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(2 * count, bounds.Length);
        Stream = stream;
        _bytes = bytes;
        _bounds = bounds;
        Count = count;
        Ascii = ascii;
    }

    public OutputStream Stream { get; }

    /// <summary>Every byte of the batch is ASCII: a line's chars are its bytes.</summary>
    public bool Ascii { get; }

    public int Count { get; }

    /// <summary>The bytes the batch holds (for the output flow's accounting).</summary>
    public int ByteCount => _bytes.Length;

    /// <summary>All the batch's bytes: its lines with what ended them (<see cref="Start"/> and <see cref="Length"/> place each).</summary>
    public ReadOnlySpan<byte> Block => _bytes;

    /// <summary>Where line <paramref name="index"/> starts in <see cref="Block"/>.</summary>
    public int Start(int index) => _bounds[2 * index];

    /// <summary>Line <paramref name="index"/>'s length in bytes, without its <c>\n</c> or <c>\r\n</c>.</summary>
    public int Length(int index) => _bounds[(2 * index) + 1];

    /// <summary>Line <paramref name="index"/>'s bytes (UTF-8; ASCII when <see cref="Ascii"/>).</summary>
    public ReadOnlySpan<byte> Bytes(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _bytes.AsSpan(_bounds[2 * index], _bounds[(2 * index) + 1]);
    }

    /// <summary>
    /// Line <paramref name="index"/>'s chars, decoded into <paramref name="scratch"/> (grown when too small) with no
    /// string made: the span is valid until the scratch is used again.
    /// </summary>
    public ReadOnlySpan<char> Chars(int index, ref char[] scratch)
    {
        var bytes = Bytes(index);
        if (scratch.Length < bytes.Length)
        {
            scratch = new char[Math.Max(bytes.Length, scratch.Length * 2)];
        }

        var length = Ascii ? Encoding.Latin1.GetChars(bytes, scratch) : Encoding.UTF8.GetChars(bytes, scratch);
        return scratch.AsSpan(0, length);
    }

    /// <summary>Line <paramref name="index"/> as a string (made once, then kept).</summary>
    public string Text(int index) => this[index].Text;

    public OutputLine this[int index]
    {
        get
        {
            var bytes = Bytes(index);
            var lines = Volatile.Read(ref _lines) ?? Interlocked.CompareExchange(ref _lines, new OutputLine?[Count], null) ?? _lines;
            return lines[index] ??= new OutputLine(Stream, Ascii ? Encoding.Latin1.GetString(bytes) : Encoding.UTF8.GetString(bytes), OutputKind.Text);
        }
    }

    public IEnumerator<OutputLine> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
