namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// Agent-to-agent delegation by @mention (pure): a line that names an on-demand agent (growth layer, no
/// schedule, not autostarted) as <c>@name</c> starts it with the rest of the line as its task, at most once
/// per <paramref name="cooldown"/> per agent. An agent never starts itself.
/// </summary>
public sealed class Mentions(TimeSpan cooldown)
{
    private readonly Dictionary<string, DateTimeOffset> _started = new(StringComparer.Ordinal);
    private string[] _targets = [];

    /// <summary>True when some agent can be mentioned (otherwise no line needs looking at).</summary>
    public bool Any => _targets.Length > 0;

    /// <summary>The fleet's on-demand agents become the names a line can mention.</summary>
    public void Fleet(FleetSpec fleet) => _targets = fleet.Agents
        .Where(a => a.Layer == LayerName.Growth && a.Schedule is null && a.Autostart != true)
        .Select(a => a.Name)
        .ToArray();

    /// <summary>The starts a line of <paramref name="source"/>'s output asks for (usually none).</summary>
    public IReadOnlyList<StartAgent> In(string source, string text, DateTimeOffset now)
    {
        if (_targets.Length == 0 || !text.Contains('@'))
        {
            return [];
        }

        List<StartAgent>? starts = null;
        foreach (var target in _targets)
        {
            if (target == source)
            {
                continue;
            }

            var at = text.IndexOf("@" + target, StringComparison.Ordinal);
            var end = at + target.Length + 1;
            if (at < 0 || (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] is '-' or '_')))
            {
                continue;
            }

            if (_started.TryGetValue(target, out var last) && now - last < cooldown)
            {
                continue;
            }

            _started[target] = now;
            var task = text[end..].Trim(' ', ':', ',', '-', '\t');
            (starts ??= []).Add(new StartAgent(target, task.Length == 0 ? null : $"{task} (asked by {source})", By: Requester.Agent(source) + " (@mention)"));
        }

        return starts ?? (IReadOnlyList<StartAgent>)[];
    }
}
