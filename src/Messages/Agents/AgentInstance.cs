namespace DarkFactory.Messages.Agents;

/// <summary>
/// A project's runs of an agent run as an instance of it: a slot of its own in the agent's layer, named
/// <c>agent@project-id</c>, with the agent's declaration (so several projects use one agent at once, and a
/// project's run never collides with the agent's own schedule). Events of such a run carry the instance name.
/// </summary>
public static class AgentInstance
{
    public const char Separator = '@';

    public static string Of(string agent, string projectId) => agent + Separator + projectId;

    /// <summary>The declared agent an instance name belongs to (the name itself when it is not an instance).</summary>
    public static string BaseOf(string name) => name.IndexOf(Separator, StringComparison.Ordinal) is var i and > 0 ? name[..i] : name;

    /// <summary>agent@project: one separator, with a name on each side.</summary>
    public static bool IsInstance(string name)
    {
        var i = name.IndexOf(Separator, StringComparison.Ordinal);
        return i > 0 && i < name.Length - 1 && name.IndexOf(Separator, i + 1) < 0;
    }
}
