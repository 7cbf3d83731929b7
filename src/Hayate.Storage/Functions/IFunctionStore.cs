using Hayate.Core.Functions;

namespace Hayate.Storage.Functions;

/// <summary>Durable function metadata. SQLite now; a PostgreSQL backend implements the same contract later.</summary>
public interface IFunctionStore
{
    /// <summary>Creates the function with its tags in one statement; false when a function of that name exists already.</summary>
    Task<bool> TryCreateAsync(FunctionConfiguration function, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken);

    Task<FunctionConfiguration?> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Functions ordered by name, starting after <paramref name="afterName"/>.</summary>
    Task<IReadOnlyList<FunctionConfiguration>> ListAsync(string? afterName, int limit, CancellationToken cancellationToken);

    /// <summary>Replaces the function if its stored RevisionId is still <paramref name="expectedRevisionId"/>.</summary>
    Task<bool> TryUpdateAsync(FunctionConfiguration function, string expectedRevisionId, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);

    Task<(long Count, long TotalCodeSize)> UsageAsync(CancellationToken cancellationToken);

    /// <summary>The function's tags; null when there is no such function.</summary>
    Task<IReadOnlyDictionary<string, string>?> GetTagsAsync(string name, CancellationToken cancellationToken);

    /// <summary>The statements of the function's resource policy, as a JSON array; null when there is no such function.</summary>
    Task<string?> GetPolicyAsync(string name, CancellationToken cancellationToken);

    /// <summary>Replaces the policy if it is still <paramref name="expected"/>; false otherwise (or no function).</summary>
    Task<bool> TryReplacePolicyAsync(string name, string expected, string replacement, CancellationToken cancellationToken);

    /// <summary>Replaces the function's tags; false when there is no such function.</summary>
    Task<bool> SetTagsAsync(string name, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken);
}
