using DarkFactory.Actors.Projects;
using DarkFactory.Messages.Projects;
using Xunit;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>The planner's and auditor's answers: the last JSON object of the final output, read with errors that name the field.</summary>
public sealed class ProjectAnswersTests
{
    private static readonly string[] Personas = ["engineer", "tester"];

    [Fact]
    public void The_last_fenced_json_block_is_the_answer()
    {
        const string output = """
            Here is a first draft:
            ```json
            {"tasks": [{"title": "draft", "persona": "engineer"}]}
            ```
            And the final plan:
            ```json
            {
              "tasks": [
                {"title": "Add rate limiting", "description": "limit logins", "priority": 1, "dependencies": [], "persona": "engineer"},
                {"title": "Test it", "description": "tests", "priority": 2, "dependencies": ["Add rate limiting"], "persona": "tester"}
              ]
            }
            ```
            """;

        var (tasks, error) = PlanAnswer.Parse(output, Personas);

        Assert.Null(error);
        Assert.Equal(["Add rate limiting", "Test it"], tasks!.Select(t => t.Title));
        var list = PlanAnswer.ToTasks(tasks!, DateTimeOffset.UnixEpoch);
        Assert.Equal(["t1", "t2"], list.Select(t => t.Id));
        Assert.Equal(["t1"], list[1].Dependencies);
        Assert.Equal(ProjectTaskStatus.Pending, list[0].Status);
        Assert.Equal(1, list[0].Priority);
    }

    [Fact]
    public void A_bare_json_line_after_prose_is_the_answer_and_defaults_fill_what_it_leaves_out()
    {
        const string output = "thinking...\n{\"note\": \"not this\"}\nplan follows\n{\"tasks\": [{\"title\": \"Only task\", \"persona\": \"tester\"}]}\ndone\n";

        var (tasks, error) = PlanAnswer.Parse(output, Personas);

        Assert.Null(error);
        var t = Assert.Single(tasks!);
        Assert.Equal(("Only task", 3, "tester", ""), (t.Title, t.Priority, t.Persona, t.Description));
        Assert.Empty(t.Dependencies);
    }

    [Fact]
    public void A_lone_persona_needs_not_be_named()
    {
        var (tasks, error) = PlanAnswer.Parse("""{"tasks": [{"title": "x"}]}""", ["engineer"]);
        Assert.Null(error);
        Assert.Equal("engineer", Assert.Single(tasks!).Persona);
    }

    [Theory]
    [InlineData("", "the final output is empty")]
    [InlineData("no json here", "no JSON object in the final output")]
    [InlineData("{\"plan\": []}", "tasks: missing")]
    [InlineData("{\"tasks\": []}", "tasks: empty")]
    [InlineData("{\"tasks\": [3]}", "tasks[0]: not an object")]
    [InlineData("{\"tasks\": [{\"persona\": \"engineer\"}]}", "tasks[0].title: missing")]
    [InlineData("{\"tasks\": [{\"title\": \"a\", \"persona\": \"engineer\"}, {\"title\": \"A\", \"persona\": \"engineer\"}]}", "tasks[1].title: 'A' is the title of tasks[0] too")]
    [InlineData("{\"tasks\": [{\"title\": \"a\", \"persona\": \"engineer\", \"priority\": 9}]}", "tasks[0].priority: 9 is not a whole number from 1 (highest) to 5 (lowest)")]
    [InlineData("{\"tasks\": [{\"title\": \"a\", \"persona\": \"designer\"}]}", "tasks[0].persona: 'designer' is not one of the project's personas (engineer, tester)")]
    [InlineData("{\"tasks\": [{\"title\": \"a\"}]}", "tasks[0].persona: missing (one of: engineer, tester)")]
    [InlineData("{\"tasks\": [{\"title\": \"a\", \"persona\": \"engineer\", \"dependencies\": [\"b\"]}]}", "tasks[0].dependencies[0]: 'b' is not the title of a task in the plan")]
    [InlineData("{\"tasks\": [{\"title\": \"a\", \"persona\": \"engineer\", \"dependencies\": [\"a\"]}]}", "tasks[0].dependencies[0]: a task cannot depend on itself")]
    [InlineData("{\"tasks\": [{\"title\": \"a\", \"persona\": \"engineer\", \"dependencies\": [\"b\"]}, {\"title\": \"b\", \"persona\": \"engineer\", \"dependencies\": [\"a\"]}]}", "tasks: the dependencies form a cycle: a -> b -> a")]
    [InlineData("```json\n{\"tasks\": [\n```", "the last JSON block does not parse")]
    public void An_invalid_plan_is_refused_with_an_error_naming_the_field(string output, string expected)
    {
        var (tasks, error) = PlanAnswer.Parse(output, Personas);

        Assert.Null(tasks);
        Assert.NotNull(error);
        Assert.StartsWith(expected, error);
    }

    [Fact]
    public void An_audit_answer_names_tasks_by_id_or_title()
    {
        var tasks = PlanAnswer.ToTasks([new PlannedTask("Add limit", "", 1, [], "engineer"), new PlannedTask("Test limit", "", 2, [], "tester")], DateTimeOffset.UnixEpoch);
        const string output = "I checked.\n```json\n{\"tasks\": [{\"id\": \"t1\", \"complete\": true, \"evidence\": \"limit.py has it\", \"confidence\": 0.9}, {\"title\": \"test limit\", \"complete\": false, \"evidence\": \"no test file\"}]}\n```";

        var (verdicts, error) = AuditAnswer.Parse(output, tasks);

        Assert.Null(error);
        Assert.Equal([new AuditVerdict("t1", true, "limit.py has it", 0.9), new AuditVerdict("t2", false, "no test file", null)], verdicts);
    }

    [Theory]
    [InlineData("{\"tasks\": [{\"id\": \"t9\", \"complete\": true}]}", "tasks[0].id: 't9' is not a task of the project (its tasks: t1)")]
    [InlineData("{\"tasks\": [{\"complete\": true}]}", "tasks[0]: neither id nor title")]
    [InlineData("{\"tasks\": [{\"id\": \"t1\"}]}", "tasks[0].complete: missing (true or false)")]
    [InlineData("{\"tasks\": [{\"id\": \"t1\", \"complete\": false, \"confidence\": 3}]}", "tasks[0].confidence: 3 is not a number from 0 to 1")]
    [InlineData("{\"verdicts\": []}", "tasks: missing")]
    public void An_invalid_audit_is_refused_with_an_error_naming_the_field(string output, string expected)
    {
        var tasks = PlanAnswer.ToTasks([new PlannedTask("Add limit", "", 1, [], "engineer")], DateTimeOffset.UnixEpoch);

        var (verdicts, error) = AuditAnswer.Parse(output, tasks);

        Assert.Null(verdicts);
        Assert.StartsWith(expected, error);
    }
}
