using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Hayate.Storage.Sqlite;

/// <summary>The embedded store: one SQLite file in WAL mode in the data directory, with ordered migrations.</summary>
public sealed class SqliteDatabase
{
    private readonly string _connectionString;

    // One slot: whoever holds it writes. An async lock that owns nothing to dispose.
    private readonly Channel<byte> _writeTurn = Channel.CreateBounded<byte>(1);

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE functions (
            name TEXT NOT NULL PRIMARY KEY,
            revision_id TEXT NOT NULL,
            code_size INTEGER NOT NULL,
            config TEXT NOT NULL
        );
        CREATE TABLE log_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            function_name TEXT NOT NULL,
            stream TEXT NOT NULL,
            ts INTEGER NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX log_events_by_function ON log_events (function_name, id);
        """,
        """
        ALTER TABLE functions ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
        """,
        """
        ALTER TABLE functions ADD COLUMN policy TEXT NOT NULL DEFAULT '[]';
        """,
        """
        ALTER TABLE functions ADD COLUMN next_version INTEGER NOT NULL DEFAULT 1;
        CREATE TABLE function_versions (
            function_name TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            config TEXT NOT NULL,
            PRIMARY KEY (function_name, version)
        ) WITHOUT ROWID;
        CREATE TABLE aliases (
            function_name TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            function_version TEXT NOT NULL,
            additional_version TEXT,
            revision_id TEXT NOT NULL,
            config TEXT NOT NULL,
            PRIMARY KEY (function_name, name)
        ) WITHOUT ROWID;
        """,
        """
        ALTER TABLE functions ADD COLUMN reserved_concurrency INTEGER;
        CREATE TABLE provisioned_concurrency (
            function_name TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
            qualifier TEXT NOT NULL,
            requested INTEGER NOT NULL,
            last_modified TEXT NOT NULL,
            PRIMARY KEY (function_name, qualifier)
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE layers (
            name TEXT NOT NULL PRIMARY KEY,
            next_version INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE layer_versions (
            layer_name TEXT NOT NULL REFERENCES layers (name),
            version INTEGER NOT NULL,
            config TEXT NOT NULL,
            policy TEXT NOT NULL,
            policy_revision TEXT NOT NULL,
            PRIMARY KEY (layer_name, version)
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE kms_keys (
            key_id TEXT NOT NULL PRIMARY KEY,
            creation_date INTEGER NOT NULL,
            description TEXT NOT NULL,
            key_usage TEXT NOT NULL,
            key_spec TEXT NOT NULL,
            key_manager TEXT NOT NULL,
            key_state TEXT NOT NULL,
            deletion_date INTEGER,
            pending_window_days INTEGER,
            tags TEXT NOT NULL DEFAULT '[]',
            material BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE kms_aliases (
            alias_name TEXT NOT NULL PRIMARY KEY,
            target_key_id TEXT NOT NULL REFERENCES kms_keys (key_id),
            creation_date INTEGER NOT NULL,
            last_updated_date INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX kms_aliases_by_target ON kms_aliases (target_key_id, alias_name);
        """,
        """
        CREATE TABLE async_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            function_name TEXT NOT NULL,
            qualifier TEXT,
            request_id TEXT NOT NULL,
            payload BLOB NOT NULL,
            client_context TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            enqueued_at INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT
        );
        CREATE TABLE event_invoke_configs (
            function_name TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
            qualifier TEXT NOT NULL,
            config TEXT NOT NULL,
            PRIMARY KEY (function_name, qualifier)
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE sqs_queues (
            name TEXT NOT NULL PRIMARY KEY,
            created_at INTEGER NOT NULL,
            modified_at INTEGER NOT NULL,
            attributes TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE sqs_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            queue_name TEXT NOT NULL,
            message_id TEXT NOT NULL,
            body TEXT NOT NULL,
            attributes TEXT NOT NULL,
            md5_body TEXT NOT NULL,
            md5_attributes TEXT,
            sent_at INTEGER NOT NULL,
            visible_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            receive_count INTEGER NOT NULL DEFAULT 0,
            first_received_at INTEGER,
            receipt TEXT,
            group_id TEXT,
            dedup_id TEXT,
            sequence_number INTEGER
        );
        CREATE INDEX sqs_messages_by_queue ON sqs_messages (queue_name, visible_at, id);
        CREATE TABLE sqs_dedup (
            queue_name TEXT NOT NULL,
            dedup_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            sequence_number INTEGER NOT NULL,
            sent_at INTEGER NOT NULL,
            PRIMARY KEY (queue_name, dedup_id)
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE kinesis_streams (
            name TEXT NOT NULL PRIMARY KEY,
            created_at INTEGER NOT NULL,
            retention_hours INTEGER NOT NULL,
            mode TEXT NOT NULL,
            shard_count INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE kinesis_shards (
            stream_name TEXT NOT NULL REFERENCES kinesis_streams (name) ON DELETE CASCADE,
            shard INTEGER NOT NULL,
            last_sequence INTEGER NOT NULL,
            PRIMARY KEY (stream_name, shard)
        ) WITHOUT ROWID;
        CREATE TABLE kinesis_records (
            stream_name TEXT NOT NULL,
            shard INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            partition_key TEXT NOT NULL,
            data BLOB NOT NULL,
            arrived_at INTEGER NOT NULL,
            PRIMARY KEY (stream_name, shard, sequence)
        );
        CREATE INDEX kinesis_records_by_arrival ON kinesis_records (stream_name, arrived_at);
        """,
        """
        CREATE TABLE event_source_mappings (
            uuid TEXT NOT NULL PRIMARY KEY,
            function_name TEXT NOT NULL,
            event_source_arn TEXT NOT NULL,
            config TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE event_source_checkpoints (
            uuid TEXT NOT NULL REFERENCES event_source_mappings (uuid) ON DELETE CASCADE,
            shard_id TEXT NOT NULL,
            after_sequence TEXT,
            PRIMARY KEY (uuid, shard_id)
        ) WITHOUT ROWID;
        """,
        """
        ALTER TABLE sqs_queues ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
        """,
    ];

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

    /// <summary>Creates the file if needed, switches it to WAL and applies pending migrations.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", cancellationToken);
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
        var current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        for (var version = current; version < Migrations.Length; version++)
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var migrate = connection.CreateCommand();
            migrate.Transaction = transaction;
            migrate.CommandText = Migrations[version] + $"\nINSERT INTO schema_version (version) VALUES ({version + 1});";
            await migrate.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
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
