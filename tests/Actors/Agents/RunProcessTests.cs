using System.ComponentModel;
using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Processes;
using Xunit;

namespace DarkFactory.Actors.Tests.Agents;

/// <summary>
/// The OS side of a run with real processes and files: a program that cannot be found is the agent's declaration,
/// any other start failure is the run's own; a 128+n exit is signal n; the run's directory is made with its config
/// files and removed after.
/// </summary>
public sealed class RunProcessTests
{
    private static LaunchPlan Plan(string file, string? temp = null) =>
        new(file, ["--flag", "task.txt"], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, "/", null, "test/run-process", temp);

    [Fact]
    public void A_missing_program_is_the_agents_declaration_and_another_start_failure_is_the_runs_own()
    {
        var missing = Assert.Throws<AgentMisconfiguredException>(() => RunProcess.Start(Plan("/nonexistent/df-agent"), "coder", "r1", _ => { }));
        Assert.Equal("coder", missing.Agent);
        Assert.Contains("cannot start 'task.txt'", missing.Reason); // the first argument that is not an option names it

        // E2BIG (7): an argument list too long for this run; the agent stays available
        var tooBig = Assert.IsType<RunStartFailedException>(RunProcess.StartFailure("coder", "r2", Plan("/bin/true"), new Win32Exception(7)));
        Assert.Equal("r2", tooBig.RunId);
        Assert.IsType<AgentMisconfiguredException>(RunProcess.StartFailure("coder", "r3", Plan("/bin/true"), new Win32Exception(13))); // EACCES
    }

    [Fact]
    public async Task A_started_process_reports_its_exit_and_a_128_plus_n_code_is_signal_n()
    {
        var exited = new TaskCompletionSource<(int, int?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var plan = new LaunchPlan("/bin/sh", ["-c", "exit 143"], new Dictionary<string, string>(), "/", null, "test/run-process", null);

        using var process = RunProcess.Start(plan, "coder", "r1", p => exited.TrySetResult(RunProcess.ExitOf(p)));
        RunProcess.WriteStdin(process, null);

        Assert.Equal((143, (int?)15), await exited.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task The_pumps_get_the_output_pipes_and_the_process_keeps_no_reader_buffers_over_them()
    {
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var plan = new LaunchPlan("/bin/sh", ["-c", "echo out; echo err >&2"], new Dictionary<string, string>(), "/", null, "test/run-process", null);
        using var process = RunProcess.Start(plan, "coder", "r1", _ => exited.TrySetResult());
        RunProcess.WriteStdin(process, null);

        var (stdout, stderr) = RunProcess.TakeOutputs(process);

        // the readers (12 KiB of buffers each) are gone from the process: it cannot hand them out any more
        Assert.Throws<InvalidOperationException>(() => process.StandardOutput);
        Assert.Throws<InvalidOperationException>(() => process.StandardError);
        await using (stdout)
        await using (stderr)
        {
            Assert.Equal("out\n", await new StreamReader(stdout).ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal("err\n", await new StreamReader(stderr).ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        }

        await exited.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_runs_directory_is_made_with_its_files_and_removed_after()
    {
        var temp = Path.Combine(Path.GetTempPath(), "df-run-process-" + Guid.NewGuid().ToString("N"));
        var config = Path.Combine(temp, "home", ".config", "cli.json");
        var plan = Plan("/bin/true", temp) with { Files = [new DarkFactory.Actors.Adapters.RunFile(config, "{}")] };

        RunProcess.Prepare(plan, why => Assert.Fail(why));

        Assert.Equal("{}", File.ReadAllText(config));
        RunProcess.RemoveDirectory(temp);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Directory.Exists(temp) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.False(Directory.Exists(temp));
    }
}
