namespace DarkFactory.Messages.Cluster;

/// <summary>
/// A read of a cluster singleton's state (<c>df schedule</c>, <c>df review list/show</c>): a node's face for the singleton
/// answers it within a short bound, with the singleton's answer or <see cref="SingletonUnavailable"/>, never after a whole
/// ask timeout while the singleton moves from a lost node. Commands are not marked: they are never answered for the singleton.
/// </summary>
public interface ISingletonRead;

/// <summary>
/// The answer to an <see cref="ISingletonRead"/> while the cluster singleton <paramref name="Singleton"/> cannot answer:
/// its node (<paramref name="From"/>; null when no node of its role is up) is unreachable or downed, so the singleton is
/// moving to the next oldest member of its role, or it gave no answer within the bound. The API says 503 with
/// <c>Retry-After: </c><paramref name="RetryAfterSeconds"/>; <c>df</c> prints <paramref name="Reason"/> and exits non-zero.
/// </summary>
[Manifest("singleton-unavailable")]
public sealed record SingletonUnavailable(string Singleton, string? From, string Reason, int RetryAfterSeconds) : IDarkFactoryMessage;
