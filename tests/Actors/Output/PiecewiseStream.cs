namespace DarkFactory.Actors.Tests.Output;

/// <summary>A stream that returns its data in the pieces a test chooses: one piece (or less) per read, cut at each offset in <paramref name="cuts"/>.</summary>
internal sealed class PiecewiseStream(byte[] data, IReadOnlyList<int> cuts) : Stream
{
    private int _pos;
    private int _cut;

    public override int Read(byte[] buffer, int offset, int count)
    {
        while (_cut < cuts.Count && cuts[_cut] <= _pos)
        {
            _cut++;
        }

        var until = _cut < cuts.Count ? cuts[_cut] : data.Length;
        var n = Math.Min(count, until - _pos);
        Array.Copy(data, _pos, buffer, offset, n);
        _pos += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => data.Length;
    public override long Position { get => _pos; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
