using System.Collections.Concurrent;
using Hayate.Kernel.Errors;
using Hayate.Lambda.Functions;

namespace Hayate.Lambda.Invoking;

/// <summary>What Put/UpdateFunctionEventInvokeConfig ask for; null means "not given".</summary>
public sealed record EventInvokeSettings(int? MaximumRetryAttempts, int? MaximumEventAgeInSeconds, string? OnSuccess, string? OnFailure);

/// <summary>
/// Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s), and the retry policy the asynchronous
/// queue applies to each event (read from memory on the hot path).
/// </summary>
public sealed class EventInvokeConfigs(IFunctionStore store, FunctionManager functions, TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Function, string Qualifier), EventInvokeConfig?> _cache = new();

    /// <summary>Put replaces every setting (unset ones go back to their defaults); update merges with what is there.</summary>
    public async Task<Result<EventInvokeConfig>> PutAsync(FunctionRef reference, EventInvokeSettings settings, bool merge, CancellationToken cancellationToken)
    {
        if (Validate(settings) is { } invalid)
        {
            return invalid;
        }

        var target = await functions.GetAsync(reference, cancellationToken);
        if (!target.Ok)
        {
            return target.Error;
        }

        var qualifier = reference.Qualifier ?? "$LATEST";
        var current = merge ? await FindAsync(reference.Name, qualifier, cancellationToken) : null;
        if (merge && current is null)
        {
            return NotFound(reference.Name, qualifier);
        }

        var config = new EventInvokeConfig
        {
            FunctionName = reference.Name,
            Qualifier = qualifier,
            MaximumRetryAttempts = settings.MaximumRetryAttempts ?? current?.MaximumRetryAttempts,
            MaximumEventAgeInSeconds = settings.MaximumEventAgeInSeconds ?? current?.MaximumEventAgeInSeconds,
            OnSuccess = settings.OnSuccess is null ? current?.OnSuccess : settings.OnSuccess.Length == 0 ? null : settings.OnSuccess,
            OnFailure = settings.OnFailure is null ? current?.OnFailure : settings.OnFailure.Length == 0 ? null : settings.OnFailure,
            LastModified = time.GetUtcNow(),
        };
        if (!await store.PutEventInvokeConfigAsync(config, cancellationToken))
        {
            return LambdaErrors.FunctionNotFound(functions.ArnOf(reference.Name));
        }

        _cache[(reference.Name, qualifier)] = config;
        return config;
    }

    public async Task<Result<EventInvokeConfig>> GetAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        var target = await functions.GetAsync(reference, cancellationToken);
        if (!target.Ok)
        {
            return target.Error;
        }

        var qualifier = reference.Qualifier ?? "$LATEST";
        return await FindAsync(reference.Name, qualifier, cancellationToken) is { } config ? config : NotFound(reference.Name, qualifier);
    }

    public async Task<AwsError?> DeleteAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        var target = await functions.GetAsync(reference, cancellationToken);
        if (!target.Ok)
        {
            return target.Error;
        }

        var qualifier = reference.Qualifier ?? "$LATEST";
        if (!await store.DeleteEventInvokeConfigAsync(reference.Name, qualifier, cancellationToken))
        {
            return NotFound(reference.Name, qualifier);
        }

        _cache[(reference.Name, qualifier)] = null;
        return null;
    }

    public async Task<Result<IReadOnlyList<EventInvokeConfig>>> ListAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        var target = await functions.GetAsync(reference with { Qualifier = null }, cancellationToken);
        return target.Ok ? Result.Of(await store.ListEventInvokeConfigsAsync(reference.Name, cancellationToken)) : target.Error;
    }

    /// <summary>The policy for an event invoked with <paramref name="qualifier"/> (null: $LATEST); the defaults when none is set.</summary>
    public async ValueTask<EventInvokeConfig?> ForEventAsync(string function, string? qualifier, CancellationToken cancellationToken) =>
        await FindAsync(function, qualifier ?? "$LATEST", cancellationToken);

    /// <summary>Drops what is cached about a function (it was deleted).</summary>
    public void Forget(string function)
    {
        foreach (var key in _cache.Keys.Where(k => k.Function == function))
        {
            _cache.TryRemove(key, out _);
        }
    }

    private async ValueTask<EventInvokeConfig?> FindAsync(string function, string qualifier, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue((function, qualifier), out var cached))
        {
            return cached;
        }

        var config = (await store.ListEventInvokeConfigsAsync(function, cancellationToken)).FirstOrDefault(c => c.Qualifier == qualifier);
        _cache[(function, qualifier)] = config;
        return config;
    }

    private AwsError NotFound(string function, string qualifier) =>
        LambdaErrors.NotFound($"The function {functions.ArnOf(function, qualifier == "$LATEST" ? null : qualifier)} doesn't have an EventInvokeConfig");

    private static AwsError? Validate(EventInvokeSettings settings)
    {
        if (settings.MaximumRetryAttempts is { } retries && retries is < 0 or > 2)
        {
            return AwsErrors.Validation("maximumRetryAttempts", retries.ToString(System.Globalization.CultureInfo.InvariantCulture),
                retries < 0 ? "Member must have value greater than or equal to 0" : "Member must have value less than or equal to 2");
        }

        if (settings.MaximumEventAgeInSeconds is { } age && age is < 60 or > 21_600)
        {
            return AwsErrors.Validation("maximumEventAgeInSeconds", age.ToString(System.Globalization.CultureInfo.InvariantCulture),
                age < 60 ? "Member must have value greater than or equal to 60" : "Member must have value less than or equal to 21600");
        }

        return null;
    }
}
