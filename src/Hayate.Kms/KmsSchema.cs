using Hayate.Kernel.Storage;

namespace Hayate.Kms;

/// <summary>The tables of KMS keys (material sealed under the master key) and their aliases.</summary>
public static class KmsSchema
{
    public static SqliteSchema Schema { get; } = new("kms",
    [
        new(1, """
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
            """) { SingleListVersion = 7 },
    ]);
}
