using System.Diagnostics.CodeAnalysis;

namespace Hayate.Kernel.Errors;

/// <summary>A value or the AWS error that stopped it: expected outcomes are results, not exceptions.</summary>
public readonly struct Result<T>
{
    internal Result(T? value, AwsError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public AwsError? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Ok => Error is null;

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(AwsError error) => new(default, error);

    /// <summary>The next step with this value, or this error.</summary>
    public Result<TNext> Then<TNext>(Func<T, Result<TNext>> next) => Ok ? next(Value) : Error;

    /// <summary>The next step with this value, or this error.</summary>
    public async Task<Result<TNext>> ThenAsync<TNext>(Func<T, Task<Result<TNext>>> next) => Ok ? await next(Value) : Error;

    /// <summary>This result, unless <paramref name="check"/> finds an error in its value.</summary>
    public Result<T> Check(Func<T, AwsError?> check) => Ok && check(Value) is { } error ? error : this;
}

/// <summary>Builds results where an implicit conversion cannot (values of interface type), and continues results still to come.</summary>
public static class Result
{
    public static Result<T> Of<T>(T value) => new(value, null);

    public static async Task<Result<TNext>> ThenAsync<T, TNext>(this Task<Result<T>> result, Func<T, Task<Result<TNext>>> next) => await (await result).ThenAsync(next);

    public static async Task<Result<T>> Check<T>(this Task<Result<T>> result, Func<T, AwsError?> check) => (await result).Check(check);
}
