using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>
/// Tool calls repeat with fresh ids: the loop signal compares what is called. The lines are shaped like
/// the real CLIs' (tests/Adapters/Fixtures/*-tool.jsonl), with the ids and times each one changes per call.
/// </summary>
public sealed class ToolCallSignatureTests
{
    private static string Claude(int n, string command) =>
        $$$"""{"type":"assistant","message":{"id":"msg_{{{n}}}","type":"message","role":"assistant","model":"claude-sonnet","content":[{"type":"tool_use","id":"toolu_{{{n:x8}}}","name":"Bash","input":{"command":"{{{command}}}","description":"Run the tests"}}],"stop_reason":null,"usage":{"input_tokens":{{{2000 + n}}},"output_tokens":{{{n}}}}},"parent_tool_use_id":null,"session_id":"3dafa5ab-3e11-4f6b-bf96-ed52637c033c","uuid":"8144688{{{n}}}-f3b1-4e84-8972-924f4a99ba0b","timestamp":"2026-11-22T22:34:{{{n:00}}}.659Z"}""";

    private static string Codex(int n, string command) =>
        $$$"""{"type":"item.started","item":{"id":"item_{{{n}}}","type":"command_execution","command":"/bin/bash -lc '{{{command}}}'","aggregated_output":"","exit_code":null,"status":"in_progress"}}""";

    private static string Gemini(int n, string command) =>
        $$$"""{"type":"tool_use","timestamp":"2026-11-22T22:35:{{{n:00}}}.505Z","tool_name":"run_shell_command","tool_id":"run_shell_command__run_shell_command_17953869073{{{n:00}}}_0","parameters":{"command":"{{{command}}}"}}""";

    private static string OpenCode(int n, string command) =>
        $$$"""{"type":"tool_use","timestamp":17953875204{{{n:00}}},"sessionID":"ses_dfa90b129ffe2vH82QfTCT8ZaL","part":{"type":"tool","tool":"bash","callID":"call_{{{n}}}","state":{"status":"completed","input":{"command":"{{{command}}}"},"output":"FAIL {{{n}}}\n","metadata":{"output":"FAIL {{{n}}}\n","exit":1},"title":"{{{command}}}","time":{"start":17953875182{{{n:00}}},"end":17953875195{{{n:00}}}}},"id":"prt_2056f6cf4001{{{n}}}pp1VAxby8z3bq","messageID":"msg_2056f5cec001{{{n}}}XslflF8UWsELk"}}""";

    public static TheoryData<string> Clis() => ["claude", "codex", "gemini", "opencode"];

    private static string Line(string cli, int n, string command) => cli switch
    {
        "claude" => Claude(n, command),
        "codex" => Codex(n, command),
        "gemini" => Gemini(n, command),
        _ => OpenCode(n, command),
    };

    [Theory]
    [MemberData(nameof(Clis))]
    public void The_same_call_with_fresh_ids_and_times_has_the_same_signature(string cli)
    {
        var first = ToolCallSignature.Hash(Line(cli, 1, "npm test"), out var length);
        var again = ToolCallSignature.Hash(Line(cli, 7, "npm test"), out _);

        Assert.NotEqual(Line(cli, 1, "npm test"), Line(cli, 7, "npm test"));
        Assert.Equal(first, again);
        Assert.True(length >= DriftCalibration.MinLoopLine, $"the signature covers {length} characters");
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public void A_different_input_is_a_different_call(string cli) =>
        Assert.NotEqual(ToolCallSignature.Hash(Line(cli, 1, "npm test"), out _), ToolCallSignature.Hash(Line(cli, 1, "npm run lint"), out _));

    [Fact]
    public void Structure_and_value_types_count_and_plain_text_falls_back_to_the_line_hash()
    {
        Assert.NotEqual(ToolCallSignature.Hash("""{"a":1}""", out _), ToolCallSignature.Hash("""{"a":"1"}""", out _));
        Assert.NotEqual(ToolCallSignature.Hash("""{"a":{"b":1}}""", out _), ToolCallSignature.Hash("""{"a":{},"b":1}""", out _));
        Assert.Equal(AgentSignals.LineHash("calling tool: bash ls", out _), ToolCallSignature.Hash("calling tool: bash ls", out _));
        Assert.Equal(AgentSignals.LineHash("{not json at all", out _), ToolCallSignature.Hash("{not json at all", out _));
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public void Repeating_the_same_call_with_new_ids_reaches_the_loop_signal(string cli)
    {
        var spec = new NightwatchSpec();
        var signals = new AgentSignals(spec.Window);
        var now = new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
        signals.Lifecycle(LifecycleKind.Started, now);
        for (var i = 0; i < spec.LoopRepeats; i++)
        {
            now = now.AddSeconds(3);
            signals.Line(OutputKind.ToolCall, Line(cli, i, "npm test"), errorText: false, now);
        }

        var loops = signals.Evaluate(now, spec.StallAfter, spec.LoopRepeats, spec.MaxBurnPerHour).Loops;

        Assert.True(loops >= DriftCalibration.LoopAtLoopRepeats, $"loops {loops} after {spec.LoopRepeats} identical {cli} calls");
    }
}
