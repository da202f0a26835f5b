using System.Text.RegularExpressions;

namespace DarkFactory.Host.Api;

/// <summary>Which agent names the read endpoints (logs, history, the event stream's output) answer for.</summary>
public static partial class AgentNames
{
    /// <summary>
    /// A fleet agent, or a project's instance of one (<c>agent@p-3f9a2c</c>), whose log and history are its own. The
    /// project part may hold an id's characters only: the name becomes a file name, so no path can be smuggled in.
    /// </summary>
    public static bool Readable(FleetSpec fleet, string name)
    {
        if (AgentInstance.IsInstance(name))
        {
            var at = name.IndexOf(AgentInstance.Separator, StringComparison.Ordinal);
            return ProjectIdPart().IsMatch(name[(at + 1)..]) && Declared(fleet, name[..at]);
        }

        return Declared(fleet, name);
    }

    private static bool Declared(FleetSpec fleet, string name) => fleet.Agents.Any(a => a.Name == name);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial Regex ProjectIdPart();
}
