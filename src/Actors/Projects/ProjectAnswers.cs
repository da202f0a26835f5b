using System.Text.RegularExpressions;

namespace DarkFactory.Actors.Projects;

/// <summary>A task as the planner answered it (dependencies by title), before it gets an id.</summary>
public sealed record PlannedTask(string Title, string Description, int Priority, IReadOnlyList<string> Dependencies, string Persona);

/// <summary>
/// The last JSON object in a run's final output: a fenced <c>```json</c> (or plain <c>```</c>) block, or a line
/// that is a JSON object on its own; an output that is one JSON object as a whole counts too. Later wins;
/// when nothing parses, the error says why (the last candidate's parse error, or that there is none).
/// </summary>
public static partial class JsonAnswer
{
    public static (JsonElement? Answer, string? Error) Last(string? output)
    {
        if (string.IsNullOrWhiteSpace(output))
        {
            return (null, "the final output is empty: no JSON object in it");
        }

        var whole = output.Trim();
        if (whole.StartsWith('{') && whole.EndsWith('}') && TryObject(whole, out var all, out _))
        {
            return (all, null);
        }

        var candidates = new List<(int At, string Text)>();
        var fences = new List<(int From, int To)>();
        foreach (Match m in Fenced().Matches(output))
        {
            fences.Add((m.Index, m.Index + m.Length));
            var body = m.Groups["body"].Value.Trim();
            if (body.StartsWith('{'))
            {
                candidates.Add((m.Index, body));
            }
        }

        var at = 0;
        foreach (var line in output.Split('\n'))
        {
            var text = line.Trim();
            if (text.Length > 1 && text[0] == '{' && text[^1] == '}' && !fences.Any(f => f.From <= at && at < f.To))
            {
                candidates.Add((at, text));
            }

            at += line.Length + 1;
        }

        if (candidates.Count == 0)
        {
            return (null, "no JSON object in the final output (expected a fenced ```json block or a line that is a JSON object)");
        }

        candidates.Sort((a, b) => a.At.CompareTo(b.At));
        string? lastError = null;
        for (var i = candidates.Count - 1; i >= 0; i--)
        {
            if (TryObject(candidates[i].Text, out var answer, out var error))
            {
                return (answer, null);
            }

            lastError ??= error;
        }

        return (null, "the last JSON block does not parse: " + lastError);
    }

    /// <summary>
    /// The <c>tasks</c> array of the output's last JSON object (<see cref="Last"/>, an answer of the planner or the
    /// auditor), else why there is none; <paramref name="shape"/> shows what the answer looks like, for the error.
    /// </summary>
    public static (JsonElement Items, string? Error) LastTasks(string? output, string shape)
    {
        var (answer, error) = Last(output);
        if (answer is not { } root)
        {
            return (default, error);
        }

        if (!root.TryGetProperty("tasks", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return (default, $"tasks: missing (the answer is {shape})");
        }

        return (items, null);
    }

    /// <summary>The items of a <see cref="LastTasks"/> array, each with its place (<c>tasks[i]</c>) for the errors that name it.</summary>
    public static IEnumerable<(string At, JsonElement Item)> Tasks(JsonElement items) =>
        items.EnumerateArray().Select((item, i) => ($"tasks[{i}]", item));

    private static bool TryObject(string text, out JsonElement answer, out string? error)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                answer = default;
                error = "not a JSON object";
                return false;
            }

            answer = doc.RootElement.Clone();
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            answer = default;
            error = e.Message;
            return false;
        }
    }

    [GeneratedRegex(@"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(?<body>.*?)\r?\n[ \t]*```", RegexOptions.Singleline)]
    private static partial Regex Fenced();
}

/// <summary>
/// The planner's answer: the last JSON object with a top-level <c>tasks</c> array of
/// <c>{title, description, priority, dependencies: [titles], persona}</c>. Errors name the field.
/// </summary>
public static class PlanAnswer
{
    public const int MaxTasks = 100;

