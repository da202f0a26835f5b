using System.Buffers;
using System.Runtime.CompilerServices;

namespace DarkFactory.Actors.Output;

/// <summary>Lines read from one stream of a run, sent by the pump to its ProcessActor.</summary>
internal sealed record OutputChunk(OutputStream Stream, IReadOnlyList<OutputLine> Lines);

/// <summary>End of one output stream of a run.</summary>
internal sealed record OutputStreamEnded(OutputStream Stream);

/// <summary>
/// Reads one output stream of a run: appends the raw (redacted) bytes to the agent's log file, splits
/// them into lines and sends them to the ProcessActor in batches. Flow control: each batch takes one of the
/// run's <see cref="RunCredits"/>, given back once the batch is out of the ProcessActor's mailbox and of every
/// output consumer's (<see cref="OutputFlow"/>); with none left the pump stops reading, the pipe fills and the
/// agent blocks on write — back-pressure, never loss. It touches no actor state: its only links to the actor
/// are <see cref="IActorRef.Tell"/> and the credits.
/// </summary>
internal sealed class OutputPump
{
    private const int SmallBuffer = 2 * 1024;
    private const int LargeBuffer = 128 * 1024;
    private const int MaxLineBytes = 64 * 1024;
    private const int MaxLinesPerBatch = 4096;
    private const int MinReadAhead = 4096;

    /// <summary>A batch's bytes at most (a longer line goes alone): under the large object heap's 85,000 bytes.</summary>
    private const int BatchBytes = 64 * 1024;

    private readonly Stream _stream;
    private readonly OutputStream _kind;
    private readonly LogSink _sink;
    private readonly Redactor _redactor;
    private readonly IActorRef _target;
    private readonly RunCredits _credits;
    private readonly Func<OutputStream, string, OutputKind> _classify;
    private readonly bool _plain;
    private readonly byte[] _first = new byte[1]; // a quiet pipe is waited on with this, not a rented buffer
    private bool _holding;

    public OutputPump(
        Stream stream,
        OutputStream kind,
        LogSink sink,
        Redactor redactor,
        IActorRef target,
        RunCredits credits,
        Func<OutputStream, string, OutputKind> classify)
    {
        _stream = stream;
        _kind = kind;
        _sink = sink;
        _redactor = redactor;
        _target = target;
        _credits = credits;
        _classify = classify;
        _plain = ReferenceEquals(classify, Adapters.CliAdapters.PlainText);
    }

