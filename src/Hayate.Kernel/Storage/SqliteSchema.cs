namespace Hayate.Kernel.Storage;

/// <summary>One step of a schema, numbered from 1 within it. Applied once, in a transaction; never edited after it ships.</summary>
public sealed record Migration(int Number, string Sql)
{
    /// <summary>
    /// Where this step stood in the single list of migrations that builds before the split by
    /// service kept (their schema_version); null for steps written since. Lets a data directory
    /// written by such a build open unchanged.
    /// </summary>
    public int? SingleListVersion { get; init; }
}

/// <summary>The tables one service owns: its name (the key of its steps in schema_migrations) and its migrations in order.</summary>
public sealed record SqliteSchema(string Name, IReadOnlyList<Migration> Migrations)
{
    /// <summary>Names unique, steps numbered 1, 2, 3… in order: what the runner relies on.</summary>
    internal static void CheckAll(IReadOnlyList<SqliteSchema> schemas)
    {
        var duplicate = schemas.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"two schemas are named {duplicate.Key}");
        }

        foreach (var schema in schemas)
        {
            for (var i = 0; i < schema.Migrations.Count; i++)
            {
                if (schema.Migrations[i].Number != i + 1)
                {
                    throw new InvalidOperationException($"schema {schema.Name}: migration {i + 1} is numbered {schema.Migrations[i].Number}");
                }
            }
        }
    }
}