    /// <param name="personas">The project's personas (a task's persona must be one of them).</param>
    public static (IReadOnlyList<PlannedTask>? Tasks, string? Error) Parse(string? output, IReadOnlyList<string> personas)
    {
        var (items, error) = JsonAnswer.LastTasks(output, "{\"tasks\": [{\"title\", \"description\", \"priority\", \"dependencies\", \"persona\"}, ...]}");
        if (error is not null)
        {
            return (null, error);
        }

        var count = items.GetArrayLength();
        if (count == 0)
        {
            return (null, "tasks: empty (a plan has at least one task)");
        }

        if (count > MaxTasks)
        {
            return (null, $"tasks: {count} tasks (at most {MaxTasks})");
        }

        var planned = new List<PlannedTask>();
        foreach (var (at, item) in JsonAnswer.Tasks(items))
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                return (null, $"{at}: not an object");
            }

            if (Text(item, "title") is not { Length: > 0 } title)
            {
                return (null, $"{at}.title: missing");
            }

            if (planned.FindIndex(p => string.Equals(p.Title, title, StringComparison.OrdinalIgnoreCase)) is var same and >= 0)
            {
                return (null, $"{at}.title: '{title}' is the title of tasks[{same}] too (titles name dependencies, so they must differ)");
            }

            var priority = 3;
            if (item.TryGetProperty("priority", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                if (!TryInt(p, out priority) || priority is < 1 or > 5)
                {
                    return (null, $"{at}.priority: {p.GetRawText()} is not a whole number from 1 (highest) to 5 (lowest)");
                }
            }

            var dependencies = new List<string>();
            if (item.TryGetProperty("dependencies", out var deps) && deps.ValueKind != JsonValueKind.Null)
            {
                if (deps.ValueKind != JsonValueKind.Array)
                {
                    return (null, $"{at}.dependencies: not an array of task titles");
                }

                var d = 0;
                foreach (var dep in deps.EnumerateArray())
                {
                    if (dep.ValueKind != JsonValueKind.String || dep.GetString() is not { Length: > 0 } name)
                    {
                        return (null, $"{at}.dependencies[{d}]: not a task title");
                    }

                    dependencies.Add(name.Trim());
                    d++;
                }
            }

            var persona = Text(item, "persona");
            if (persona is null)
            {
                if (personas.Count != 1)
                {
                    return (null, $"{at}.persona: missing (one of: {string.Join(", ", personas)})");
                }

                persona = personas[0];
            }
            else if (!personas.Contains(persona, StringComparer.Ordinal))
            {
                return (null, $"{at}.persona: '{persona}' is not one of the project's personas ({string.Join(", ", personas)})");
            }

            planned.Add(new PlannedTask(title, Text(item, "description") ?? string.Empty, priority, dependencies, persona));
        }

        for (var i = 0; i < planned.Count; i++)
        {
            for (var d = 0; d < planned[i].Dependencies.Count; d++)
            {
                var name = planned[i].Dependencies[d];
                if (!planned.Any(p => string.Equals(p.Title, name, StringComparison.OrdinalIgnoreCase)))
                {
                    return (null, $"tasks[{i}].dependencies[{d}]: '{name}' is not the title of a task in the plan");
                }

                if (string.Equals(name, planned[i].Title, StringComparison.OrdinalIgnoreCase))
                {
                    return (null, $"tasks[{i}].dependencies[{d}]: a task cannot depend on itself");
                }
            }
        }

