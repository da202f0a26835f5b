using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Hosting;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors;
using DarkFactory.Actors.Control;
using DarkFactory.Host.Daemon;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

/// <summary>
/// Readiness's bound, attacked (issue 15, finding 10): a PostgreSQL "server" that accepts connections and never
/// answers (a tarpit: a hung database host, a half-open proxy). The journal check fails within the bound naming it,
/// and callers piling on meanwhile never wait for one another's hung check longer than the bound.
/// </summary>
public sealed class ReadinessBoundSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);
    private readonly string _dir = Directory.CreateTempSubdirectory("df-ready-bound-").FullName;
    private readonly TcpListener _tarpit = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();

    [Fact]
    public async Task A_store_that_never_answers_fails_the_journal_check_within_the_bound_and_callers_never_queue_past_it()
    {
        _tarpit.Start();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _tarpit.AcceptSocketAsync(_stop.Token); // accepted, never read, never answered
                lock (_held)
                {
                    _held.Add(socket);
                }
            }
        });
        var port = ((IPEndPoint)_tarpit.LocalEndpoint).Port;
        var registry = ActorRegistry.For(Sys);
        registry.Register<FactoryActor>(Sys.ActorOf(FactoryActor.Props(registry, null, _ => null), "factory"));
        using var telemetry = new FleetTelemetry();
        var readiness = new Readiness(
            new RequiredActor<FactoryActor>(registry),
            new DataDirectory(_dir),
            new PersistenceSetup("PostgreSQL.15", $"Host=127.0.0.1;Port={port};Username=df;Password=df;Database=df"),
            telemetry,
            NullLogger<Readiness>.Instance)
        { CheckBound = Bound };

        var clock = Stopwatch.StartNew();
        var callers = Enumerable.Range(0, 12).Select(_ => readiness.CheckAsync(CancellationToken.None)).ToList();
        var reports = await Task.WhenAll(callers);
        var took = clock.Elapsed;

        // one caller runs the check (bounded), the others wait at most the bound for it: unbounded, 12 callers in a row
        // would take 12 x the driver's own 5 s connect timeout
        Assert.True(took < Bound * 5, $"12 callers took {took.TotalSeconds:0.0} s against a {Bound.TotalSeconds:0} s bound");
        Assert.All(reports, r => Assert.False(r.Ready));
        var journal = reports.Select(r => r.Checks.FirstOrDefault(c => c.Name == "journal")).First(c => c is not null)!;
        Assert.False(journal.Ok);
        Assert.Equal("the store did not take a write within 2 s", journal.Detail);
        lock (_held)
        {
            Assert.NotEmpty(_held); // the check did reach the tarpit: it was the store that hung, not a refused connection
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _stop.Cancel();
            _tarpit.Stop();
            lock (_held)
            {
                _held.ForEach(s => s.Dispose());
            }

            Directory.Delete(_dir, recursive: true);
        }
    }
}
