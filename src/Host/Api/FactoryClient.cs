using Akka.Hosting;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Host.Api;

/// <summary>The API's way into the actor tree: asks to the factory gateway, bounded by <see cref="DarkFactoryOptions.AskTimeout"/>.</summary>
public sealed class FactoryClient(IRequiredActor<FactoryActor> gateway, DarkFactoryOptions options)
{
    public DarkFactoryOptions Options { get; } = options;

    public Task<IActorRef> GetAsync(CancellationToken ct) => gateway.GetAsync(ct);

    public Task<T> Ask<T>(object message, CancellationToken ct) => Ask<T>(message, Options.AskTimeout, ct);

    /// <summary>The answer; a cluster singleton's face that answers for it (<see cref="SingletonUnavailable"/>) throws <see cref="SingletonUnavailableException"/>.</summary>
    public async Task<T> Ask<T>(object message, TimeSpan timeout, CancellationToken ct) =>
        Answer<T>(await (await gateway.GetAsync(ct)).Ask<object>(message, timeout, ct));

    /// <summary>An ask's answer as <typeparamref name="T"/>, or the singleton's absence as <see cref="SingletonUnavailableException"/>.</summary>
    public static T Answer<T>(object answer) => answer switch
    {
        T t => t,
        SingletonUnavailable gone => throw new SingletonUnavailableException(gone),
        Status.Failure failure => throw failure.Cause ?? new TaskCanceledException("the actor answered with a failure"), // as Ask<T> does
        _ => throw new ArgumentException($"Received message of type [{answer?.GetType()}] - Ask expected message of type [{typeof(T)}]"),
    };
}

/// <summary>A read of a cluster singleton answered by its node's face instead (moving, or no answer in the bound): the API's 503 with Retry-After.</summary>
public sealed class SingletonUnavailableException(SingletonUnavailable unavailable) : Exception(unavailable.Reason)
{
    public SingletonUnavailable Unavailable { get; } = unavailable;
}
