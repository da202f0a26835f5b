using System.Security.Cryptography;
using DarkFactory.Host.Cluster;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary>
/// The cluster's keys as the TLS handshake asks for them: a known key costs no read of the store; an unknown one reads
/// it once; a process knocking with made-up keys costs one read per interval however fast it knocks; a failed read
/// keeps the keys known before it.
/// </summary>
public sealed class TrustedKeysTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly List<byte[]> _store = [];
    private DateTimeOffset _now = new(2026, 12, 7, 22, 0, 0, TimeSpan.Zero);
    private Exception? _failure;

    private TrustedKeys Keys() => new(() => _failure is null ? [.. _store] : throw _failure, () => _now, Interval);

    private static byte[] Key() => ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportSubjectPublicKeyInfo();

    [Fact]
    public void A_node_that_wrote_its_key_after_this_one_started_is_trusted_on_its_first_knock()
    {
        var early = Key();
        _store.Add(early);
        var keys = Keys();
        Assert.True(keys.Trusts(early));
        Assert.Equal(1, keys.Loads);

        var late = Key();
        _store.Add(late);
        _now += Interval;
        Assert.True(keys.Trusts(late));
        Assert.True(keys.Trusts(early));
        Assert.Equal(2, keys.Loads); // the known key cost nothing
    }

    [Fact]
    public void A_flood_of_made_up_keys_is_refused_and_costs_one_read_of_the_store_per_interval()
    {
        var node = Key();
        _store.Add(node);
        var keys = Keys();
        for (var i = 0; i < 1000; i++)
        {
            Assert.False(keys.Trusts(Key()));
            _now += TimeSpan.FromMilliseconds(10); // 100 knocks a second for 10 s
        }

        Assert.InRange(keys.Loads, 10, 11);
        Assert.True(keys.Trusts(node));
    }

    [Fact]
    public void A_key_that_differs_in_one_byte_or_in_length_is_not_trusted()
    {
        var node = Key();
        _store.Add(node);
        var keys = Keys();
        var forged = (byte[])node.Clone();
        forged[^1] ^= 1;
        Assert.False(keys.Trusts(forged));
        Assert.False(keys.Trusts(node[..^1]));
        Assert.False(keys.Trusts([]));
        Assert.True(keys.Trusts(node));
    }

    [Fact]
    public void A_store_that_cannot_be_read_keeps_the_keys_known_before_and_says_why()
    {
        var node = Key();
        _store.Add(node);
        var keys = Keys();
        Assert.True(keys.Trusts(node));

        _failure = new InvalidOperationException("the database is restarting");
        _now += Interval;
        Assert.False(keys.Trusts(Key()));
        Assert.Equal("the database is restarting", keys.LastError);
        Assert.True(keys.Trusts(node));

        _failure = null;
        var late = Key();
        _store.Add(late);
        _now += Interval;
        Assert.True(keys.Trusts(late));
        Assert.Null(keys.LastError);
    }
}
