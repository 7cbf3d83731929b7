using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Hayate.Bench;

/// <summary>
/// The floor for a durable accept: one row inserted and committed per transaction, in a WAL-mode
/// SQLite file in a temporary directory on the same disk, with synchronous=FULL (an fsync per commit)
/// and with NORMAL (no fsync per commit; crash-safe, not power-loss-safe).
/// </summary>
internal static class SqliteFloor
{
    public static async Task<double> InsertsPerSecondAsync(bool fullSync, TimeSpan duration)
    {
        var directory = Directory.CreateTempSubdirectory("hayate-bench-sqlite-");
        try
        {
            var path = Path.Combine(directory.FullName, "floor.db");
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            await connection.OpenAsync();
            await using (var setup = connection.CreateCommand())
            {
                setup.CommandText = $"PRAGMA journal_mode=WAL; PRAGMA synchronous={(fullSync ? "FULL" : "NORMAL")}; CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB NOT NULL);";
                await setup.ExecuteNonQueryAsync();
            }

            await using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO events (payload) VALUES ($payload);";
            insert.Parameters.AddWithValue("$payload", LoadRunner.Payload);
            var count = 0;
            var started = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(started) < duration)
            {
                await insert.ExecuteNonQueryAsync();
                count++;
            }

            return count / Stopwatch.GetElapsedTime(started).TotalSeconds;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }
}
