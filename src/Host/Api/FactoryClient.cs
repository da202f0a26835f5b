using Akka.Hosting;

namespace DarkFactory.Host.Api;

/// <summary>The API's way into the actor tree: asks to the factory gateway, bounded by <see cref="DarkFactoryOptions.AskTimeout"/>.</summary>
public sealed class FactoryClient(IRequiredActor<FactoryActor> gateway, DarkFactoryOptions options)
{
    public DarkFactoryOptions Options { get; } = options;

    public Task<IActorRef> GetAsync(CancellationToken ct) => gateway.GetAsync(ct);

    public Task<T> Ask<T>(object message, CancellationToken ct) => Ask<T>(message, Options.AskTimeout, ct);

    public async Task<T> Ask<T>(object message, TimeSpan timeout, CancellationToken ct) =>
        await (await gateway.GetAsync(ct)).Ask<T>(message, timeout, ct);
}
