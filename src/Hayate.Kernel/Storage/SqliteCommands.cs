using Microsoft.Data.Sqlite;

namespace Hayate.Kernel.Storage;

/// <summary>
/// One statement and its parameters in one call: what every store's queries would otherwise spell
/// out (open, create the command, add each parameter, execute, read). Parameters are
/// `("$name", value)` pairs; a null value is SQL NULL. Calls on a <see cref="SqliteDatabase"/> open
/// their own connection; calls on a <see cref="SqliteTransaction"/> run inside it.
/// </summary>
public static class SqliteCommands
{
    public static SqliteCommand Command(this SqliteConnection connection, string sql, (string Name, object? Value)[]? parameters = null, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters ?? [])
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    /// <summary>Runs a statement; returns the rows it changed.</summary>
    public static async Task<int> ExecuteAsync(this SqliteDatabase database, string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(sql, parameters, cancellationToken);
    }

    public static async Task<int> ExecuteAsync(this SqliteConnection connection, string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<int> ExecuteAsync(this SqliteTransaction transaction, string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = transaction.Connection!.Command(sql, parameters, transaction);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The first column of the first row; null when there is no row or it is NULL.</summary>
    public static async Task<object?> ScalarAsync(this SqliteDatabase database, string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ScalarAsync(sql, parameters, cancellationToken);
    }

    public static async Task<object?> ScalarAsync(this SqliteConnection connection, string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? value : null;
    }

    public static async Task<object?> ScalarAsync(this SqliteTransaction transaction, string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = transaction.Connection!.Command(sql, parameters, transaction);
        return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? value : null;
    }

    /// <summary>Every row, each made by <paramref name="read"/>.</summary>
    public static async Task<List<T>> QueryAsync<T>(this SqliteDatabase database, string sql, (string Name, object? Value)[] parameters, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QueryAsync(sql, parameters, read, cancellationToken);
    }

    public static async Task<List<T>> QueryAsync<T>(this SqliteConnection connection, string sql, (string Name, object? Value)[] parameters, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(sql, parameters);
        return await ReadAllAsync(command, read, cancellationToken);
    }

    public static async Task<List<T>> QueryAsync<T>(this SqliteTransaction transaction, string sql, (string Name, object? Value)[] parameters, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = transaction.Connection!.Command(sql, parameters, transaction);
        return await ReadAllAsync(command, read, cancellationToken);
    }

    /// <summary>The first row made by <paramref name="read"/>, or null when there is none.</summary>
    public static async Task<T?> QueryFirstAsync<T>(this SqliteDatabase database, string sql, (string Name, object? Value)[] parameters, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? read(reader) : null;
    }

    private static async Task<List<T>> ReadAllAsync<T>(SqliteCommand command, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
