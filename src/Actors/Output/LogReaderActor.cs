using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Output;

/// <summary>
/// Answers another node's <see cref="ReadLog"/> with one <see cref="LogPage"/> of an agent's log on this node (a cluster
/// node's placement-node hands it the requests). The file is read off the mailbox (a task piped to the asker); a page
/// is never larger than <see cref="ReadLog.PageBytes"/>, whatever the asker asked for, and nothing is kept between
/// pages: the asker pulls the next one when it has written the last, so a slow follower costs this node nothing.
/// </summary>
public sealed class LogReaderActor : ReceiveActor
{
    /// <summary>The most lines a tail may ask for (as the local API).</summary>
    public const int MaxTail = 100_000;

    /// <param name="pathOf">The log file of an agent (or a project's instance of one) this node may show; null when the name is not one.</param>
    public LogReaderActor(Func<string, string?> pathOf)
    {
        Receive<ReadLog>(request =>
        {
            var asker = Sender;
            if (pathOf(request.Agent) is not { } path)
            {
                asker.Tell(LogPage.Refusal(request.Agent, $"no agent named '{request.Agent}' in this node's fleet"));
                return;
            }

            var max = Math.Clamp(request.MaxBytes, 1, ReadLog.PageBytes);
            var tail = Math.Clamp(request.Tail, 0, MaxTail);
            Task.Run(() => LogPages.Read(request.Agent, path, request.From, tail, max))
                .PipeTo(asker, failure: e => LogPage.Refusal(request.Agent, $"the log of '{request.Agent}' could not be read: {e.GetBaseException().Message}"));
        });
    }

    public static Props Props(Func<string, string?> pathOf) => Akka.Actor.Props.Create(() => new LogReaderActor(pathOf));
}
