using Hayate.Kernel.Storage;

namespace Hayate.Sqs;

/// <summary>The tables of queues, their messages and FIFO deduplication.</summary>
public static class SqsSchema
{
    public static SqliteSchema Schema { get; } = new("sqs",
    [
        new(1, """
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
            """) { SingleListVersion = 9 },
        new(2, """
            ALTER TABLE sqs_queues ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
            """) { SingleListVersion = 12 },
    ]);
}
