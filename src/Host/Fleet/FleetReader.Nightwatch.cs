using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>fleet.yaml <c>nightwatch:</c>: windows, thresholds, signal weights and patterns (defaults: <see cref="NightwatchSpec"/>).</summary>
internal sealed partial class FleetReader
{
    private NightwatchSpec ReadNightwatch(YamlNode node, string path) => ReadSection(node, path, FleetKeys.Nightwatch, new NightwatchSpec(), (f, d) =>
    {
        var webhook = f.String("escalation_webhook");
        CheckUrl(f, "escalation_webhook", webhook);
        var n = d with
        {
            Window = f.Duration("window") ?? d.Window,
            StallAfter = f.Duration("stall_after") ?? d.StallAfter,
            LoopRepeats = f.Int("loop_repeats") ?? d.LoopRepeats,
            Thresholds = f.Node("thresholds") is { } t ? ReadThresholds(t, f.PathOf("thresholds")) : d.Thresholds,
            Weights = f.Node("weights") is { } w ? ReadWeights(w, f.PathOf("weights"), NightwatchSpec.SignalNames) : d.Weights,
            Cooldown = f.Duration("cooldown") ?? d.Cooldown,
            EscalationWebhook = webhook,
            RateLimitPatterns = f.StringList("rate_limit_patterns") ?? d.RateLimitPatterns,
            ErrorPatterns = f.StringList("error_patterns") ?? d.ErrorPatterns,
            Hysteresis = f.Double("hysteresis") ?? d.Hysteresis,
            MaxBurnPerHour = f.Decimal("max_burn_per_hour") ?? d.MaxBurnPerHour,
            PauseFor = f.Duration("pause_for") ?? d.PauseFor,
        };
        f.Require("hysteresis", n.Hysteresis is >= 0 and < 0.5, "hysteresis must be in [0, 0.5)");
        f.Require("max_burn_per_hour", n.MaxBurnPerHour > 0, "max_burn_per_hour must be positive");
        f.Require("pause_for", n.PauseFor > TimeSpan.Zero, "pause_for must be a positive duration");
        f.Require("window", n.Window > TimeSpan.Zero, "window must be a positive duration");
        f.Require("stall_after", n.StallAfter > TimeSpan.Zero, "stall_after must be a positive duration");
        f.Require("loop_repeats", n.LoopRepeats >= 2, "loop_repeats must be at least 2");
        f.Require("cooldown", n.Cooldown >= TimeSpan.Zero, "cooldown must not be negative");
        foreach (var key in new[] { "rate_limit_patterns", "error_patterns" })
        {
            if (f.Node(key) is not YamlSequenceNode seq)
            {
                continue;
            }

            for (var i = 0; i < seq.Children.Count; i++)
            {
                if (seq.Children[i] is YamlScalarNode { Value: { } pattern } item)
                {
                    try
                    {
                        _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
                    }
                    catch (ArgumentException ex)
                    {
                        Error(item, $"{f.PathOf(key)}[{i}]", $"invalid regular expression: {ex.Message}");
                    }
                }
            }
        }

        return n;
    });

    private NightwatchThresholds ReadThresholds(YamlNode node, string path) => ReadSection(node, path, FleetKeys.Thresholds, new NightwatchThresholds(), (f, d) =>
    {
        var t = d with
        {
            Minor = f.Double("minor") ?? d.Minor,
            Moderate = f.Double("moderate") ?? d.Moderate,
            Severe = f.Double("severe") ?? d.Severe,
            Critical = f.Double("critical") ?? d.Critical,
        };
        var levels = new[] { ("minor", t.Minor), ("moderate", t.Moderate), ("severe", t.Severe), ("critical", t.Critical) };
        var bad = false;
        foreach (var (key, value) in levels)
        {
            if (value is <= 0 or > 1)
            {
                f.Error(f.Has(key) ? key : null, $"threshold {key} ({Num(value)}) must be in (0, 1]");
                bad = true;
            }
        }

        for (var i = 1; i < levels.Length && !bad; i++)
        {
            var (prevKey, prev) = levels[i - 1];
            var (key, value) = levels[i];
            if (value <= prev)
            {
                var at = f.Has(key) ? key : f.Has(prevKey) ? prevKey : null;
                f.Error(at, $"thresholds must be strictly ascending: {key} ({Num(value)}) is not above {prevKey} ({Num(prev)})");
                break;
            }
        }

        return t;
    });
}
