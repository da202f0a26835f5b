using System.Text.RegularExpressions;

namespace DarkFactory.Host.Fleet;

/// <summary>
/// Parses fleet.yaml sizes: a plain number of bytes (<c>4096</c>), binary units <c>KiB MiB GiB TiB</c>
/// (powers of 1024) and decimal units <c>KB MB GB TB</c> (powers of 1000), plus <c>B</c>.
/// Units are case-insensitive; a space between number and unit is allowed. A leading <c>-</c> is accepted so
/// that validators can report "must be positive".
/// </summary>
public static partial class Sizes
{
    public const long KiB = 1024;
    public const long MiB = 1024 * KiB;
    public const long GiB = 1024 * MiB;

    [GeneratedRegex(@"^(-?)([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)$", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();

    private static readonly Dictionary<string, decimal> Units = new(StringComparer.OrdinalIgnoreCase)
    {
        [""] = 1,
        ["b"] = 1,
        ["kib"] = KiB,
        ["mib"] = MiB,
        ["gib"] = GiB,
        ["tib"] = 1024m * GiB,
        ["kb"] = 1000m,
        ["mb"] = 1000m * 1000,
        ["gb"] = 1000m * 1000 * 1000,
        ["tb"] = 1000m * 1000 * 1000 * 1000,
    };

    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var m = Shape().Match(text.Trim());
        if (!m.Success || !Units.TryGetValue(m.Groups[3].Value, out var unit))
        {
            return false;
        }

        if (!decimal.TryParse(m.Groups[2].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        decimal total;
        try
        {
            total = decimal.Round(n * unit);
        }
        catch (OverflowException)
        {
            return false;
        }

        if (total > long.MaxValue)
        {
            return false;
        }

        bytes = (long)total * (m.Groups[1].Value == "-" ? -1 : 1);
        return true;
    }
}
