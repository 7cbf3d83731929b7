using Hayate.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Hayate.Kernel.Tests;

/// <summary>The migrations runner over a real SQLite file: each service's schema, in order, once; and files from builds that kept one list.</summary>
public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hayate-db-" + Guid.NewGuid().ToString("N"));

    public SqliteDatabaseTests() => Directory.CreateDirectory(_directory);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string File => Path.Combine(_directory, "hayate.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static readonly SqliteSchema Fruit = new("fruit",
    [
        new(1, "CREATE TABLE apples (id INTEGER PRIMARY KEY);") { SingleListVersion = 1 },
        new(2, "ALTER TABLE apples ADD COLUMN colour TEXT;") { SingleListVersion = 3 },
    ]);

    private static readonly SqliteSchema Veg = new("veg",
    [
        new(1, "CREATE TABLE leeks (id INTEGER PRIMARY KEY);") { SingleListVersion = 2 },
    ]);

    [Fact]
    public async Task MigrateAsync_NewFile_AppliesEverySchemaOnce()
    {
        var database = new SqliteDatabase(File);
        await database.MigrateAsync([Fruit, Veg], Token);
        await database.MigrateAsync([Fruit, Veg], Token);

        Assert.Equal(["apples", "leeks", "schema_migrations"], await TablesAsync());
        Assert.Equal(["fruit 1", "fruit 2", "veg 1"], await AppliedAsync());
        Assert.Equal(["colour", "id"], await ColumnsAsync("apples"));
    }

    [Fact]
    public async Task MigrateAsync_SchemaGrows_AppliesOnlyTheNewStep()
    {
        var database = new SqliteDatabase(File);
        await database.MigrateAsync([Fruit], Token);
        await ExecuteAsync("INSERT INTO apples (id, colour) VALUES (7, 'red');");

        var grown = Fruit with { Migrations = [.. Fruit.Migrations, new(3, "ALTER TABLE apples ADD COLUMN size INTEGER;")] };
        await database.MigrateAsync([grown], Token);

        Assert.Equal(["colour", "id", "size"], await ColumnsAsync("apples"));
        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM apples WHERE id = 7 AND colour = 'red';"));
    }

    [Fact]
    public async Task MigrateAsync_FileFromTheSingleListBuild_IsAdoptedWithoutRerunningItsSteps()
    {
        // What a build before the split left: the first three steps of one list, counted in schema_version.
        await ExecuteAsync("""
            CREATE TABLE schema_version (version INTEGER NOT NULL);
            CREATE TABLE apples (id INTEGER PRIMARY KEY);
            INSERT INTO schema_version VALUES (1);
            CREATE TABLE leeks (id INTEGER PRIMARY KEY);
            INSERT INTO schema_version VALUES (2);
            ALTER TABLE apples ADD COLUMN colour TEXT;
            INSERT INTO schema_version VALUES (3);
            INSERT INTO apples (id, colour) VALUES (1, 'green');
            """);
        var grown = Veg with { Migrations = [.. Veg.Migrations, new(2, "ALTER TABLE leeks ADD COLUMN length INTEGER;")] };

        // Re-running any adopted step would fail: its table or column already exists.
        await new SqliteDatabase(File).MigrateAsync([Fruit, grown], Token);

        Assert.Equal(["apples", "leeks", "schema_migrations"], await TablesAsync());
        Assert.Equal(["fruit 1", "fruit 2", "veg 1", "veg 2"], await AppliedAsync());
        Assert.Equal(["id", "length"], await ColumnsAsync("leeks"));
        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM apples WHERE colour = 'green';"));
    }

    [Fact]
    public async Task MigrateAsync_SingleListStepNoSchemaClaims_RefusesAndChangesNothing()
    {
        await ExecuteAsync("""
            CREATE TABLE schema_version (version INTEGER NOT NULL);
            CREATE TABLE apples (id INTEGER PRIMARY KEY);
            CREATE TABLE leeks (id INTEGER PRIMARY KEY);
            INSERT INTO schema_version VALUES (2);
            """);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new SqliteDatabase(File).MigrateAsync([Fruit], Token));

        Assert.Contains("migration steps 2 belong to no schema", error.Message, StringComparison.Ordinal);
        Assert.Equal(2L, await ScalarAsync("SELECT MAX(version) FROM schema_version;"));
        Assert.Equal(0L, await ScalarAsync("SELECT COUNT(*) FROM schema_migrations;"));
    }

    [Fact]
    public async Task MigrateAsync_StepFails_LeavesNoHalfOfIt()
    {
        var broken = new SqliteSchema("broken",
        [
            new(1, "CREATE TABLE good (id INTEGER);"),
            new(2, "CREATE TABLE half (id INTEGER); INSERT INTO nowhere VALUES (1);"),
        ]);

        await Assert.ThrowsAsync<SqliteException>(() => new SqliteDatabase(File).MigrateAsync([broken], Token));

        Assert.Equal(["good", "schema_migrations"], await TablesAsync());
        Assert.Equal(["broken 1"], await AppliedAsync());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public async Task MigrateAsync_StepsNotNumberedFromOne_AreRefusedBeforeTouchingTheFile(int number)
    {
        var misnumbered = new SqliteSchema("odd", [new(number, "CREATE TABLE t (id INTEGER);")]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new SqliteDatabase(File).MigrateAsync([misnumbered], Token));

        Assert.Contains("schema odd", error.Message, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(File));
    }

    [Fact]
    public async Task MigrateAsync_TwoSchemasOfOneName_AreRefused()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new SqliteDatabase(File).MigrateAsync([Fruit, Fruit with { Migrations = [] }], Token));

        Assert.Contains("fruit", error.Message, StringComparison.Ordinal);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={File}");
        await connection.OpenAsync(Token);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Token);
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={File}");
        await connection.OpenAsync(Token);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync(Token))!;
    }

    private Task<List<string>> TablesAsync() => ListAsync("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;");

    private Task<List<string>> AppliedAsync() => ListAsync("SELECT schema || ' ' || number FROM schema_migrations ORDER BY schema, number;");

    private Task<List<string>> ColumnsAsync(string table) => ListAsync($"SELECT name FROM pragma_table_info('{table}') ORDER BY name;");

    private async Task<List<string>> ListAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={File}");
        await connection.OpenAsync(Token);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(Token);
        var values = new List<string>();
        while (await reader.ReadAsync(Token))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
