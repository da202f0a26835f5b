using System.Text;
using DarkFactory.Host.Fleet;
using DarkFactory.Host.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.Fuzz;

/// <summary>
/// Issue 15, "tests that attack": mutations of the shipped fleet.yaml (lines dropped, doubled, swapped, re-indented,
/// truncated; scalars replaced by hostile tokens; bytes inserted). Validation never throws, and every refusal
/// names a file and a line that exist. Seeds and budget: tests/Host/Fuzz/seeds.json.
/// </summary>
public sealed class FleetFuzzTests(ITestOutputHelper output)
{
    private static readonly string Shipped = Path.Combine(DaemonProcess.RepoRoot(), "fleet.yaml");

    private static readonly string[] Tokens =
    [
        "", "~", "null", "-1", "0", "1e400", "-0.0", "NaN", ".inf", "99999999999999999999999", "0x1F", "true", "[", "]", "{", "}", "{}", "[]",
        "\"", "'", "\"unterminated", "&a x", "*a", "*undefined", "<<: *a", "!!binary AAAA", "!!python/object:os.system", "? complex key",
        "- item", ": :", "#", "|", ">-", "\t", "\u00e9\u00e8", "\ud83d\ude80", "\u0000", "\u202e", new string('x', 5000), "a: b: c", "*/5 * * * *",
        "../../../../etc/passwd", "${HOME}", "$(rm -rf /)", "1m", "-5s", "999999h", "0s", "1KiB", "-1MiB", "one-for-all", "weird name!",
    ];

    private static string Mutate(string[] lines, Random random)
    {
        var list = lines.ToList();
        var steps = random.Next(1, 4);
        for (var s = 0; s < steps && list.Count > 0; s++)
        {
            var i = random.Next(list.Count);
            switch (random.Next(9))
            {
                case 0:
                    list.RemoveAt(i);
                    break;
                case 1:
                    list.Insert(i, list[i]);
                    break;
                case 2:
                    var j = random.Next(list.Count);
                    (list[i], list[j]) = (list[j], list[i]);
                    break;
                case 3:
                    list[i] = new string(' ', random.Next(0, 9)) + list[i].TrimStart();
                    break;
                case 4:
                    list.RemoveRange(i, list.Count - i); // truncated mid-save
                    break;
                case 5:
                    var colon = list[i].IndexOf(": ", StringComparison.Ordinal);
                    list[i] = colon >= 0 ? list[i][..(colon + 2)] + Tokens[random.Next(Tokens.Length)] : list[i] + Tokens[random.Next(Tokens.Length)];
                    break;
                case 6:
                    list.Insert(i, new string(' ', random.Next(0, 7)) + Tokens[random.Next(Tokens.Length)]);
                    break;
                case 7:
                    var at = random.Next(list[i].Length + 1);
                    list[i] = list[i][..at] + (char)random.Next(0, 0x3000) + list[i][at..];
                    break;
                default:
                    list[i] = list[i].Replace("  ", "\t", StringComparison.Ordinal);
                    break;
            }
        }

        return string.Join('\n', list);
    }

    [Theory]
    [MemberData(nameof(FuzzSeeds.Fleet), MemberType = typeof(FuzzSeeds))]
    public void Validation_of_a_mutated_shipped_fleet_never_crashes_and_always_names_file_and_line(int seed)
    {
        var lines = File.ReadAllLines(Shipped);
        var random = new Random(seed);
        var budget = FuzzSeeds.Budget("fleet", "mutations_per_seed");
        var refused = 0;
        for (var n = 0; n < budget; n++)
        {
            var yaml = Mutate(lines, random);
            FleetLoadResult result;
            try
            {
                result = FleetLoader.Parse(yaml, Shipped, _ => true);
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, case {n}: validation threw {e.GetType().Name}: {e.Message}\n--- the file:\n{yaml}");
                throw;
            }

            var lineCount = yaml.Count(c => c == '\n') + 2;
            foreach (var d in result.Diagnostics)
            {
                Assert.False(string.IsNullOrWhiteSpace(d.File), $"seed {seed}, case {n}: a diagnostic without a file: {d}");
                Assert.True(d.Line >= 1 && d.Column >= 1, $"seed {seed}, case {n}: no line/column: {d}");
                Assert.True(d.File != Shipped || d.Line <= lineCount, $"seed {seed}, case {n}: line {d.Line} beyond the file's {lineCount}: {d}");
                Assert.False(string.IsNullOrWhiteSpace(d.Message), $"seed {seed}, case {n}: a diagnostic without a message");
            }

            if (!result.Ok)
            {
                refused++;
                Assert.Contains(result.Diagnostics, d => d.IsError);
            }
        }

        output.WriteLine($"seed {seed}: {budget} mutations, {refused} refused with file:line, none crashed");
    }

    [Fact]
    public void An_alias_bomb_is_refused_or_read_without_blowing_up()
    {
        var bomb = new StringBuilder("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 12; i++)
        {
            bomb.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }

        bomb.Append("agents: []\n");
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var result = FleetLoader.Parse(bomb.ToString(), "fleet.yaml", _ => true);

        Assert.False(result.Ok); // a0..a11 are unknown keys
        Assert.True(GC.GetTotalMemory(forceFullCollection: false) - before < 256L * 1024 * 1024);
    }
}
