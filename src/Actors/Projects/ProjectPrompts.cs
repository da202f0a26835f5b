namespace DarkFactory.Actors.Projects;

/// <summary>
/// The prompts of a project's runs, composed from the persona's body, the project's description, the task and
/// its handoff, and (planner, auditor) the answer format the parsers read. Pure.
/// </summary>
public static class ProjectPrompts
{
    public const string PlanFormat = """{"tasks": [{"title": "...", "description": "...", "priority": 1, "dependencies": ["the title of a task it needs first"], "persona": "..."}]}""";
    public const string AuditFormat = """{"tasks": [{"id": "t1", "complete": true, "evidence": "what you checked and found", "confidence": 0.9}]}""";

    public static string Plan(ProjectState s, Persona planner, IReadOnlyList<Persona> personas)
    {
        var sb = Head(planner, s);
        sb.Append("# Personas that can work on tasks\n\n");
        foreach (var p in personas)
        {
            sb.Append("- ").Append(p.Name).Append(string.IsNullOrWhiteSpace(p.Description) ? string.Empty : ": " + p.Description.Trim()).Append('\n');
        }

        sb.Append("\n# Your answer\n\nPlan the work as a task list. End your answer with one JSON object, in a fenced ```json block or on a line of its own:\n\n")
            .Append(PlanFormat).Append("\n\n")
            .Append("priority: 1 (highest) to 5 (lowest). persona: one of ").Append(string.Join(", ", personas.Select(p => p.Name)))
            .Append(". Titles must differ; dependencies name the titles of other tasks in the plan.\n");
        if (s.LastPlanError is { } error)
        {
            sb.Append("\nYour previous plan could not be read: ").Append(error).Append(". Answer again and fix that.\n");
        }

        return sb.ToString();
    }

    /// <param name="checks">What the daemon runs after the task (the persona's acceptance criteria as gates).</param>
    public static string Task(ProjectState s, Persona persona, ProjectTask task, int attempt, HandoffContext? handoff, IReadOnlyList<string> checks)
    {
        var sb = Head(persona, s);
        sb.Append("# Your task: ").Append(task.Title).Append(" (").Append(task.Id).Append(", priority ").Append(task.Priority)
            .Append(", attempt ").Append(attempt).Append(" of ").Append(s.Created.MaxAttempts).Append(")\n\n");
        if (!string.IsNullOrWhiteSpace(task.Description))
        {
            sb.Append(task.Description.Trim()).Append("\n\n");
        }

        sb.Append("Work in the current directory: the project's own worktree, branch ").Append(s.Created.WorkBranch)
            .Append(". Do not push; the daemon commits what you change.");
        if (checks.Count > 0)
        {
            sb.Append(" When you finish, the daemon checks your work with: ").Append(string.Join(", ", checks)).Append('.');
        }

        sb.Append('\n');
        if (handoff is not null)
        {
            AppendHandoff(sb, handoff);
        }

        return sb.ToString();
    }

    public static string Audit(ProjectState s, Persona auditor)
    {
        var sb = Head(auditor, s);
        sb.Append("# Audit\n\nVerify each completed task below against the current directory (the project's worktree, branch ")
            .Append(s.Created.WorkBranch).Append("). For each, say whether it is complete, with the evidence you found and your confidence from 0 to 1.\n\n");
        foreach (var t in s.Tasks.Where(t => t.Status == ProjectTaskStatus.Completed))
        {
            var files = t.Attempts.SelectMany(a => a.FilesChanged).Distinct().ToList();
            sb.Append("- ").Append(t.Id).Append(": ").Append(t.Title).Append(" (").Append(t.Persona)
                .Append(files.Count > 0 ? "; files changed: " + string.Join(", ", files.Take(20)) : string.Empty).Append(")\n");
            if (!string.IsNullOrWhiteSpace(t.Description))
            {
                sb.Append("  ").Append(t.Description.Trim().Replace("\n", "\n  ", StringComparison.Ordinal)).Append('\n');
            }
        }

        sb.Append("\nEnd your answer with one JSON object, in a fenced ```json block or on a line of its own:\n\n").Append(AuditFormat).Append('\n');
        if (s.LastAuditError is { } error && s.AuditErrors > 0)
        {
            sb.Append("\nYour previous audit could not be read: ").Append(error).Append(". Answer again and fix that.\n");
        }

        return sb.ToString();
    }

    private static StringBuilder Head(Persona persona, ProjectState s)
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrWhiteSpace(persona.Body))
        {
            sb.Append(persona.Body.Trim()).Append("\n\n");
        }

        sb.Append("# Project: ").Append(s.Created.Name).Append("\n\n");
        if (!string.IsNullOrWhiteSpace(s.Created.Description))
        {
            sb.Append(s.Created.Description.Trim()).Append("\n\n");
        }

        return sb;
    }

    private static void AppendHandoff(StringBuilder sb, HandoffContext h)
    {
        sb.Append("\n# Handoff\n\n").Append(h.Reason).Append(".\n");
        if (!string.IsNullOrWhiteSpace(h.FinalMessage))
        {
            sb.Append("\nThe previous run").Append(h.FromPersona is null ? string.Empty : $" ({h.FromPersona})").Append(" ended with:\n\n```\n").Append(h.FinalMessage.Trim()).Append("\n```\n");
        }

        if (h.ChangedFiles is { Count: > 0 } files)
        {
            sb.Append("\nFiles it changed: ").Append(string.Join(", ", files.Take(50))).Append('\n');
        }

        foreach (var g in h.Gates ?? [])
        {
            sb.Append("\nCheck ").Append(g.Name).Append(": ").Append(g.Passed ? "passed" : g.TimedOut ? "timed out" : $"failed (exit {g.ExitCode?.ToString() ?? "none"}, expected {g.ExpectExit})");
            sb.Append(g.Passed || string.IsNullOrWhiteSpace(g.Output) ? "\n" : ". Its output ended with:\n\n```\n" + g.Output.Trim() + "\n```\n");
        }
    }
}
