using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Hayate.Kernel.Storage;

/// <summary>The embedded store: one SQLite file in WAL mode in the data directory; each service brings its own <see cref="SqliteSchema"/>.</summary>
public sealed class SqliteDatabase
{
    private readonly string _connectionString;

    // One slot: whoever holds it writes. An async lock that owns nothing to dispose.
    private readonly Channel<byte> _writeTurn = Channel.CreateBounded<byte>(1);

    public SqliteDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>
    /// Creates the file if needed, switches it to WAL and applies the migrations of every schema
    /// not yet applied: schema by schema in the order given, each schema's in its own order, each
    /// migration in a transaction with its record in schema_migrations.
    /// </summary>
    public async Task MigrateAsync(IEnumerable<SqliteSchema> schemas, CancellationToken cancellationToken)
    {
        var all = schemas.ToList();
        SqliteSchema.CheckAll(all);
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
        await ExecuteAsync(connection, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                schema TEXT NOT NULL,
                number INTEGER NOT NULL,
                applied_at INTEGER NOT NULL,
                PRIMARY KEY (schema, number)
            ) WITHOUT ROWID;
            """, cancellationToken);
        await AdoptSingleListAsync(connection, all, cancellationToken);

        var applied = new HashSet<(string, long)>();
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT schema, number FROM schema_migrations;";
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add((reader.GetString(0), reader.GetInt64(1)));
            }
        }

        foreach (var schema in all)
        {
            foreach (var migration in schema.Migrations)
            {
                if (applied.Contains((schema.Name, migration.Number)))
                {
                    continue;
                }

                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                await using var migrate = connection.CreateCommand();
                migrate.Transaction = transaction;
                migrate.CommandText = migration.Sql + "\nINSERT INTO schema_migrations (schema, number, applied_at) VALUES ($schema, $number, unixepoch());";
                migrate.Parameters.AddWithValue("$schema", schema.Name);
                migrate.Parameters.AddWithValue("$number", migration.Number);
                await migrate.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
        }
    }

    /// <summary>
    /// Builds before the split by service kept one list of migrations, counted in schema_version.
    /// Such a file is adopted once: each migration that names its place in that list as its
    /// <see cref="Migration.SingleListVersion"/> is recorded as applied, and schema_version goes.
    /// A step of the old list that no schema claims stops the start rather than being guessed at.
    /// </summary>
    private static async Task AdoptSingleListAsync(SqliteConnection connection, IReadOnlyList<SqliteSchema> schemas, CancellationToken cancellationToken)
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var exists = connection.CreateCommand();
        exists.Transaction = transaction;
        exists.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';";
        if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
        {
            return;
        }

        await using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
        var reached = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        var claimed = schemas
            .SelectMany(schema => schema.Migrations.Where(m => m.SingleListVersion is { } v && v <= reached).Select(m => (schema.Name, m)))
            .ToList();
        var missing = Enumerable.Range(1, reached).Except(claimed.Select(c => c.m.SingleListVersion!.Value)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"the database {connection.DataSource} was written by an older build: its migration steps {string.Join(", ", missing)} belong to no schema of this build; open it with the build that wrote it");
        }

        foreach (var (name, migration) in claimed)
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT OR IGNORE INTO schema_migrations (schema, number, applied_at) VALUES ($schema, $number, unixepoch());";
            insert.Parameters.AddWithValue("$schema", name);
            insert.Parameters.AddWithValue("$number", migration.Number);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var drop = connection.CreateCommand();
        drop.Transaction = transaction;
        drop.CommandText = "DROP TABLE schema_version;";
        await drop.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// The process's turn to write. SQLite takes one writer at a time, and a writer that finds the file
    /// locked sleeps, blocking its thread, before it tries again: many pollers writing at once spend
    /// their time asleep. Writers that take their turn here wait without blocking instead, in order.
    /// Dispose the turn to pass it on.
    /// </summary>
    public async ValueTask<WriteTurn> WriteTurnAsync(CancellationToken cancellationToken)
    {
        await _writeTurn.Writer.WriteAsync(0, cancellationToken);
        return new WriteTurn(_writeTurn);
    }

    /// <summary>A held turn to write (see <see cref="WriteTurnAsync"/>).</summary>
    public readonly struct WriteTurn(Channel<byte> turn) : IDisposable
    {
        public void Dispose() => turn.Reader.TryRead(out _);
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // WAL with NORMAL: a committed transaction survives a crash of the process (kill -9); only
        // a power loss can take the last ones.
        await ExecuteAsync(connection, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", cancellationToken);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
