using System.Text.Json.Serialization;

namespace DarkFactory.Messages.Cluster;

// df logs AGENT [-f] on a node that does not run the agent: the asking node pulls pages of the agent's log from
// the node that runs it (its placement-node hands the request to its log reader). A pull, one page in flight per
// follower and no state kept between pages on the node that reads, so a slow follower grows neither daemon.

/// <summary>
/// Node -> the node that runs <paramref name="Agent"/>: one page of the agent's output log, from byte
/// <paramref name="From"/> (null: from the start of its last <paramref name="Tail"/> lines), at most
/// <paramref name="MaxBytes"/> (the reader caps it at <see cref="PageBytes"/>).
/// </summary>
[Manifest("read-log")]
public sealed record ReadLog(string Agent, long? From, int Tail = 0, int MaxBytes = ReadLog.PageBytes) : IDarkFactoryMessage, IWithAgent
{
    /// <summary>The largest page: well under Akka.Remote's 128,000-byte frame once base64 in JSON.</summary>
    public const int PageBytes = 32 * 1024;
}

/// <summary>
/// The answer to <see cref="ReadLog"/>: <paramref name="Bytes"/> of the log from offset <paramref name="Start"/>
/// (0 again after the file rotated), the file's <paramref name="Length"/> when read; <paramref name="Refused"/> says
/// why there is no page (the node has no log of that name).
/// </summary>
[Manifest("log-page")]
public sealed record LogPage(string Agent, byte[] Bytes, long Start, long Length, string? Refused = null) : IDarkFactoryMessage, IWithAgent
{
    /// <summary>Where the next page starts.</summary>
    [JsonIgnore]
    public long Next => Start + Bytes.Length;

    public static LogPage Refusal(string agent, string reason) => new(agent, [], 0, 0, reason);
}