        return Cycle(planned) is { } cycle
            ? (null, "tasks: the dependencies form a cycle: " + cycle)
            : (planned, null);
    }

    /// <summary>The planned tasks as the project's task list: ids t1, t2 … in the planner's order, dependencies by id.</summary>
    public static IReadOnlyList<ProjectTask> ToTasks(IReadOnlyList<PlannedTask> planned, DateTimeOffset at)
    {
        string IdOf(string title) => "t" + (planned.ToList().FindIndex(p => string.Equals(p.Title, title, StringComparison.OrdinalIgnoreCase)) + 1).ToString(CultureInfo.InvariantCulture);
        return planned.Select((p, i) => new ProjectTask
        {
            Id = "t" + (i + 1).ToString(CultureInfo.InvariantCulture),
            Title = p.Title,
            Description = p.Description,
            Priority = p.Priority,
            Dependencies = p.Dependencies.Select(IdOf).Distinct().ToList(),
            Persona = p.Persona,
            CreatedAt = at,
        }).ToList();
    }

    private static string? Cycle(IReadOnlyList<PlannedTask> planned)
    {
        var state = new int[planned.Count]; // 0 new, 1 on the path, 2 done
        var path = new List<int>();
        int Index(string title) => planned.ToList().FindIndex(p => string.Equals(p.Title, title, StringComparison.OrdinalIgnoreCase));

        string? Visit(int i)
        {
            state[i] = 1;
            path.Add(i);
            foreach (var dep in planned[i].Dependencies.Select(Index))
            {
                if (state[dep] == 1)
                {
                    return string.Join(" -> ", path.Skip(path.IndexOf(dep)).Append(dep).Select(x => planned[x].Title));
                }

                if (state[dep] == 0 && Visit(dep) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[i] = 2;
            return null;
        }

        for (var i = 0; i < planned.Count; i++)
        {
            if (state[i] == 0 && Visit(i) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    internal static string? Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Trim() is { Length: > 0 } s ? s : null;

    private static bool TryInt(JsonElement e, out int value)
    {
        value = 0;
        return e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetInt32(out value),
            JsonValueKind.String => int.TryParse(e.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }
}

/// <summary>
/// An audit's answer: the last JSON object with <c>tasks: [{id or title, complete, evidence, confidence}]</c>.
/// A task the answer does not mention keeps its status.
/// </summary>
public static class AuditAnswer
{
    public static (IReadOnlyList<AuditVerdict>? Verdicts, string? Error) Parse(string? output, IReadOnlyList<ProjectTask> tasks)
    {
        var (items, error) = JsonAnswer.LastTasks(output, "{\"tasks\": [{\"id\", \"complete\", \"evidence\", \"confidence\"}, ...]}");
        if (error is not null)
        {
            return (null, error);
        }

        var verdicts = new List<AuditVerdict>();
        foreach (var (at, item) in JsonAnswer.Tasks(items))
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                return (null, $"{at}: not an object");
            }

            var id = PlanAnswer.Text(item, "id");
            var title = PlanAnswer.Text(item, "title");
            var task = id is not null
                ? tasks.FirstOrDefault(t => t.Id == id)
                : title is not null ? tasks.FirstOrDefault(t => string.Equals(t.Title, title, StringComparison.OrdinalIgnoreCase)) : null;
            if (task is null)
            {
                return (null, id is null && title is null
                    ? $"{at}: neither id nor title (the project's tasks: {string.Join(", ", tasks.Select(t => t.Id))})"
                    : $"{at}.{(id is null ? "title" : "id")}: '{id ?? title}' is not a task of the project (its tasks: {string.Join(", ", tasks.Select(t => t.Id))})");
            }

            if (!item.TryGetProperty("complete", out var complete) || complete.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return (null, $"{at}.complete: missing (true or false)");
            }

            double? confidence = null;
            if (item.TryGetProperty("confidence", out var c) && c.ValueKind != JsonValueKind.Null)
            {
                if (c.ValueKind != JsonValueKind.Number || c.GetDouble() is < 0 or > 1)
                {
                    return (null, $"{at}.confidence: {c.GetRawText()} is not a number from 0 to 1");
                }

                confidence = c.GetDouble();
            }

            verdicts.RemoveAll(v => v.TaskId == task.Id);
            verdicts.Add(new AuditVerdict(task.Id, complete.GetBoolean(), PlanAnswer.Text(item, "evidence") ?? string.Empty, confidence));
        }

        return (verdicts, null);
    }
}
