using DarkFactory.Actors.Processes;
using DarkFactory.Host.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Fleet;

public sealed class DurationsAndSizesTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1m30s500ms", 90_500)]
    [InlineData("90", 90_000)]
    [InlineData("1.5", 1_500)]
    [InlineData("0.5s", 500)]
    [InlineData("0", 0)]
    [InlineData("-5s", -5_000)]
    [InlineData(" 10s ", 10_000)]
    public void Durations_parse(string text, long expectedMs)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("5 minutes")]
    [InlineData("10x")]
    [InlineData("h")]
    [InlineData("1h 30m")]
    [InlineData("-")]
    [InlineData("1e3")]
    public void Bad_durations_do_not_parse(string? text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("100KiB", 100L * 1024)]
    [InlineData("512MiB", 512L * 1024 * 1024)]
    [InlineData("2GiB", 2L * 1024 * 1024 * 1024)]
    [InlineData("1GB", 1_000_000_000L)]
    [InlineData("10MB", 10_000_000L)]
    [InlineData("1.5KiB", 1536L)]
    [InlineData("64 mib", 64L * 1024 * 1024)]
    [InlineData("12B", 12L)]
    [InlineData("-1MiB", -1024L * 1024)]
    public void Sizes_parse(string text, long expected)
    {
        Assert.True(Sizes.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("12 parsecs")]
    [InlineData("MiB")]
    [InlineData("99999999999TiB")]
    public void Bad_sizes_do_not_parse(string? text) => Assert.False(Sizes.TryParse(text, out _));

    [Theory]
    [InlineData(5_400_000, "1h30m")]
    [InlineData(500, "500ms")]
    [InlineData(0, "0s")]
    public void Durations_format_back(long ms, string expected) => Assert.Equal(expected, Durations.Format(TimeSpan.FromMilliseconds(ms)));
}

public sealed class PathLookupTests
{
    [Fact]
    public void Finds_shell_on_path_and_checks_paths_with_a_slash_directly()
    {
        var sh = Executables.Find("sh");
        Assert.NotNull(sh);
        Assert.True(Path.IsPathRooted(sh));
        Assert.True(Executables.IsOnPath(sh!));
        Assert.False(Executables.IsOnPath("df-no-such-binary-8c1f"));
        Assert.Null(Executables.Find("/nonexistent/dir/sh"));
    }
}
