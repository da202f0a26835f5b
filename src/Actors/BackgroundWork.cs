namespace DarkFactory.Actors;

/// <summary>
/// Work an actor runs outside its mailbox (a step of the compound review or of a project, in a task) that a
/// simulation must wait for before it moves virtual time: a scenario sandbox's scheduler implements it, so a step
/// that is still running (its code compiled on first use, a slow machine) is not overtaken by the clock. The daemon's
/// scheduler does not (there is nothing to wait for on the wall clock).
/// </summary>
public interface IBackgroundWork
{
    /// <summary>Work began; dispose the answer once its result is in the actor's mailbox.</summary>
    IDisposable Begin();
}

public static class BackgroundWork
{
    /// <summary>The system's tracker of background work, if its scheduler keeps one (a scenario sandbox's).</summary>
    public static IBackgroundWork? Of(ActorSystem system) => system.Scheduler as IBackgroundWork;
}
