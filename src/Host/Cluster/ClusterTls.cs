using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// Mutual TLS on the cluster's Akka.Remote port, keyed by a secret every node is given (<c>DF_CLUSTER_SECRET</c>): each
/// node derives the same P-256 key from it (HMAC-SHA256 of the secret) and presents a self-signed certificate of that key,
/// and accepts a peer, in either direction, only when the peer's certificate carries the same public key. A process
/// without the secret — an agent with the network open, which reaches the node's port like any local process — cannot
/// complete the handshake, so it can send the node nothing. The secret never leaves the daemon: runs get an allowlisted
/// environment (never <c>DF_*</c>), and it is not logged.
/// </summary>
public sealed class ClusterTls
{
    /// <summary>The variable that holds the cluster's secret.</summary>
    public const string Variable = "DF_CLUSTER_SECRET";

    /// <summary>The fewest characters a secret may have.</summary>
    public const int MinimumLength = 16;

    private static readonly byte[] Purpose = "dark-factory cluster transport key v1"u8.ToArray();
    private readonly byte[] _publicKey;

    private ClusterTls(X509Certificate2 certificate)
    {
        Certificate = certificate;
        _publicKey = certificate.PublicKey.ExportSubjectPublicKeyInfo();
    }

    /// <summary>This node's certificate (with its private key).</summary>
    public X509Certificate2 Certificate { get; }

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
        var request = new CertificateRequest("CN=dark-factory-cluster", key, HashAlgorithmName.SHA256);
        using var signed = request.CreateSelfSigned(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero));
        // through PKCS#12 and back, so that the TLS stack finds its private key (an ephemeral key is not usable on Linux)
        return (new ClusterTls(X509CertificateLoader.LoadPkcs12(signed.Export(X509ContentType.Pkcs12), null)), null);
    }

    /// <summary>Whether <paramref name="peer"/> is a node of this cluster: its certificate carries the key of the same secret.</summary>
    public bool Accepts(X509Certificate2? peer) =>
        peer is not null && CryptographicOperations.FixedTimeEquals(peer.PublicKey.ExportSubjectPublicKeyInfo(), _publicKey);

    /// <summary>The transport's TLS for the actor system: mutual, each side checking the other's key with <see cref="Accepts"/>.</summary>
    public DotNettySslSetup Setup() =>
        new(Certificate, suppressValidation: false, requireMutualAuthentication: true, customValidator: (certificate, _, _, _, _) => Accepts(certificate));

    /// <summary>The HOCON that turns the transport's TLS on (the certificate comes with <see cref="Setup"/>).</summary>
    public const string Hocon = "akka.remote.dot-netty.tcp.enable-ssl = true";
}
