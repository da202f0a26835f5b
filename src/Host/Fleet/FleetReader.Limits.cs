using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>fleet.yaml <c>limits:</c>: caps across the whole fleet.</summary>
internal sealed partial class FleetReader
{
    private FleetLimits ReadFleetLimits(YamlNode node, string path) => ReadSection(node, path, FleetKeys.FleetLimits, new FleetLimits(), (f, _) =>
    {
        var l = new FleetLimits { MaxConcurrentRuns = f.Int("max_concurrent_runs") };
        f.Require("max_concurrent_runs", l.MaxConcurrentRuns is null or > 0, "max_concurrent_runs must be positive");
        return l;
    });
}
