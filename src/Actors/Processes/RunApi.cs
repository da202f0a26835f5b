using System.Security.Cryptography;

namespace DarkFactory.Actors.Processes;

/// <summary>Who a run token speaks for: one run of one agent.</summary>
public sealed record RunPrincipal(string Agent, string RunId);

/// <summary>
/// The daemon's API as runs see it: its URL and per-run tokens (<c>DF_API_URL</c>, <c>DF_API_TOKEN</c> in every
/// run's environment). A run token is <c>dfr1.&lt;agent&gt;.&lt;run id&gt;.&lt;mac&gt;</c>, signed with a key derived
/// from the operator's token, so the API checks it without a table; it is good only while that run is the
/// agent's current run, and only for what an agent may do (the API's auth decides). The operator's token is
/// never given to a run.
/// </summary>
public sealed class RunApi
{
    public const string Prefix = "dfr1.";
    public const string UrlVariable = "DF_API_URL";
    public const string TokenVariable = "DF_API_TOKEN";
    private readonly byte[] _key;
    private volatile string? _url;

    public RunApi(byte[] key)
    {
        _key = key;
    }

    /// <summary>The key of run tokens, derived from the operator's token (a new operator token voids every run token).</summary>
    public static RunApi FromOperatorToken(string operatorToken) =>
        new(HMACSHA256.HashData(Encoding.UTF8.GetBytes(operatorToken), "dark factory run tokens v1"u8));

    /// <summary>The API's address once it listens; null before (runs then get no API variables).</summary>
    public string? Url
    {
        get => _url;
        set => _url = value;
    }

    public string Mint(string agent, string runId) => $"{Prefix}{Encode(agent)}.{runId}.{Mac(agent, runId)}";

    /// <summary>The run a token was minted for; null when it is not a run token of this daemon (forged, or from another key).</summary>
    public RunPrincipal? Verify(string token)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var parts = token[Prefix.Length..].Split('.');
        if (parts.Length != 3 || Decode(parts[0]) is not { } agent || parts[1].Length is 0 or > 64)
        {
            return null;
        }

        var expected = Encoding.ASCII.GetBytes(Mac(agent, parts[1]));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[2])) ? new RunPrincipal(agent, parts[1]) : null;
    }

    private string Mac(string agent, string runId) =>
        Base64Url(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(agent + "\n" + runId)));

    private static string Encode(string text) => Base64Url(Encoding.UTF8.GetBytes(text));

    private static string? Decode(string text)
    {
        try
        {
            var padded = text.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            return Encoding.UTF8.GetString(Convert.FromBase64String(padded));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
