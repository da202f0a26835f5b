using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// Mutual TLS on the cluster's Akka.Remote port: a node presents a self-signed certificate of its key and accepts a
/// peer, in either direction, only when the peer's certificate carries a key of the cluster. A process that holds no
/// such key — an agent with the network open, which reaches the node's port like any local process — cannot complete
/// the handshake, so it can send the node nothing. The cluster's keys come from one of two places:
/// <list type="bullet">
/// <item><description><b>a shared secret</b> (<c>DF_CLUSTER_SECRET</c>, <see cref="From"/>): every node derives the same
/// P-256 key from it (HMAC-SHA256 of the secret) and accepts that one key. The secret never leaves the daemon: runs get
/// an allowlisted environment (never <c>DF_*</c>), and it is not logged;</description></item>
/// <item><description><b>the cluster's store</b> (the default, <see cref="ForNode"/>): each node keeps its own key in its
/// data directory (<see cref="NodeKey"/>), writes only the public half to the PostgreSQL database the cluster shares
/// (<see cref="ClusterKeys"/>), and accepts the public keys written there (<see cref="TrustedKeys"/>). Nothing secret is
/// written anywhere but the node's own key file; the trust is the database's: whoever may write to it may join.</description></item>
/// </list>
/// </summary>
public sealed class ClusterTls
{
    /// <summary>The variable that holds the cluster's secret.</summary>
    public const string Variable = "DF_CLUSTER_SECRET";

    /// <summary>The fewest characters a secret may have.</summary>
    public const int MinimumLength = 16;

    /// <summary>The HOCON that turns the transport's TLS on (the certificate comes with <see cref="Setup"/>).</summary>
    public const string Hocon = "akka.remote.dot-netty.tcp.enable-ssl = true";

    private static readonly byte[] Purpose = "dark-factory cluster transport key v1"u8.ToArray();
    private readonly Func<byte[], bool> _trusts;

    private ClusterTls(X509Certificate2 certificate, Func<byte[], bool> trusts, string source)
    {
        Certificate = certificate;
        _trusts = trusts;
        Source = source;
    }

    /// <summary>This node's certificate (with its private key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Where the cluster's keys come from: <c>secret</c> or <c>store</c>.</summary>
    public string Source { get; }

    /// <summary>This node's public key (its certificate's SubjectPublicKeyInfo), as <see cref="ClusterKeys"/> keeps it.</summary>
    public byte[] PublicKey => Certificate.PublicKey.ExportSubjectPublicKeyInfo();

    /// <summary>The TLS of <paramref name="secret"/>; none when it is not set (or empty); null with the reason when it is too short to be one.</summary>
    public static (ClusterTls? Tls, string? Error) From(string? secret)
    {
        if (string.IsNullOrWhiteSpace(secret))
        {
            return (null, null);
        }

        if (secret.Trim().Length < MinimumLength)
        {
            return (null, $"{Variable} is too short: use at least {MinimumLength} characters (for example: openssl rand -hex 32), the same on every node");
        }

        using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret.Trim()), Purpose) });
        var certificate = SelfSigned(key);
        var own = certificate.PublicKey.ExportSubjectPublicKeyInfo();
        return (new ClusterTls(certificate, peer => CryptographicOperations.FixedTimeEquals(peer, own), "secret"), null);
    }

    /// <summary>The TLS of a node's own <paramref name="key"/>, accepting the keys <paramref name="trusted"/> holds (the cluster's store).</summary>
    public static ClusterTls ForNode(ECDsa key, TrustedKeys trusted) => new(SelfSigned(key), trusted.Trusts, "store");

    /// <summary>Whether <paramref name="peer"/> is a node of this cluster: its certificate carries a key of the cluster.</summary>
    public bool Accepts(X509Certificate2? peer) => peer is not null && _trusts(peer.PublicKey.ExportSubjectPublicKeyInfo());

    /// <summary>The transport's TLS for the actor system: mutual, each side checking the other's key with <see cref="Accepts"/>.</summary>
    public DotNettySslSetup Setup() =>
        new(Certificate, suppressValidation: false, requireMutualAuthentication: true, customValidator: (certificate, _, _, _, _) => Accepts(certificate));

    private static X509Certificate2 SelfSigned(ECDsa key)
    {
        var request = new CertificateRequest("CN=dark-factory-cluster", key, HashAlgorithmName.SHA256);
        using var signed = request.CreateSelfSigned(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero));
        // through PKCS#12 and back, so that the TLS stack finds its private key (an ephemeral key is not usable on Linux)
        return X509CertificateLoader.LoadPkcs12(signed.Export(X509ContentType.Pkcs12), null);
    }
}
