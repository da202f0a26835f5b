using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Projects;

public sealed class ProjectNamesTests
{
    [Theory]
    [InlineData("auth-hardening", "auth-hardening")]
    [InlineData("  Auth Hardening: v2!! ", "auth-hardening-v2")]
    [InlineData("---", "project")]
    [InlineData("a very long project name that goes on and on beyond forty characters", "a-very-long-project-name-that-goes-on-an")]
    public void A_name_becomes_a_slug_of_letters_digits_and_single_dashes(string name, string slug) => Assert.Equal(slug, ProjectNames.Slug(name));

    [Fact]
    public void The_work_branch_is_df_slug_date_with_a_number_when_taken()
    {
        var stem = ProjectNames.BranchStem("Auth hardening", new DateTimeOffset(2026, 12, 7, 23, 30, 0, TimeSpan.FromHours(-2)));

        Assert.Equal("df/auth-hardening/2026-12-08", stem);
        Assert.Equal(stem, Worktrees.PickBranch(stem, new HashSet<string>()));
        Assert.Equal(stem + "-3", Worktrees.PickBranch(stem, new HashSet<string> { stem, stem + "-2" }));
    }

    [Fact]
    public void An_id_is_p_and_six_hex_digits() => Assert.Equal("p-00beef", ProjectNames.NewId(() => 0x7f00beef));
}
