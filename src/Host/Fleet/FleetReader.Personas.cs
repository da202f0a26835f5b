using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>A persona file's front matter, read with the same typed fields (and file:line:field errors) as fleet.yaml.</summary>
internal sealed partial class FleetReader
{
    public Persona? ReadPersona(YamlNode root, string body, string sourcePath)
    {
        map.Mark("", root);
        if (AsMap(root, "") is not { } m)
        {
            return null;
        }

        var f = Fields(m, "", FleetKeys.Persona);
        var name = f.String("name");
        if (name is null)
        {
            f.Missing("name", "a persona needs a 'name'");
        }
        else if (!AgentName().IsMatch(name))
        {
            f.Error("name", $"'{name}' is not a valid persona name (lowercase letters, digits and '-', starting with a letter or digit)");
        }

        var capabilities = f.StringList("capabilities") ?? [];
        var agent = f.String("agent");
        if (agent is null && capabilities.Count == 0)
        {
            f.Error(null, "a persona needs 'agent' (the fleet agent that plays it) or 'capabilities' (the router picks the best fit)");
        }

        if (string.IsNullOrWhiteSpace(body))
        {
            f.Error(null, "the persona has no instructions (the markdown after the front matter is empty)");
        }

        var criteria = f.Node("acceptance_criteria") is { } node ? ReadCriteria(node, "acceptance_criteria") : new AcceptanceCriteria();
        var d = new Persona { Name = "", Body = "" };
        return d with
        {
            Name = name ?? d.Name,
            Version = f.String("version") ?? d.Version,
            Description = f.String("description") ?? d.Description,
            Capabilities = capabilities,
            Agent = agent,
            AcceptanceCriteria = criteria,
            Body = body.Trim() + "\n",
            SourcePath = sourcePath,
        };
    }

    private AcceptanceCriteria ReadCriteria(YamlNode node, string path) => ReadSection(node, path, FleetKeys.AcceptanceCriteria, new AcceptanceCriteria(), (f, d) =>
    {
        return d with
        {
            TestsPass = f.Bool("tests_pass") ?? d.TestsPass,
            LintPass = f.Bool("lint_pass") ?? d.LintPass,
            FormatPass = f.Bool("format_pass") ?? d.FormatPass,
            CustomChecks = f.Items("custom_checks", ReadCustomCheck),
        };
    });

    private CustomCheck? ReadCustomCheck(YamlNode node, string path)
    {
        if (Section(node, path, FleetKeys.CustomCheck) is not { } f)
        {
            return null;
        }

        var name = f.String("name");
        var command = f.String("command");
        if (name is null || name.Trim().Length == 0)
        {
            f.Missing("name", "a custom check needs a 'name'");
        }

        if (command is null || command.Trim().Length == 0)
        {
            f.Missing("command", "a custom check needs a 'command' (a shell command run in the worktree)");
        }

        var exit = f.Int("expected_exit_code") ?? 0;
        f.Require("expected_exit_code", exit is >= 0 and <= 255, "expected_exit_code must be between 0 and 255");
        return name is null || command is null ? null : new CustomCheck { Name = name, Command = command, ExpectedExitCode = exit };
    }
}
