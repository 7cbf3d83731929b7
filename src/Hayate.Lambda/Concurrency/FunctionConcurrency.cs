using System.Collections.Concurrent;
using Hayate.Kernel.Errors;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Hayate.Sandboxes.Pooling;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hayate.Lambda.Concurrency;

/// <summary>A provisioned concurrency configuration with its progress.</summary>
public sealed record ProvisionedStatus(ProvisionedConcurrencyConfig Config, int Available, string Status, string? Reason);

/// <summary>
/// Reserved concurrency (PutFunctionConcurrency and friends) and provisioned concurrency: stores
/// the settings, applies reservations to the limiter, and keeps provisioned sandboxes initialised,
/// reconciling every second and at once after a change.
/// </summary>
public sealed partial class FunctionConcurrency(
    IFunctionStore store, FunctionManager functions, Invoker invoker, ConcurrencyLimiter limiter, ISandboxHost sandboxes, TimeProvider time, ILogger<FunctionConcurrency> logger)
    : BackgroundService
{
    private static readonly TimeSpan ReconcilePeriod = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim _changed = new(0);
    private static readonly TimeSpan FailedBackoff = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<(string Function, string Qualifier), ProvisionedStatus> _status = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _failedUntil = new(StringComparer.Ordinal);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, reserved) in await store.ListReservedConcurrencyAsync(cancellationToken))
        {
            limiter.Restore(name, reserved);
        }

        functions.QualifierDeleted += (_, _) => _changed.Release();
        functions.FunctionDeleted += name =>
        {
            limiter.Restore(name, reserved: null);
            _changed.Release();
        };
        await base.StartAsync(cancellationToken);
    }

    public async Task<Result<int>> PutReservedAsync(FunctionRef reference, int reserved, CancellationToken cancellationToken)
    {
        var function = await UnqualifiedAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        var name = function.Value.Name;
        var provisioned = (await store.ListProvisionedConcurrencyAsync(name, cancellationToken)).Sum(c => c.Requested);
        if (reserved < provisioned)
        {
            return LambdaErrors.InvalidParameter($" ReservedConcurrentExecutions  {reserved} should not be lower than function's total provisioned concurrency [{provisioned}].");
        }

        if (limiter.TryReserve(name, reserved) is { } refused)
        {
            return refused;
        }

        if (!await store.SetReservedConcurrencyAsync(name, reserved, cancellationToken))
        {
            limiter.Restore(name, null);
            return LambdaErrors.FunctionNotFound(functions.ArnOf(name));
        }

        await UpdateProvisionedTotalAsync(cancellationToken);
        return reserved;
    }

    public async Task<Result<int?>> GetReservedAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        var function = await UnqualifiedAsync(reference, cancellationToken);
        return function.Ok ? limiter.ReservedFor(function.Value.Name) : function.Error;
    }

    public async Task<AwsError?> DeleteReservedAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        var function = await UnqualifiedAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        await store.SetReservedConcurrencyAsync(function.Value.Name, null, cancellationToken);
        limiter.TryReserve(function.Value.Name, null);
        await UpdateProvisionedTotalAsync(cancellationToken);
        return null;
    }

    public async Task<Result<ProvisionedStatus>> PutProvisionedAsync(FunctionRef reference, int requested, CancellationToken cancellationToken)
    {
        if (reference.Qualifier is null or "$LATEST")
        {
            return LambdaErrors.InvalidParameter("Provisioned Concurrency Configs cannot be applied to unpublished function versions.");
        }

        var target = await functions.GetAsync(reference, cancellationToken);
        if (!target.Ok)
        {
            return target.Error;
        }

        var name = reference.Name;
        if (limiter.ReservedFor(name) is { } reserved)
        {
            var others = (await store.ListProvisionedConcurrencyAsync(name, cancellationToken)).Where(c => c.Qualifier != reference.Qualifier).Sum(c => c.Requested);
            if (others + requested > reserved)
            {
                return LambdaErrors.InvalidParameter("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function");
            }
        }

        var config = new ProvisionedConcurrencyConfig(name, reference.Qualifier, requested, time.GetUtcNow());
        var all = await store.ListProvisionedConcurrencyAsync(null, cancellationToken);
        var before = UnreservedProvisioned(all);
        var after = UnreservedProvisioned(all.Where(c => c.FunctionName != name || c.Qualifier != reference.Qualifier).Append(config));
        if (limiter.TrySetProvisioned(after, before) is { } refused)
        {
            return refused;
        }

        if (!await store.PutProvisionedConcurrencyAsync(config, cancellationToken))
        {
            await UpdateProvisionedTotalAsync(cancellationToken);
            return LambdaErrors.FunctionNotFound(functions.ArnOf(name));
        }

        var status = new ProvisionedStatus(config, 0, "IN_PROGRESS", null);
        _status[(name, reference.Qualifier)] = status;
        _changed.Release();
        return status;
    }

    public async Task<Result<ProvisionedStatus>> GetProvisionedAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        var target = await ProvisionableAsync(reference, cancellationToken);
        if (!target.Ok)
        {
            return target.Error;
        }

        var config = (await store.ListProvisionedConcurrencyAsync(reference.Name, cancellationToken)).FirstOrDefault(c => c.Qualifier == reference.Qualifier);
        if (config is null)
        {
            return new AwsError("ProvisionedConcurrencyConfigNotFoundException", 404, "No Provisioned Concurrency Config found for this function");
        }

        return StatusOf(config);
    }

    public async Task<AwsError?> DeleteProvisionedAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        // The version or alias may be gone already; the function must exist.
        var target = reference.Qualifier is null or "$LATEST"
            ? await ProvisionableAsync(reference, cancellationToken)
            : await functions.GetAsync(reference with { Qualifier = null }, cancellationToken);
        if (!target.Ok)
        {
            return target.Error;
        }

        await store.DeleteProvisionedConcurrencyAsync(reference.Name, reference.Qualifier!, cancellationToken);
        _status.TryRemove((reference.Name, reference.Qualifier!), out _);
        await UpdateProvisionedTotalAsync(cancellationToken);
        _changed.Release();
        return null;
    }

    public async Task<Result<IReadOnlyList<ProvisionedStatus>>> ListProvisionedAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        var function = await UnqualifiedAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        var configs = await store.ListProvisionedConcurrencyAsync(reference.Name, cancellationToken);
        return configs.Select(StatusOf).ToList();
    }

    /// <summary>The sum of provisioned concurrency over all configurations, for GetAccountSettings.</summary>
    public async Task<int> ProvisionedTotalAsync(CancellationToken cancellationToken) =>
        (await store.ListProvisionedConcurrencyAsync(null, cancellationToken)).Sum(c => c.Requested);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await UpdateProvisionedTotalAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await ReconcileAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogReconcileFailed(logger, ex);
                }

                await _changed.WaitAsync(ReconcilePeriod, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Resolves each configuration to its version and has the pool keep that many sandboxes initialised.</summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var configs = await store.ListProvisionedConcurrencyAsync(null, cancellationToken);
        limiter.TrySetProvisioned(UnreservedProvisioned(configs), int.MaxValue);
        var targets = new Dictionary<string, (ProvisionTarget Target, List<ProvisionedConcurrencyConfig> Configs)>(StringComparer.Ordinal);
        foreach (var config in configs)
        {
            var version = await functions.GetAsync(new FunctionRef(config.FunctionName, config.Qualifier), cancellationToken);
            var unusable = !version.Ok ? version.Error : await functions.CheckEnvironmentAsync(version.Value, cancellationToken);
            if (unusable is not null)
            {
                // Not started without its environment: sandboxes would run with none (and keep it).
                _status[(config.FunctionName, config.Qualifier)] = new ProvisionedStatus(config, 0, "FAILED", unusable.Message);
                continue;
            }

            var spec = invoker.SpecFor(version.Value!);
            if (_failedUntil.TryGetValue(spec.Identity, out var until) && time.GetUtcNow() < until)
            {
                // Its init failed a moment ago: no new sandboxes every second, just the FAILED status.
                continue;
            }

            targets[spec.Identity] = targets.TryGetValue(spec.Identity, out var existing)
                ? (existing.Target with { Count = existing.Target.Count + config.Requested }, [.. existing.Configs, config])
                : (new ProvisionTarget(spec, config.Requested), [config]);
        }

        var states = await sandboxes.ProvisionAsync(targets.Values.Select(t => t.Target).ToList(), cancellationToken);
        foreach (var (identity, (target, owners)) in targets)
        {
            var state = states.GetValueOrDefault(identity) ?? new ProvisionState(0, null);
            var left = state.Available;
            foreach (var config in owners)
            {
                var available = Math.Min(left, config.Requested);
                left -= available;
                var status = available == config.Requested ? "READY" : state.Failure is null ? "IN_PROGRESS" : "FAILED";
                if (status == "FAILED")
                {
                    _failedUntil[identity] = time.GetUtcNow() + FailedBackoff;
                }

                _status[(config.FunctionName, config.Qualifier)] = new ProvisionedStatus(config, available, status, status == "FAILED" ? state.Failure : null);
            }
        }
    }

    private ProvisionedStatus StatusOf(ProvisionedConcurrencyConfig config) =>
        _status.TryGetValue((config.FunctionName, config.Qualifier), out var status) && status.Config.Requested == config.Requested
            ? status
            : new ProvisionedStatus(config, 0, "IN_PROGRESS", null);

    private async Task UpdateProvisionedTotalAsync(CancellationToken cancellationToken)
    {
        var total = UnreservedProvisioned(await store.ListProvisionedConcurrencyAsync(null, cancellationToken));
        limiter.TrySetProvisioned(total, int.MaxValue);
    }

    /// <summary>Provisioned concurrency of functions without a reservation: it comes out of the unreserved pool.</summary>
    private int UnreservedProvisioned(IEnumerable<ProvisionedConcurrencyConfig> configs) =>
        configs.Where(c => limiter.ReservedFor(c.FunctionName) is null).Sum(c => c.Requested);

    private async Task<Result<FunctionConfiguration>> UnqualifiedAsync(FunctionRef reference, CancellationToken cancellationToken) =>
        reference.Qualifier is null
            ? await functions.GetAsync(reference, cancellationToken)
            : LambdaErrors.InvalidParameter("This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.");

    private async Task<Result<FunctionConfiguration>> ProvisionableAsync(FunctionRef reference, CancellationToken cancellationToken) =>
        reference.Qualifier is null or "$LATEST"
            ? LambdaErrors.InvalidParameter("The function resource provided must be an alias or a published version.")
            : await functions.GetAsync(reference, cancellationToken);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Error, Message = "provisioned concurrency could not be reconciled")]
    private static partial void LogReconcileFailed(ILogger logger, Exception exception);
}
