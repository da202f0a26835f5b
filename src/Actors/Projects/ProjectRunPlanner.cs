namespace DarkFactory.Actors.Projects;

/// <summary>
/// A run a project asks the fleet for: its purpose, the persona that plays it (and the agent it names, empty for the
/// router's choice), the task and attempt, the handoff it gets and the composed prompt.
/// </summary>
public sealed record ProjectRunRequest(ProjectRunPurpose Purpose, Persona Persona, string Agent, string TaskId, ProjectTask? Task, int? Attempt, HandoffContext? Handoff, string Prompt);

/// <summary>Pure composition of a project's next run: the persona, its gates' names, the attempt, the handoff, the prompt.</summary>
public static class ProjectRunPlanner
{
    /// <param name="open">For a task: the attempt an interruption left open (continued), else null (a new attempt).</param>
    /// <returns>The run, or the error that fails the project (an unknown persona, a persona's gates that cannot run).</returns>
    public static (ProjectRunRequest? Run, string? Error) Compose(
        ProjectState s, ProjectRunPurpose purpose, string personaName, PersonaCatalog personas, ProjectsSpec projects, ProjectTask? task = null, TaskAttempt? open = null)
    {
        if (personas.Find(personaName) is not { } persona)
        {
            return (null, $"persona '{personaName}' is not in projects.personas_dir ({projects.PersonasDir})");
        }

        string prompt;
        int? attempt = null;
        HandoffContext? handoff = null;
        switch (purpose)
        {
            case ProjectRunPurpose.Plan:
                prompt = ProjectPrompts.Plan(s, persona, s.Created.Personas.Select(personas.Find).OfType<Persona>().ToList());
                break;
            case ProjectRunPurpose.Audit:
                prompt = ProjectPrompts.Audit(s, persona);
                break;
            default:
                var (gates, error) = ProjectGates.For(persona, s.Created.Repo, projects);
                if (error is not null)
                {
                    return (null, error);
                }

                attempt = ProjectRules.AttemptNumber(task!, open);
                handoff = ProjectRules.HandoffFor(s, task!, open);
                prompt = ProjectPrompts.Task(s, persona, task!, attempt.Value, handoff, ProjectGates.Names(gates));
                break;
        }

        var taskId = task?.Id ?? (purpose == ProjectRunPurpose.Plan ? "plan" : "audit");
        return (new ProjectRunRequest(purpose, persona, persona.Agent ?? string.Empty, taskId, task, attempt, handoff, prompt), null);
    }
}
