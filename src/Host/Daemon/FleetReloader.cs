using Akka.Hosting;
using DarkFactory.Actors.Control;
using DarkFactory.Host.Api;
using DarkFactory.Host.Cluster;

namespace DarkFactory.Host.Daemon;

/// <summary>The outcome of applying a fleet file: what changed, or why it was refused (the running fleet untouched).</summary>
/// <param name="Refusal">Set when a valid file was refused because it would stop every agent or every safety agent.</param>
public sealed record ReloadResult(bool Applied, FleetApplied? Changes, IReadOnlyList<FleetDiagnostic> Diagnostics, ReloadRefusal? Refusal = null);

/// <summary>
/// Loads, validates and applies the fleet file: at start, on SIGHUP and on `df reload`. An invalid file
/// is refused with its errors and never reaches the actors; so is one that would stop every agent or every
/// safety agent unless asked for (<see cref="ReloadGuard"/>; SIGHUP never asks). Reloads are serialized. An applied fleet is in
/// the API's status view when the reload returns (agents added or removed show at once).
/// </summary>
/// <param name="place">The part of a fleet this node runs (a cluster node: the agents placed on it; default: all of it).</param>
/// <param name="declared">Called with each whole fleet applied from the file (a cluster node declares it to the placement coordinator).</param>
/// <param name="refused">Called with each refusal (the daemon publishes it on the event stream).</param>
/// <param name="clusterTiming">A cluster node's timing as it started (<c>cluster:</c>'s timing keys): a file that changes it is applied with a warning that the change takes a restart (<see cref="ClusterTimingNote"/>); null: a single node.</param>
public sealed class FleetReloader(string fleetPath, FactoryClient factory, IRequiredActor<EventBridgeActor> bridge, FleetStatusView view, ILogger<FleetReloader> log, Func<FleetSpec, FleetSpec>? place = null, Action<FleetSpec>? declared = null, Action<FleetReloadRefused>? refused = null, ClusterTimingSpec? clusterTiming = null)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private FleetSpec? _whole;

    public string FleetPath { get; } = fleetPath;

    private FleetSpec Place(FleetSpec fleet) => place is null ? fleet : place(fleet);

    /// <param name="alreadyLoaded">The fleet read at start (applied as it is).</param>
    /// <param name="allowEmpty">Apply even a fleet that stops every agent or every safety agent.</param>
    public async Task<ReloadResult> ReloadAsync(FleetSpec? alreadyLoaded = null, bool allowEmpty = false, CancellationToken cancel = default)
    {
        await _gate.WaitAsync(cancel);
        try
        {
            var diagnostics = new List<FleetDiagnostic>();
            var whole = alreadyLoaded;
            if (whole is null)
            {
                var load = FleetLoader.LoadFile(FleetPath);
                diagnostics.AddRange(load.Diagnostics);
                if (clusterTiming is not null && load.Fleet is { } loaded)
                {
                    diagnostics.AddRange(ClusterTimingNote.Of(clusterTiming, (loaded.Cluster ?? new ClusterSpec()).Timing, FleetPath, ReadOrNull(FleetPath)));
                }

                foreach (var d in load.Diagnostics)
                {
                    if (d.IsError)
                    {
                        log.LogError("{Diagnostic}", d.ToString());
                    }
                    else
                    {
                        log.LogWarning("{Diagnostic}", d.ToString());
                    }
                }

                // the whole file is guarded, not this node's part of it (a cluster node may run none of its agents)
                if (ReloadGuard.Refusal(_whole, load, allowEmpty, FleetPath, DateTimeOffset.UtcNow) is { } refusal)
                {
                    log.LogError("Fleet file {Path} refused: {Reason}", FleetPath, refusal.Reason);
                    refused?.Invoke(refusal);
                    return new ReloadResult(false, null, diagnostics, load.Ok ? new ReloadRefusal(refusal.Reason, refusal.WouldStop) : null);
                }

                whole = load.Fleet!;
            }

            var applied = await ApplyAsync(whole, cancel);
            declared?.Invoke(whole);
            return new ReloadResult(true, applied, diagnostics);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Applies this node's part of the last fleet again (a cluster node accepted a new placement); nothing before the first fleet.</summary>
    public async Task<FleetApplied?> ReapplyAsync(CancellationToken cancel = default)
    {
        await _gate.WaitAsync(cancel);
        try
        {
            return _whole is { } whole ? await ApplyAsync(whole, cancel) : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<FleetApplied> ApplyAsync(FleetSpec whole, CancellationToken cancel)
    {
        var applied = await factory.Ask<FleetApplied>(new ApplyFleet(Place(whole)), factory.Options.ApplyTimeout, cancel);
        _whole = whole;
        await ApiEndpoints.AwaitStatus(bridge, factory.Options.AskTimeout, cancel);
        view.Serve();
        return applied;
    }
}
