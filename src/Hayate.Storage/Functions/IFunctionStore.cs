using Hayate.Core.Functions;

namespace Hayate.Storage.Functions;

/// <summary>Durable function metadata. SQLite now; a PostgreSQL backend implements the same contract later.</summary>
public interface IFunctionStore
{
    /// <summary>False when a function of that name exists already.</summary>
    Task<bool> TryCreateAsync(FunctionConfiguration function, CancellationToken cancellationToken);

    Task<FunctionConfiguration?> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Functions ordered by name, starting after <paramref name="afterName"/>.</summary>
    Task<IReadOnlyList<FunctionConfiguration>> ListAsync(string? afterName, int limit, CancellationToken cancellationToken);

    /// <summary>Replaces the function if its stored RevisionId is still <paramref name="expectedRevisionId"/>.</summary>
    Task<bool> TryUpdateAsync(FunctionConfiguration function, string expectedRevisionId, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);

    Task<(long Count, long TotalCodeSize)> UsageAsync(CancellationToken cancellationToken);
}
