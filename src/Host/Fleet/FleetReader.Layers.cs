using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>fleet.yaml <c>layers:</c>: each layer's strategy, restart intensity, backoff and quarantine (defaults: <see cref="LayerSpec.Default"/>).</summary>
internal sealed partial class FleetReader
{
    private IReadOnlyDictionary<LayerName, LayerSpec> ReadLayers(Fields top)
    {
        var result = LayerSpec.Defaults().ToDictionary(kv => kv.Key, kv => kv.Value);
        var node = top.Node("layers");
        if (node is null || AsMap(node, "layers") is not { } layersMap)
        {
            return result;
        }

        var f = Fields(layersMap, "layers", FleetKeys.LayerNames);
        foreach (var name in Enum.GetValues<LayerName>())
        {
            var key = name.ToString().ToLowerInvariant();
            if (f.Node(key) is { } layerNode)
            {
                result[name] = ReadLayer(name, layerNode, f.PathOf(key));
            }
        }

        return result;
    }

    private LayerSpec ReadLayer(LayerName name, YamlNode node, string path) => ReadSection(node, path, FleetKeys.Layer, LayerSpec.Default(name), (f, d) =>
    {
        var layer = d with
        {
            Strategy = f.Enum("strategy", Strategies) ?? d.Strategy,
            MaxRestarts = f.Int("max_restarts") ?? d.MaxRestarts,
            Within = f.Duration("within") ?? d.Within,
            Backoff = f.Node("backoff") is { } b ? ReadBackoff(b, f.PathOf("backoff")) : d.Backoff,
            QuarantineAfter = f.Int("quarantine_after") ?? d.QuarantineAfter,
            DefaultRestart = f.Enum<RestartType>("default_restart") ?? d.DefaultRestart,
        };
        f.Require("max_restarts", layer.MaxRestarts >= 0, "max_restarts must not be negative");
        f.Require("within", layer.Within > TimeSpan.Zero, "within must be a positive duration");
        f.Require("quarantine_after", layer.QuarantineAfter >= 1, "quarantine_after must be at least 1");
        return layer;
    });

    private BackoffSpec ReadBackoff(YamlNode node, string path) => ReadSection(node, path, FleetKeys.Backoff, new BackoffSpec(), (f, d) =>
    {
        var b = d with
        {
            Min = f.Duration("min") ?? d.Min,
            Max = f.Duration("max") ?? d.Max,
            Jitter = f.Double("jitter") ?? d.Jitter,
            ResetAfter = f.Duration("reset_after") ?? d.ResetAfter,
        };
        f.Require("min", b.Min >= TimeSpan.Zero, "min must not be negative");
        f.Require("max", b.Max >= TimeSpan.Zero, "max must not be negative (0s restarts at once)");
        f.Require("jitter", b.Jitter is >= 0 and <= 1, "jitter must be between 0 and 1");
        f.Require("reset_after", b.ResetAfter > TimeSpan.Zero, "reset_after must be a positive duration");
        if (b.Min > b.Max && b.Min >= TimeSpan.Zero && b.Max >= TimeSpan.Zero)
        {
            var at = f.Has("min") ? "min" : "max";
            f.Error(at, $"backoff min ({Durations.Format(b.Min)}) is greater than max ({Durations.Format(b.Max)})");
        }

        return b;
    });

    private static readonly Dictionary<string, StrategyKind> Strategies = new(StringComparer.Ordinal)
    {
        ["one_for_one"] = StrategyKind.OneForOne,
        ["one-for-one"] = StrategyKind.OneForOne,
        ["one_for_all"] = StrategyKind.OneForAll,
        ["one-for-all"] = StrategyKind.OneForAll,
    };
}