    /// <summary>Bytes waiting in the pipe (0 when unknown): lets the loop batch without ever blocking on a read.</summary>
    private int Waiting()
    {
        if (_stream is not System.IO.Pipes.PipeStream pipe)
        {
            return 0;
        }

        var handle = pipe.SafePipeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Processes.Native.BytesAvailable((int)handle.DangerousGetHandle());
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public Task Run(CancellationToken cancel) => Task.Run(() => Loop(cancel), CancellationToken.None);

    private async Task Loop(CancellationToken cancel)
    {
        // A quiet agent's pump holds no buffer: it waits for a pipe's output with a one-byte read (a zero-byte read of
        // a pipe does not wait here), then rents a small one; one that fills it gets a large one; both go back to the
        // pool once everything read is handled and nothing more waits (1,000 idle agents hold none).
        byte[]? buffer = _stream is System.IO.Pipes.PipeStream ? null : ArrayPool<byte>.Shared.Rent(SmallBuffer);
        _holding = buffer is not null;
        var carry = 0; // bytes of an unfinished line at the start of buffer
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                if (buffer is not null && carry == buffer.Length)
                {
                    if (buffer.Length < LargeBuffer)
                    {
                        buffer = Grow(buffer, carry, LargeBuffer);
                    }
                    else
                    {
                        // A line longer than the buffer: emit what we have as one line (less the start of a
                        // secret the next read may complete, which the redactor holds back).
                        carry = await Emit(buffer, carry, forceAll: true, cancel).ConfigureAwait(false);
                    }
                }

                int read;
                var filled = carry;
                try
                {
                    if (buffer is null)
                    {
                        read = await _stream.ReadAsync(_first, cancel).ConfigureAwait(false);
                        if (read == 0)
                        {
                            break;
                        }

                        buffer = ArrayPool<byte>.Shared.Rent(SmallBuffer);
                        Volatile.Write(ref _holding, true);
                        buffer[0] = _first[0];
                        filled = 1;
                        if (Waiting() > 0)
                        {
                            read = await _stream.ReadAsync(buffer.AsMemory(filled), cancel).ConfigureAwait(false);
                            filled += read;
                        }
                    }
                    else
                    {
                        read = await _stream.ReadAsync(buffer.AsMemory(filled), cancel).ConfigureAwait(false);
                        filled += read;
                    }

                    // While more output is already waiting (the read completes at once), keep filling the
                    // buffer: a fast agent is handled in large batches, a quiet one line by line.
                    while (read > 0 && buffer.Length - filled >= MinReadAhead && Waiting() > 0)
                    {
                        read = await _stream.ReadAsync(buffer.AsMemory(filled), cancel).ConfigureAwait(false);
                        filled += read;
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
                {
                    break;
                }

                if (filled == carry)
                {
                    break;
                }

                if (filled == buffer.Length && buffer.Length < LargeBuffer)
                {
                    buffer = Grow(buffer, filled, LargeBuffer);
                }

                carry = await Emit(buffer, filled, forceAll: false, cancel).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (carry == 0 && _stream is System.IO.Pipes.PipeStream && Waiting() == 0)
                {
                    Release(ref buffer);
                }
            }

            if (carry > 0 && buffer is not null)
            {
                await Emit(buffer, carry, forceAll: true, cancel, final: true).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // the run is over
        }
        finally
        {
            Release(ref buffer);
            _sink.Flush();
            _target.Tell(new OutputStreamEnded(_kind));
        }
    }

    /// <summary>The pump holds a read buffer now (false while its agent is quiet and after the end).</summary>
    public bool Holding => Volatile.Read(ref _holding);

    private void Release(ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
            Volatile.Write(ref _holding, false);
        }
    }

    private static byte[] Grow(byte[] buffer, int used, int size)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        buffer.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    /// <summary>
    /// Writes and sends every complete line in buffer[0..filled) (all of it when forced); moves the rest to the
    /// front and returns its length. Redaction holds across reads: bytes that may begin a secret the next read
    /// completes stay in the buffer (unless <paramref name="final"/>), so a secret split by a chunk boundary, a
    /// flush or an over-long line is masked whole.
    /// </summary>
    private async ValueTask<int> Emit(byte[] buffer, int filled, bool forceAll, CancellationToken cancel, bool final = false)
    {
        var data = buffer.AsMemory(0, filled);
        var end = forceAll ? filled : data.Span.LastIndexOf((byte)'\n') + 1;
        if (end <= 0)
        {
            if (filled < MaxLineBytes)
            {
                return filled;
            }

            end = filled; // an over-long line without a newline yet
        }

        var (block, consumed) = _redactor.Redact(data, end, final);
        if (consumed == 0 && filled == buffer.Length)
        {
            (block, consumed) = _redactor.Redact(data, end, final: true); // a "secret" as long as the buffer: never stall
        }

        _sink.Write(block.Span);
        if (forceAll && block.Length > 0 && block.Span[^1] != (byte)'\n')
        {
            _sink.Write("\n"u8);
        }

        // Batches of at most BatchBytes (a longer line goes alone), cut at line ends; each takes a credit.
        for (var left = block; !left.IsEmpty;)
        {
            var take = Cut(left.Span);
            if (_plain)
            {
                var batch = Batch(left.Span[..take]);
                await _credits.TakeAsync(cancel).ConfigureAwait(false);
                _target.Tell(new OutputChunk(_kind, batch));
            }
            else
            {
                var lines = Split(left.Span[..take]);
                for (var i = 0; i < lines.Count; i += MaxLinesPerBatch)
                {
                    var batch = i == 0 && lines.Count <= MaxLinesPerBatch ? lines : lines.GetRange(i, Math.Min(MaxLinesPerBatch, lines.Count - i));
                    await _credits.TakeAsync(cancel).ConfigureAwait(false);
                    _target.Tell(new OutputChunk(_kind, batch));
                }
            }

            left = left[take..];
        }

        var rest = filled - consumed;
        if (rest > 0)
        {
            buffer.AsSpan(consumed, rest).CopyTo(buffer);
        }

        return rest;
    }

    /// <summary>How much of <paramref name="block"/> the next batch takes: up to <see cref="BatchBytes"/>, ending at a line's end (a longer line whole).</summary>
    private static int Cut(ReadOnlySpan<byte> block)
    {
        if (block.Length <= BatchBytes)
        {
            return block.Length;
        }

        var end = block[..BatchBytes].LastIndexOf((byte)'\n');
        if (end >= 0)
        {
            return end + 1;
        }

        end = block[BatchBytes..].IndexOf((byte)'\n');
        return end < 0 ? block.Length : BatchBytes + end + 1;
    }

    /// <summary>
    /// A plain command's lines: the block's bytes copied once with each line's place (<see cref="LineBatch"/>), no
    /// string or record per line (issue 18: a consumer that keeps a line makes its string then).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per line of a flood: optimized from the first call
    private LineBatch Batch(ReadOnlySpan<byte> block)
    {
        var count = block.IsEmpty ? 0 : block.Count((byte)'\n') + (block[^1] == (byte)'\n' ? 0 : 1);
        var bytes = block.ToArray();
        var bounds = new int[2 * count];
        var start = 0;
        for (var i = 0; i < count; i++)
        {
            var nl = bytes.AsSpan(start).IndexOf((byte)'\n');
            var end = nl < 0 ? bytes.Length : start + nl;
            var length = end - start;
            if (length > 0 && bytes[end - 1] == (byte)'\r')
            {
                length--;
            }

            bounds[2 * i] = start;
            bounds[(2 * i) + 1] = length;
            start = end + 1;
        }

        return new LineBatch(_kind, bytes, bounds, count, Ascii.IsValid(bytes));
    }

    // Runs once per line of an AI CLI's output (a string per line: its adapter parses each): compiled optimized from
    // its first call (a fresh daemon's first flood would otherwise split on tier-0 code; bench/capture).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private List<OutputLine> Split(ReadOnlySpan<byte> block)
    {
        var lines = new List<OutputLine>(Math.Max(4, block.Count((byte)'\n') + 1));

        // Most output is ASCII: checked once for the whole block (vectorised), each line is then widened in one pass
        // (Latin-1 is ASCII's superset, byte for char) instead of UTF-8's count-then-transcode.
        var encoding = Ascii.IsValid(block) ? Encoding.Latin1 : Encoding.UTF8;
        while (!block.IsEmpty)
        {
            var nl = block.IndexOf((byte)'\n');
            var line = nl < 0 ? block : block[..nl];
            block = nl < 0 ? [] : block[(nl + 1)..];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            var text = encoding.GetString(line);
            lines.Add(new OutputLine(_kind, text, _classify(_kind, text)));
        }

        return lines;
    }
}
