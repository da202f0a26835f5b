using System.Diagnostics;
using System.Text.RegularExpressions;
using DarkFactory.Actors.Processes;
using DarkFactory.Host.Tests.EndToEnd;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Deploy;

/// <summary>Skipped where neither `docker compose` nor `docker-compose` is installed (.ci/run installs docker-compose).</summary>
public sealed class ComposeClientFactAttribute : FactAttribute
{
    public ComposeClientFactAttribute()
    {
        if (DockerfileTests.ComposeClient() is null)
        {
            Skip = "no compose client (apt-get install docker-compose)";
        }
    }
}

/// <summary>
/// The image without a Docker engine: its steps are read and checked against the repository (every COPY source
/// exists and is not ignored, the CLI pins are the ones the tests run), and the compose file is valid for the
/// compose client.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string Root = DaemonProcess.RepoRoot();

    /// <summary>The Dockerfile as instructions (continuation lines joined, comments dropped).</summary>
    private static List<(string Op, string Args)> Instructions()
    {
        var text = Continuation().Replace(File.ReadAllText(Path.Combine(Root, "Dockerfile")), " ");
        return text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => (l.Split(' ')[0].ToUpperInvariant(), l[(l.IndexOf(' ') + 1)..].Trim())).ToList();
    }

    /// <summary>The pins of .ci/install-clis: package -> version.</summary>
    private static Dictionary<string, string> Pins() =>
        Pin().Matches(File.ReadAllText(Path.Combine(Root, ".ci", "install-clis"))).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    [Fact]
    public void Every_copy_source_exists_in_the_build_context_and_is_not_ignored()
    {
        var ignored = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var copies = Instructions().Where(i => i.Op == "COPY" && !i.Args.StartsWith("--from", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(copies);
        foreach (var (_, args) in copies)
        {
            var words = args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in words[..^1].Where(w => w != "."))
            {
                Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"COPY {source}: not in the repository");
                Assert.DoesNotContain(ignored, pattern => source == pattern || source.StartsWith(pattern.TrimEnd('/') + "/", StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public void The_image_installs_the_ai_clis_with_the_pins_the_tests_run_and_names_its_gate_toolchain_arguments()
    {
        var steps = Instructions();
        Assert.Contains(steps, s => s.Op == "COPY" && s.Args == ".ci/install-clis /usr/local/bin/df-install-clis");
        Assert.Contains(steps, s => s.Op == "RUN" && s.Args.StartsWith("df-install-clis /opt/darkfactory-clis", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Op == "COPY" && s.Args == "--from=clis /opt/darkfactory-clis /opt/darkfactory-clis");
        Assert.Contains(steps, s => s.Op == "COPY" && s.Args == "--from=clis /usr/local/bin/node /usr/local/bin/node");
        Assert.Contains(steps, s => s.Op == "ENV" && s.Args.StartsWith("PATH=/opt/darkfactory-clis/node_modules/.bin:", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Op == "ARG" && s.Args.StartsWith("BASE=", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Op == "ARG" && s.Args.StartsWith("GATE_PACKAGES=", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Op == "RUN" && s.Args.Contains("${GATE_PACKAGES}", StringComparison.Ordinal) && s.Args.Contains("git", StringComparison.Ordinal) && s.Args.Contains("bubblewrap", StringComparison.Ordinal));

        // one set of pins: the script the image and CI run, the catalogue doctor checks against, the README's install line
        var pins = Pins();
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        foreach (var info in CliCatalog.Known.Values.Where(i => i.NpmPackage is not null))
        {
            Assert.Equal(info.TestedVersion, pins[info.NpmPackage!]);
            Assert.Contains($"{info.NpmPackage}@{info.TestedVersion}", readme);
        }

        Assert.Equal(4, pins.Count);
    }

    [Fact]
    public void The_install_step_leaves_the_pinned_versions_where_ci_ran_it()
    {
        // CI runs the image's install step (.ci/install-clis) into its cache and points DF_TEST_CLI_BIN at the result
        var bin = Environment.GetEnvironmentVariable("DF_TEST_CLI_BIN");
        var modules = bin is { Length: > 0 } ? Path.GetDirectoryName(bin)! : null;
        if (modules is null || !Directory.Exists(modules))
        {
            // without the CLIs: the script still resolves to the same pins and is executable, as the image needs
            Assert.True((File.GetUnixFileMode(Path.Combine(Root, ".ci", "install-clis")) & UnixFileMode.UserExecute) != 0);
            Assert.Equal(4, Pins().Count);
            return;
        }

        foreach (var (package, version) in Pins())
        {
            var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(modules, package, "package.json")));
            Assert.Equal(version, json.RootElement.GetProperty("version").GetString());
        }
    }

    [ComposeClientFact]
    public async Task The_compose_file_is_valid_for_the_compose_client()
    {
        var (file, args) = ComposeClient()!.Value;
        var psi = new ProcessStartInfo(file) { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args.Concat(["-f", "docker-compose.yml", "config", "-q"]))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await stderr);
    }

    /// <summary>`docker compose` when the plugin is there, else the standalone docker-compose.</summary>
    internal static (string File, string[] Args)? ComposeClient()
    {
        if (Executables.Find("docker") is { } docker && Process.Start(new ProcessStartInfo(docker, ["compose", "version"]) { RedirectStandardOutput = true, RedirectStandardError = true }) is { } p)
        {
            p.WaitForExit();
            if (p.ExitCode == 0)
            {
                return (docker, ["compose"]);
            }
        }

        return Executables.Find("docker-compose") is { } standalone ? (standalone, []) : null;
    }

    [GeneratedRegex(@"\\\n")]
    private static partial Regex Continuation();

    [GeneratedRegex(@"""((?:@[^/""]+/)?[^@""]+)@([0-9][^""]*)""")]
    private static partial Regex Pin();
}
