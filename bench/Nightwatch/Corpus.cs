namespace DarkFactory.Bench.Nightwatch;

/// <summary>
/// Realistic agent output for the benchmark: build and test logs, package downloads, the JSON lines of a
/// structured CLI (assistant text, tool calls and results), prose, stack traces; about 2 % errors,
/// 0.1 % rate-limit messages and a few repeated lines. Deterministic (fixed seed).
/// </summary>
internal static class Corpus
{
    private static readonly string[] Templates =
    [
        "   Compiling {w}-{w} v0.{n}.{n} (/work/repo/crates/{w})",
        "test {w}::tests::{w}_{w}_{n} ... ok",
        "[INFO] Downloading from central: https://repo.maven.apache.org/maven2/org/{w}/{w}/{n}.{n}/{w}-{n}.jar",
        "npm http fetch GET 200 https://registry.npmjs.org/{w}-{w} {n}ms (cache hit)",
        "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_{n}\",\"content\":[{\"type\":\"text\",\"text\":\"I'll look at the {w} module and check how {w} is handled before changing {w}.\"}]}}",
        "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_{n}\",\"name\":\"Read\",\"input\":{\"file_path\":\"/work/repo/src/{w}/{w}.ts\"}}]}}",
        "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_{n}\",\"content\":\"export function {w}({w}: string) {{ return {w}.trim(); }}\"}]}}",
        "  PASS  src/{w}/{w}.test.ts ({n} ms)",
        "warning: unused variable: `{w}` --> src/{w}.rs:{n}:{n}",
        "Refactoring {w} to use the new {w} interface; {n} call sites updated.",
        "    at {w}.{w} (/work/repo/node_modules/{w}/lib/index.js:{n}:{n})",
        "2026-11-22T09:{n}:{n}Z INFO {w} request completed in {n} ms status=200",
        "diff --git a/src/{w}.py b/src/{w}.py",
        "+    return {w}_{w}(self, {n})",
        "",
    ];

    private static readonly string[] Errors =
    [
        "error[E0308]: mismatched types in {w}",
        "src/{w}.c:{n}:{n}: error: expected ';' before '}}' token",
        "Traceback (most recent call last):",
        "TypeError: Cannot read properties of undefined (reading '{w}') Exception: {w}",
        "FATAL: {w} failed with code {n}",
    ];

    private static readonly string[] Limits =
    [
        "You've hit your limit · resets 7pm (America/Los_Angeles)",
        "Error: 429 Too Many Requests: rate_limit_exceeded",
        "insufficient_quota: You exceeded your current quota",
    ];

    private static readonly string[] Words = ["parser", "config", "router", "cache", "session", "token", "graph", "queue", "worker", "index", "schema", "client"];

    public static string[] Build(int count)
    {
        var rnd = new Random(42);
        var lines = new string[count];
        for (var i = 0; i < count; i++)
        {
            var roll = rnd.Next(1000);
            var template = roll < 20 ? Errors[rnd.Next(Errors.Length)]
                : roll < 21 ? Limits[rnd.Next(Limits.Length)]
                : roll < 40 && i > 0 ? lines[i - 1]
                : Templates[rnd.Next(Templates.Length)];
            lines[i] = Fill(template, rnd);
        }

        return lines;
    }

    private static string Fill(string template, Random rnd)
    {
        var sb = new System.Text.StringBuilder(template.Length + 32);
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] == '{' && i + 2 < template.Length && template[i + 2] == '}' && template[i + 1] is 'w' or 'n')
            {
                sb.Append(template[i + 1] == 'w' ? Words[rnd.Next(Words.Length)] : rnd.Next(1, 999).ToString(System.Globalization.CultureInfo.InvariantCulture));
                i += 2;
            }
            else if (template[i] == '{' && i + 1 < template.Length && template[i + 1] == '{')
            {
                sb.Append('{');
                i++;
            }
            else if (template[i] == '}' && i + 1 < template.Length && template[i + 1] == '}')
            {
                sb.Append('}');
                i++;
            }
            else
            {
                sb.Append(template[i]);
            }
        }

        return sb.ToString();
    }
}
