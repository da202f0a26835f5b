using DarkFactory.Host.Daemon;
using Microsoft.Data.Sqlite;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

/// <summary>
/// Issue 18: the first fleet revision waits for Nightwatch's recovery only when the store may hold a pause of its
/// (<see cref="BootPauses"/>); whatever this cannot tell for certain keeps the wait.
/// </summary>
public sealed class BootPausesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-boot-pauses-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private PersistenceSetup Store(string name) => new("SQLite.MS", $"Data Source={Path.Combine(_dir, name)};Pooling=True");

    private void Execute(string name, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir, name)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private const string Tables = """
        CREATE TABLE journal (ordering INTEGER PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL, deleted BIT NOT NULL, persistence_id TEXT NOT NULL, sequence_number INTEGER NOT NULL, message BLOB NOT NULL, manifest TEXT, identifier INTEGER, writer_uuid TEXT);
        CREATE TABLE snapshot (persistence_id TEXT NOT NULL, sequence_number INTEGER NOT NULL, created INTEGER NOT NULL, snapshot BLOB, manifest TEXT, serializer_id INTEGER, PRIMARY KEY (persistence_id, sequence_number));
        """;

    [Fact]
    public void A_new_store_holds_no_pause()
    {
        Assert.False(BootPauses.MayExist(Store("missing.db"), "nightwatch"));

        // as the daemon leaves it before the journal's first start: WAL on, no table; the readiness table alone
        new PersistenceSetup("SQLite.MS", $"Data Source={Path.Combine(_dir, "new.db")};Pooling=False").Prepare();
        Execute("new.db", "CREATE TABLE df_readiness (id INTEGER PRIMARY KEY, at TEXT NOT NULL)");
        Assert.False(BootPauses.MayExist(Store("new.db"), "nightwatch"));
    }

    [Fact]
    public void A_store_with_other_actors_events_but_none_of_nightwatch_holds_no_pause()
    {
        Execute("others.db", Tables + "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message) VALUES (0, 0, 'agent-a', 1, x'00'), (0, 0, 'scheduler', 1, x'00');");

        Assert.False(BootPauses.MayExist(Store("others.db"), "nightwatch"));
    }

    [Theory]
    [InlineData("INSERT INTO journal (created, deleted, persistence_id, sequence_number, message) VALUES (0, 0, 'nightwatch', 1, x'00')")]
    [InlineData("INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot) VALUES ('nightwatch', 200, 0, x'00')")]
    public void An_event_or_a_snapshot_of_nightwatch_may_hold_a_pause(string row)
    {
        Execute("nightwatch.db", Tables + row);

        Assert.True(BootPauses.MayExist(Store("nightwatch.db"), "nightwatch"));
        Assert.False(BootPauses.MayExist(Store("nightwatch.db"), "nightwatch@n2")); // another persistence id's rows are not its
    }

    [Fact]
    public void A_store_written_by_a_release_holds_nightwatch_events()
    {
        var fixture = Directory.GetDirectories(Upgrade.JournalFixtureTests.Fixtures, "journal-*").Order().Last();
        File.Copy(Path.Combine(fixture, "data", "darkfactory.db"), Path.Combine(_dir, "fixture.db"));

        Assert.True(BootPauses.MayExist(Store("fixture.db"), "nightwatch"));
    }

    [Fact]
    public void What_cannot_be_told_for_certain_keeps_the_wait()
    {
        File.WriteAllBytes(Path.Combine(_dir, "garbage.db"), Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());
        Assert.True(BootPauses.MayExist(Store("garbage.db"), "nightwatch"));

        Execute("renamed.db", "CREATE TABLE event_journal (persistence_id TEXT NOT NULL)"); // an operator's own table names
        Assert.True(BootPauses.MayExist(Store("renamed.db"), "nightwatch"));

        Assert.True(BootPauses.MayExist(new PersistenceSetup("PostgreSQL.15", "Host=localhost"), "nightwatch"));
        Assert.False(BootPauses.MayExist(PersistenceSetup.InMemory, "nightwatch")); // nothing outlives an in-memory store
    }
}
