using System.Text;

namespace DarkFactory.Actors.Output;

/// <summary>Replaces known secret values in output bytes with "***" before they reach a file or a subscriber.</summary>
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
    }

    public bool IsEmpty => _secrets.Length == 0;

    /// <summary>Returns the input itself when it holds no secret (the common case costs one vectorised scan per secret).</summary>
    public ReadOnlyMemory<byte> Redact(ReadOnlyMemory<byte> input)
    {
        if (_secrets.Length == 0)
        {
            return input;
        }

        var found = false;
        foreach (var secret in _secrets)
        {
            if (input.Span.IndexOf(secret) >= 0)
            {
                found = true;
                break;
            }
        }

        if (!found)
        {
            return input;
        }

        var buffer = input.ToArray().AsSpan();
        var output = new List<byte>(buffer.Length);
        var i = 0;
        while (i < buffer.Length)
        {
            var matched = false;
            foreach (var secret in _secrets)
            {
                if (buffer[i..].StartsWith(secret))
                {
                    output.AddRange(Mask);
                    i += secret.Length;
                    matched = true;
                    break;
                }
            }

            if (!matched)
            {
                output.Add(buffer[i]);
                i++;
            }
        }

        return output.ToArray();
    }

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
}
