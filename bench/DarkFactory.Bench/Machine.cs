using System.Runtime.InteropServices;

namespace DarkFactory.Bench;

internal static class Machine
{
    public static string Describe()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        var memKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? "?"
            : "?";
        return $"{Environment.ProcessorCount} cores ({cpu}), {long.Parse(memKb, System.Globalization.CultureInfo.InvariantCulture) / 1024} MiB RAM, {os}, Linux {kernel}, {RuntimeInformation.FrameworkDescription}";
    }

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    /// <summary>Other .NET processes (builds, tests of other engineers) that compete for the 2 cores.</summary>
    public static List<string> OtherDotnetProcesses()
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).Trim() == "dotnet")
                {
                    var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
                    found.Add(cmd.Length > 80 ? cmd[..80] + "…" : cmd);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
