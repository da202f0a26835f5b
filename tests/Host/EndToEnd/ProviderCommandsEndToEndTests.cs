using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// <c>df provider add|list|remove</c> through a real daemon: a provider added at runtime is listed beside fleet.yaml's,
/// shown by <c>df providers</c>, chosen by <c>df route</c> and by a run (a fake agent configured as codex, its command
/// printing its environment), survives a SIGKILL of the daemon (router events), and goes again on removal. Bad input
/// and fleet.yaml's names are refused naming the field; the key itself is never printed nor stored.
/// </summary>
[Collection("daemon")]
public sealed class ProviderCommandsEndToEndTests
{
    private const string Key = "sk-spare-secret-91c2e7";

    private static string Fleet() => $"""
        version: 1
        providers:
          - name: openai
            cli: codex
            api_key_env: DF_E2E_UNSET_FLEET_KEY
            priority: 10
        agents:
          - name: fixer
            layer: growth
            cli: codex
            command: ["{DaemonProcess.Agent("env.sh")}"]
            task: fix the parser
            grace: 2s
        """;

    [Fact]
    public async Task A_provider_added_at_runtime_is_listed_routed_to_and_kept_across_a_sigkill_until_removed()
    {
        await using var daemon = new DaemonProcess(Fleet());
        daemon.Environment["DF_E2E_SPARE_KEY"] = Key;
        await daemon.StartAsync();

        var added = await daemon.Df("provider", "add", "spare", "--cli", "codex", "--model", "gpt-5-codex", "--api-key-env", "DF_E2E_SPARE_KEY", "--credits", "100", "--priority", "1");
        Assert.True(added.Exit == 0, added.Stderr);
        Assert.Contains("provider 'spare' added", added.Stdout, StringComparison.Ordinal);

        var list = await daemon.Json("provider", "list", "--json");
        Assert.Equal([("openai", "fleet"), ("spare", "runtime")], list.EnumerateArray().Select(p => (p.GetProperty("name").GetString(), p.GetProperty("source").GetString())));
        var spare = list[1];
        Assert.Equal(("codex", "gpt-5-codex", "DF_E2E_SPARE_KEY", 100m, 1), (spare.GetProperty("cli").GetString(), spare.GetProperty("model").GetString(),
            spare.GetProperty("api_key_env").GetString(), spare.GetProperty("credits").GetDecimal(), spare.GetProperty("priority").GetInt32()));
        Assert.Equal("operator", spare.GetProperty("added_by").GetString());
        Assert.Contains("spare", (await daemon.Json("providers", "--json")).EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var route = await daemon.Json("route", "fix the parser", "--agent", "fixer", "--json");
        Assert.Equal("spare", route.GetProperty("chosen").GetProperty("provider").GetString());

        // a run takes it: fleet.yaml's openai would fail to launch (its key variable is not set)
        Assert.Equal(0, (await daemon.Df("run", "fixer")).Exit);
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("fixer")).GetProperty("state").GetString() == "completed", TimeSpan.FromSeconds(60), "fixer's run on spare");
        var log = File.ReadAllText(Path.Combine(daemon.DataDir, "logs", "fixer.log"));
        Assert.Contains("OPENAI_API_KEY=", log, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, log, StringComparison.Ordinal);

        // refused, naming the field; nothing changes
        var clash = await daemon.Df("provider", "add", "openai", "--cli", "codex", "--model", "m", "--api-key-env", "DF_E2E_SPARE_KEY");
        Assert.Equal(1, clash.Exit);
        Assert.Contains("name: provider 'openai' is defined in fleet.yaml", clash.Stderr, StringComparison.Ordinal);
        var unset = await daemon.Df("provider", "add", "other", "--cli", "codex", "--model", "m", "--api-key-env", "DF_E2E_NOT_SET_ANYWHERE");
        Assert.Equal(1, unset.Exit);
        Assert.Contains("api_key_env: the daemon's environment does not set DF_E2E_NOT_SET_ANYWHERE", unset.Stderr, StringComparison.Ordinal);
        var badCli = await daemon.Df("provider", "add", "other", "--cli", "command", "--model", "m", "--api-key-env", "DF_E2E_SPARE_KEY");
        Assert.Contains("cli: 'command' is not an AI CLI", badCli.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, (await daemon.Json("provider", "list", "--json")).GetArrayLength());

        // kept by the router's journal: a SIGKILL and a restart later it is still there, its credits raised by a second add
        daemon.KillHard();
        await daemon.StartAsync();
        var raised = await daemon.Df("provider", "add", "spare", "--cli", "codex", "--model", "gpt-5-codex", "--api-key-env", "DF_E2E_SPARE_KEY", "--credits", "250", "--priority", "1", "--json");
        Assert.True(raised.Exit == 0, raised.Stderr);
        Assert.Equal("updated", JsonDocument.Parse(raised.Stdout).RootElement.GetProperty("outcome").GetString());
        Assert.Equal(250m, (await daemon.Json("provider", "list", "--json"))[1].GetProperty("credits").GetDecimal());

        Assert.Contains("defined in fleet.yaml", (await daemon.Df("provider", "remove", "openai")).Stderr, StringComparison.Ordinal);
        Assert.Contains("no provider named 'ghost' was added", (await daemon.Df("provider", "remove", "ghost")).Stderr, StringComparison.Ordinal);
        var removed = await daemon.Df("provider", "remove", "spare");
        Assert.True(removed.Exit == 0, removed.Stderr);
        Assert.Equal(["openai"], (await daemon.Json("provider", "list", "--json")).EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal("openai", (await daemon.Json("route", "fix the parser", "--agent", "fixer", "--json")).GetProperty("chosen").GetProperty("provider").GetString());

        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));

        // the key was never printed by the daemon nor written anywhere in its data directory (journal, logs, runs)
        Assert.DoesNotContain(Key, daemon.Output, StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(daemon.DataDir, "*", SearchOption.AllDirectories))
        {
            Assert.False(File.ReadAllBytes(file).AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(Key)) >= 0, $"the key is in {file}");
        }
    }
}
