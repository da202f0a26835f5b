namespace DarkFactory.Actors.Projects;

/// <summary>A project's asks of the fleet (the agent factory), run in a task whose answer goes back to the project as a message.</summary>
public static class ProjectFleet
{
    /// <summary>
    /// Starts the run on the project's own instance of its agent (the persona's, else the router's best fit for its
    /// capabilities): the fleet's answer, the run with the agent chosen, or the error that fails the project (no agent
    /// fits). A fleet that does not answer in time answers <see cref="CommandOutcome.NoAnswer"/> (the project asks again).
    /// </summary>
    public static async Task<(ProjectRunRequest Run, CommandResult? Result, string? Error)> StartAsync(IActorRef factory, ProjectRunRequest run, string worktree, string projectId, TimeSpan timeout)
    {
        var persona = run.Persona;
        try
        {
            var agent = run.Agent;
            if (agent.Length == 0)
            {
                // no agent named: the router's best fit for the persona's capabilities, as /api/route does
                var decision = await factory.Ask<RouteDecision>(new RouteTask(string.Join(' ', persona.Capabilities)), timeout);
                if (decision.Agent is not { } chosen)
                {
                    return (run, null, $"persona '{persona.Name}' names no agent and no agent's capabilities match [{string.Join(", ", persona.Capabilities)}]: set its agent: or give an AI agent such a capability");
                }

                agent = chosen;
            }

            // the project's own instance of the agent: a slot of its own, so projects share an agent at once
            // a retry of the same persona continues its CLI conversation where the CLI can (the handoff is in the prompt either way)
            var start = new StartAgent(AgentInstance.Of(agent, projectId), run.Prompt, worktree, run.TaskId, projectId) { Resume = ProjectRules.ResumeOf(run.Handoff, persona.Name) };
            var answer = await factory.Ask<CommandResult>(start, timeout);
            return (run with { Agent = agent }, answer, null);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return (run, new CommandResult(false, CommandOutcome.NoAnswer, "the fleet did not answer in time"), null);
        }
    }
}
