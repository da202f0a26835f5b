using Akka.Configuration;
using Akka.Dispatch;

namespace DarkFactory.Host.Scenarios;

/// <summary>
/// The dispatcher executor of a scenario sandbox (<c>executor = "DarkFactory.Host.Scenarios.SandboxExecutor, df"</c>):
/// every mailbox run of the sandbox goes to its <see cref="VirtualTime"/>'s one simulation thread (found by the
/// dispatcher's <c>virtual-time</c> key), in the order they were scheduled, so the runner knows when every actor is
/// idle and a scenario's actors take their turns in the same order on every run.
/// </summary>
public sealed class SandboxExecutor(Config config, IDispatcherPrerequisites prerequisites) : ExecutorServiceConfigurator(config, prerequisites)
{
    private readonly VirtualTime _time = VirtualTime.Find(config.GetString("virtual-time", null)
        ?? throw new ConfigurationException("the dispatcher's virtual-time is not set (the scenario sandbox sets it)"));

    public override ExecutorService Produce(string id) => new OnSimulationThread(id, _time);

    private sealed class OnSimulationThread(string id, VirtualTime time) : ExecutorService(id)
    {
        public override void Execute(IRunnable run) => time.Execute(run);

        public override void Shutdown()
        {
        }
    }
}
