using Hayate.Kernel.Errors;
using Hayate.Lambda.Invoking;

namespace Hayate.Lambda.Functions;

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

    /// <summary>
    /// Changes the function's tags in one transaction: <paramref name="change"/> gets the current
    /// tags and returns the new ones or an error (then nothing changes). False when there is no such function.
    /// </summary>
    Task<Result<bool>> ChangeTagsAsync(string name, Func<IReadOnlyDictionary<string, string>, Result<Dictionary<string, string>>> change, CancellationToken cancellationToken);

    /// <summary>
    /// Publishes a version in one transaction: <paramref name="decide"/> sees $LATEST (null when the
    /// function is gone), the newest version and the next number, and returns the version to insert,
    /// the newest one unchanged (nothing is written), or an error.
    /// </summary>
    Task<Result<FunctionConfiguration>> PublishAsync(string name, PublishDecision decide, CancellationToken cancellationToken);

    Task<FunctionConfiguration?> GetVersionAsync(string name, int version, CancellationToken cancellationToken);

    /// <summary>Published versions in ascending order, after <paramref name="afterVersion"/>.</summary>
    Task<IReadOnlyList<FunctionConfiguration>> ListVersionsAsync(string name, int afterVersion, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes a version unless an alias routes to it; then nothing changes and the aliases are named.</summary>
    Task<VersionDeletion> DeleteVersionAsync(string name, int version, CancellationToken cancellationToken);

    Task<AliasWrite> TryCreateAliasAsync(AliasConfiguration alias, CancellationToken cancellationToken);

    /// <summary>Replaces the alias if its stored RevisionId is still <paramref name="expectedRevisionId"/>.</summary>
    Task<AliasWrite> TryUpdateAliasAsync(AliasConfiguration alias, string expectedRevisionId, CancellationToken cancellationToken);

    Task<AliasConfiguration?> GetAliasAsync(string functionName, string name, CancellationToken cancellationToken);

    /// <summary>Aliases by name after <paramref name="afterName"/>; only those routing to <paramref name="functionVersion"/> when given.</summary>
    Task<IReadOnlyList<AliasConfiguration>> ListAliasesAsync(string functionName, string? functionVersion, string? afterName, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteAliasAsync(string functionName, string name, CancellationToken cancellationToken);

    /// <summary>Sets or (with null) clears the function's reserved concurrency; false when there is no such function.</summary>
    Task<bool> SetReservedConcurrencyAsync(string name, int? reserved, CancellationToken cancellationToken);

    /// <summary>Every function's reservation, to load into the limiter at start.</summary>
    Task<IReadOnlyDictionary<string, int>> ListReservedConcurrencyAsync(CancellationToken cancellationToken);

    /// <summary>Creates or replaces a configuration; false when the function does not exist.</summary>
    Task<bool> PutProvisionedConcurrencyAsync(ProvisionedConcurrencyConfig config, CancellationToken cancellationToken);

    Task<bool> DeleteProvisionedConcurrencyAsync(string name, string qualifier, CancellationToken cancellationToken);

    /// <summary>The configurations of one function, or of all when <paramref name="name"/> is null.</summary>
    Task<IReadOnlyList<ProvisionedConcurrencyConfig>> ListProvisionedConcurrencyAsync(string? name, CancellationToken cancellationToken);

    /// <summary>Creates or replaces the configuration; false when the function does not exist.</summary>
    Task<bool> PutEventInvokeConfigAsync(EventInvokeConfig config, CancellationToken cancellationToken);

    /// <summary>The configurations of one function, by qualifier.</summary>
    Task<IReadOnlyList<EventInvokeConfig>> ListEventInvokeConfigsAsync(string name, CancellationToken cancellationToken);

    Task<bool> DeleteEventInvokeConfigAsync(string name, string qualifier, CancellationToken cancellationToken);
}

/// <summary>A request for <see cref="Requested"/> initialised sandboxes of a version or alias.</summary>
public sealed record ProvisionedConcurrencyConfig(string FunctionName, string Qualifier, int Requested, DateTimeOffset LastModified);

/// <summary>Given $LATEST (null: no such function), the newest version and the next version number, what to publish.</summary>
public delegate Result<FunctionConfiguration> PublishDecision(FunctionConfiguration? latest, FunctionConfiguration? newest, int nextVersion);

/// <summary>Deleted is false when there was no such version or <see cref="BlockingAliases"/> route to it.</summary>
public sealed record VersionDeletion(bool Deleted, IReadOnlyList<string> BlockingAliases);

public enum AliasWriteStatus
{
    Done,
    Conflict,
    VersionMissing,
}

/// <summary>How an alias write went; <see cref="MissingVersion"/> names the unpublished version it pointed at.</summary>
public sealed record AliasWrite(AliasWriteStatus Status, string? MissingVersion);
