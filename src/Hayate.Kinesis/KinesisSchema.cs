using Hayate.Kernel.Storage;

namespace Hayate.Kinesis;

/// <summary>The tables of streams, their shards and records.</summary>
public static class KinesisSchema
{
    public static SqliteSchema Schema { get; } = new("kinesis",
    [
        new(1, """
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
            """) { SingleListVersion = 10 },
    ]);
}
