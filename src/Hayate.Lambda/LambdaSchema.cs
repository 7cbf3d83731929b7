using Hayate.Kernel.Storage;

namespace Hayate.Lambda;

/// <summary>The tables of functions, versions, aliases, layers, logs, asynchronous events and event source mappings.</summary>
public static class LambdaSchema
{
    public static SqliteSchema Schema { get; } = new("lambda",
    [
        new(1, """
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
            """) { SingleListVersion = 1 },
        new(2, """
            ALTER TABLE functions ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
            """) { SingleListVersion = 2 },
        new(3, """
            ALTER TABLE functions ADD COLUMN policy TEXT NOT NULL DEFAULT '[]';
            """) { SingleListVersion = 3 },
        new(4, """
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
            """) { SingleListVersion = 4 },
        new(5, """
            ALTER TABLE functions ADD COLUMN reserved_concurrency INTEGER;
            CREATE TABLE provisioned_concurrency (
                function_name TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
                qualifier TEXT NOT NULL,
                requested INTEGER NOT NULL,
                last_modified TEXT NOT NULL,
                PRIMARY KEY (function_name, qualifier)
            ) WITHOUT ROWID;
            """) { SingleListVersion = 5 },
        new(6, """
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
            """) { SingleListVersion = 6 },
        new(7, """
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
            """) { SingleListVersion = 8 },
        new(8, """
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
            """) { SingleListVersion = 11 },
    ]);
}
