using Akka.Actor;
using DarkFactory.Messages.Agents;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>
/// Counts one agent's output lines and tells <c>probe</c> the count once <c>expected</c> were seen, checking their
/// sequence numbers are contiguous (-1 on a gap).
/// </summary>
internal sealed class LineCounter : ReceiveActor
{
    public LineCounter(IActorRef probe, string agent, long expected)
    {
        long seen = 0;
        Receive<AgentOutput>(o =>
        {
            if (o.Agent != agent)
            {
                return;
            }

            if (o.FirstSeq != seen)
            {
                probe.Tell(-1L);
            }

            seen += o.Lines.Count;
            if (seen >= expected)
            {
                probe.Tell(seen);
            }
        });
    }
}
