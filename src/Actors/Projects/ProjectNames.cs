namespace DarkFactory.Actors.Projects;

/// <summary>Project ids, name slugs and work branch stems (<c>df/&lt;slug&gt;/&lt;yyyy-mm-dd&gt;</c>; <c>Worktrees.PickBranch</c> adds <c>-2</c> … when taken).</summary>
public static class ProjectNames
{
    public const int MaxSlug = 40;

    /// <summary>A new project id: <c>p-</c> and six hex digits (the caller checks it is not taken).</summary>
    public static string NewId(Func<int> random) => "p-" + (random() & 0xFFFFFF).ToString("x6", CultureInfo.InvariantCulture);

    /// <summary>Lower-case letters, digits and single dashes, at most <see cref="MaxSlug"/> characters; "project" when nothing is left.</summary>
    public static string Slug(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                sb.Append(c);
            }
            else if (sb.Length > 0 && sb[^1] != '-')
            {
                sb.Append('-');
            }

            if (sb.Length >= MaxSlug)
            {
                break;
            }
        }

        var slug = sb.ToString().Trim('-');
        return slug.Length == 0 ? "project" : slug;
    }

    /// <summary>The branch a project created on <paramref name="at"/> (UTC date) would like to have.</summary>
    public static string BranchStem(string name, DateTimeOffset at) =>
        "df/" + Slug(name) + "/" + at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
