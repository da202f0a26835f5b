using DarkFactory.Actors.Projects;
using DarkFactory.Host.Cli;
using DarkFactory.Host.Fleet;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Projects;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

/// <summary>fleet.yaml's <c>projects:</c> section and the persona files of its <c>personas_dir</c>.</summary>
public sealed class FleetProjectsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-personas-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Engineer = """
        ---
        name: engineer
        version: 2
        description: implements tasks
        agent: a
        acceptance_criteria:
          tests_pass: true
          custom_checks:
            - name: has-readme
              command: test -f README.md
              expected_exit_code: 0
        ---
        You are the engineer. Implement the task.
        """;

    private string Fleet(string projects = "") => Agent() + "projects:\n  personas_dir: personas\n" + projects;

    private FleetLoadResult LoadHere(string yaml, params (string File, string Text)[] personas)
    {
        var dir = Path.Combine(_dir, "personas");
        Directory.CreateDirectory(dir);
        foreach (var (file, text) in personas)
        {
            File.WriteAllText(Path.Combine(dir, file), text);
        }

        var path = Path.Combine(_dir, "fleet.yaml");
        File.WriteAllText(path, yaml);
        return FleetLoader.LoadFile(path, _ => true);
    }

    [Fact]
    public void Projects_section_is_read_with_its_defaults_and_repositories()
    {
        var yaml = Fleet("""
              planner: lead
              auditor: critic
              max_runtime: 2h
              audit_interval: 10m
              concurrency: 3
              max_attempts: 5
              worktree_root: wt
              create_pr: true
              remote: upstream
              check_timeout: 90s
              forge: { kind: gitea, base_url: "http://forge.test", repository: acme/shop, token_env: FORGE_TOKEN }
              repositories:
                - path: repo
                  tests: make test
                  lint: [make, lint]
                - path: "*"
                  format: [make, fmt]
            """);
        var result = LoadHere(yaml);

        AssertValid(result);
        var p = result.Fleet!.Projects;
        Assert.Equal(Path.Combine(_dir, "personas"), p.PersonasDir);
        Assert.Equal(("lead", "critic"), (p.Planner, p.Auditor));
        Assert.Equal((TimeSpan.FromHours(2), TimeSpan.FromMinutes(10), 3, 5), (p.MaxRuntime, p.AuditInterval, p.Concurrency, p.MaxAttempts));
        Assert.Equal(Path.Combine(_dir, "wt"), p.WorktreeRoot);
        Assert.True(p.CreatePr);
        Assert.Equal("upstream", p.Remote);
        Assert.Equal(("gitea", "acme/shop", "FORGE_TOKEN"), (p.Forge.Kind, p.Forge.Repository, p.Forge.TokenEnv));
        Assert.Equal(TimeSpan.FromSeconds(90), p.CheckTimeout);
        var repo = p.RepositoryFor(Path.Combine(_dir, "repo"))!;
        Assert.Equal(["sh", "-c", "make test"], repo.Tests!.Command);
        Assert.Equal(["make", "lint"], repo.Lint!.Command);
        Assert.Equal(TimeSpan.FromSeconds(90), repo.Tests.Timeout);
        Assert.Null(repo.Format);
        Assert.Equal(["make", "fmt"], p.RepositoryFor("/elsewhere")!.Format!.Command);

        var defaults = Load(Agent()).Fleet!.Projects;
        Assert.Equal((TimeSpan.FromHours(12), TimeSpan.FromMinutes(30), 3, "planner", "reviewer", false),
            (defaults.MaxRuntime, defaults.AuditInterval, defaults.MaxAttempts, defaults.Planner, defaults.Auditor, defaults.CreatePr));
        Assert.Empty(defaults.Personas);
    }

    [Theory]
    [InlineData("  concurrency: 0\n", "projects.concurrency", "0", "between 1 and 64")]
    [InlineData("  max_attempts: 0\n", "projects.max_attempts", "0", "between 1 and 20")]
    [InlineData("  max_runtime: 0s\n", "projects.max_runtime", "0s", "positive")]
    [InlineData("  audit_interval: soon\n", "projects.audit_interval", "soon", "duration")]
    [InlineData("  create_pr: maybe\n", "projects.create_pr", "maybe", "true or false")]
    [InlineData("  personas: x\n", "projects.personas", "personas: x", "unknown key 'personas'")]
    [InlineData("  repositories:\n    - tests: make\n", "projects.repositories[0].path", "tests: make", "needs a 'path'")]
    [InlineData("  repositories:\n    - path: r\n      test: make\n", "projects.repositories[0].test", "test: make", "unknown key 'test'")]
    [InlineData("  repositories:\n    - path: r\n    - path: r\n      lint: x\n", "projects.repositories[1].path", "path: r\n      lint", "listed twice")]
    public void Bad_projects_keys_are_refused_naming_line_and_field(string projects, string field, string marker, string message)
    {
        var yaml = Agent() + "projects:\n" + projects;
        var result = Load(yaml);
        var e = AssertError(result, yaml, field, marker, message);
        Assert.Contains(field, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Personas_are_loaded_from_personas_dir_into_the_catalog()
    {
        var tester = "---\nname: tester\ncapabilities: [tests]\n---\nYou test.\n";
        var result = LoadHere(Fleet(), ("engineer.md", Engineer), ("tester.md", tester), ("notes.txt", "not a persona"));

        AssertValid(result);
        var catalog = new PersonaCatalog(result.Fleet!.Projects.Personas);
        Assert.Equal(["engineer", "tester"], catalog.All.Select(p => p.Name));
        var e = catalog.Find("engineer")!;
        Assert.Equal(("2", "implements tasks", "a"), (e.Version, e.Description, e.Agent));
        Assert.True(e.AcceptanceCriteria.TestsPass);
        Assert.False(e.AcceptanceCriteria.LintPass);
        Assert.Equal(new CustomCheck { Name = "has-readme", Command = "test -f README.md" }, Assert.Single(e.AcceptanceCriteria.CustomChecks));
        Assert.Equal("You are the engineer. Implement the task.\n", e.Body);
        Assert.Equal(Path.Combine(_dir, "personas", "engineer.md"), e.SourcePath);
        Assert.Equal(["tests"], catalog.Find("tester")!.Capabilities);
        Assert.Null(catalog.Find("tester")!.Agent);
    }

    [Fact]
    public void Df_personas_lists_name_version_agent_checks_and_file_from_the_fleet_file_and_refuses_a_bad_one()
    {
        var tester = "---\nname: tester\ncapabilities: [tests]\nacceptance_criteria:\n  lint_pass: true\n  format_pass: true\n---\nYou test.\n";
        AssertValid(LoadHere(Fleet(), ("tester.md", tester), ("engineer.md", Engineer)));

        var listed = PersonaCommands.Offline(Path.Combine(_dir, "fleet.yaml"));

        Assert.Equal(
            [
                new PersonaSummary("engineer", "2", "implements tasks", "a", [], ["tests", "has-readme"], Path.Combine(_dir, "personas", "engineer.md")),
                new PersonaSummary("tester", "1", "", null, ["tests"], ["lint", "format"], Path.Combine(_dir, "personas", "tester.md")),
            ],
            listed,
            (x, y) => x.Name == y.Name && x.Version == y.Version && x.Description == y.Description && x.Agent == y.Agent && x.File == y.File
                && x.Capabilities.SequenceEqual(y.Capabilities) && x.Checks.SequenceEqual(y.Checks));
        var json = System.Text.Json.JsonSerializer.SerializeToElement(listed[0], DarkFactory.Messages.DarkFactoryJson.Options);
        Assert.Equal(["name", "version", "description", "agent", "capabilities", "checks", "file"], json.EnumerateObject().Select(p => p.Name));

        File.WriteAllText(Path.Combine(_dir, "personas", "tester.md"), "---\nname: tester\nagent: ghost\n---\nYou test.\n");
        var e = Assert.Throws<CliException>(() => PersonaCommands.Offline(Path.Combine(_dir, "fleet.yaml")));
        Assert.Contains("tester.md:3:", e.Message, StringComparison.Ordinal);
        Assert.Contains("'ghost' is not an agent of the fleet", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("---\nname: x\nagent: a\nflavour: mild\n---\nbody\n", 4, "flavour", "unknown key 'flavour'")]
    [InlineData("---\nname: x\nagent: ghost\n---\nbody\n", 3, "agent", "'ghost' is not an agent of the fleet")]
    [InlineData("---\nname: Bad Name\nagent: a\n---\nbody\n", 2, "name", "not a valid persona name")]
    [InlineData("---\nagent: a\n---\nbody\n", 2, "name", "needs a 'name'")]
    [InlineData("---\nname: x\n---\nbody\n", 2, "", "'agent'")]
    [InlineData("---\nname: x\nagent: a\n---\n\n", 2, "", "no instructions")]
    [InlineData("---\nname: x\nagent: a\nacceptance_criteria:\n  tests_pass: yes please\n---\nbody\n", 5, "acceptance_criteria.tests_pass", "true or false")]
    [InlineData("---\nname: x\nagent: a\nacceptance_criteria:\n  custom_checks:\n    - name: c\n---\nbody\n", 6, "acceptance_criteria.custom_checks[0].command", "needs a 'command'")]
    [InlineData("---\nname: x\nagent: a\nacceptance_criteria:\n  custom_checks:\n    - name: c\n      command: true\n      expected_exit_code: 300\n---\nbody\n", 8, "acceptance_criteria.custom_checks[0].expected_exit_code", "between 0 and 255")]
    [InlineData("name: x\nagent: a\n", 1, "", "starts with '---'")]
    [InlineData("---\nname: x\nagent: a\nbody\n", 1, "", "not closed")]
    [InlineData("---\nname: [x\n---\nbody\n", 3, "", "invalid YAML front matter")]
    public void A_bad_persona_fails_the_whole_load_naming_its_file_line_and_field(string text, int line, string field, string message)
    {
        var result = LoadHere(Fleet(), ("engineer.md", Engineer), ("bad.md", text));

        Assert.False(result.Ok);
        Assert.Null(result.Fleet);
        var e = Assert.Single(result.Diagnostics, d => d.IsError);
        Assert.Equal(Path.Combine(_dir, "personas", "bad.md"), e.File);
        Assert.Equal((line, field), (e.Line, e.Field));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_personas_of_one_name_and_a_missing_named_directory_are_errors()
    {
        var twice = LoadHere(Fleet(), ("engineer.md", Engineer), ("z-engineer.md", Engineer));
        var e = Assert.Single(twice.Diagnostics, d => d.IsError);
        Assert.Equal(("name", Path.Combine(_dir, "personas", "z-engineer.md")), (e.Field, e.File));
        Assert.Contains("engineer.md", e.Message, StringComparison.Ordinal);

        var yaml = Agent() + "projects:\n  personas_dir: nowhere\n";
        AssertError(Load(yaml), yaml, "projects.personas_dir", "nowhere", "is not a directory");
    }

    [Fact]
    public void The_shipped_personas_load_with_the_default_fleet_and_ask_for_the_answers_the_parsers_read()
    {
        var result = FleetLoader.LoadFile(Path.Combine(RepoRoot(), "fleet.yaml"), _ => true);

        AssertValid(result);
        var catalog = new PersonaCatalog(result.Fleet!.Projects.Personas);
        Assert.Equal(["engineer", "planner", "reviewer", "tester"], catalog.All.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(catalog.All, p => Assert.True(p.Agent is not null || p.Capabilities.Count > 0, p.Name));
        Assert.True(catalog.Find("engineer")!.AcceptanceCriteria.TestsPass);
        Assert.Null(ProjectValidation.CheckGates(["engineer", "tester"], RepoRoot(), result.Fleet.Projects));

        // the JSON each body shows is what the parsers accept
        var (tasks, planError) = PlanAnswer.Parse(catalog.Find("planner")!.Body, ["engineer", "tester"]);
        Assert.True(planError is null, planError);
        Assert.Equal(["engineer", "tester"], tasks!.Select(t => t.Persona));
        var audit = AuditAnswer.Parse(catalog.Find("reviewer")!.Body, [new ProjectTask { Id = "t1", Title = "x", Persona = "engineer" }]);
        Assert.True(audit.Error is null, audit.Error);
        Assert.True(Assert.Single(audit.Verdicts!).Complete);
    }
}
