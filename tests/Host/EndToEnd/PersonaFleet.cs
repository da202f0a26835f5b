namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// What the projects' end-to-end tests share: fleet.yaml agents running tests/agents/persona.sh (plain commands that
/// play personas, keeping what they were asked in a state directory) and the persona files they play.
/// </summary>
internal static class PersonaFleet
{
    /// <summary>planner-cmd, engineer-cmd, tester-cmd and reviewer-cmd as fleet.yaml's agents list items.</summary>
    public static string Agents(string stateDir) =>
        Agent("planner-cmd", "plan", stateDir) + Agent("engineer-cmd", "work", stateDir) + Agent("tester-cmd", "work", stateDir) + Agent("reviewer-cmd", "audit", stateDir);

    /// <remarks>
    /// Unsandboxed: persona.sh keeps its state in <paramref name="stateDir"/>, outside the worktree, which a sandboxed
    /// run cannot reach (its /tmp is private, the rest read-only).
    /// </remarks>
    public static string Agent(string name, string mode, string stateDir) => $"""
          - name: {name}
            layer: growth
            command: ["{DaemonProcess.Agent("persona.sh")}", "{mode}"]
            grace: 2s
            sandbox: off
            env:
              STATE_DIR: "{stateDir}"

        """;

    /// <summary>A fleet.yaml of the persona agents and a <c>projects:</c> section for one repository with its tests gate.</summary>
    public static string Yaml(string stateDir, string repo, string tests) => $"""
        version: 1
        agents:
        {Agents(stateDir)}
        projects:
          personas_dir: personas
          max_attempts: 2
          concurrency: 1
          repositories:
            - path: {repo}
              tests: {tests}
        """;

    public static string Persona(string name, string agent, string criteria = "") =>
        $"---\nname: {name}\nversion: 1\ndescription: the {name}\nagent: {agent}\n{criteria}---\nYou are the {name} of this project.\n";

    /// <summary>
    /// root/personas: planner, engineer (tests_pass: the repository's tests command), tester (the custom check has-test:
    /// t2.txt is there) and reviewer, each played by its persona.sh agent.
    /// </summary>
    public static void Write(string root)
    {
        var dir = Path.Combine(root, "personas");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "planner.md"), Persona("planner", "planner-cmd"));
        File.WriteAllText(Path.Combine(dir, "engineer.md"), Persona("engineer", "engineer-cmd", "acceptance_criteria:\n  tests_pass: true\n"));
        File.WriteAllText(Path.Combine(dir, "tester.md"), Persona("tester", "tester-cmd",
            "acceptance_criteria:\n  custom_checks:\n    - name: has-test\n      command: test -f t2.txt\n      expected_exit_code: 0\n"));
        File.WriteAllText(Path.Combine(dir, "reviewer.md"), Persona("reviewer", "reviewer-cmd"));
    }
}
