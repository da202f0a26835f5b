using System.Text.Json.Serialization;

namespace DarkFactory.Host.Ops;

/// <summary>What a failed check means: <see cref="Error"/> would stop (part of) the fleet, <see cref="Warning"/> would not.</summary>
public enum DoctorSeverity
{
    Error,
    Warning,
}

/// <summary>One line of `df doctor` (JSON: <c>{check, ok, detail, fix, severity}</c>); <see cref="Fix"/> is what to do when not ok.</summary>
public sealed record DoctorCheck(
    string Check,
    bool Ok,
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Fix = null,
    DoctorSeverity Severity = DoctorSeverity.Error)
{
    public static DoctorCheck Pass(string check, string detail) => new(check, true, detail);

    public static DoctorCheck Fail(string check, string detail, string fix) => new(check, false, detail, fix);

    public static DoctorCheck Warn(string check, string detail, string fix) => new(check, false, detail, fix, DoctorSeverity.Warning);

    /// <summary>True when this check failed in a way that would stop the fleet (df doctor exits 1).</summary>
    [JsonIgnore]
    public bool Blocks => !Ok && Severity == DoctorSeverity.Error;
}
