using System.Diagnostics.CodeAnalysis;

namespace Hayate.Kernel.Errors;

/// <summary>A value or the Lambda error that stopped it: expected outcomes are results, not exceptions.</summary>
public readonly struct Result<T>
{
    internal Result(T? value, LambdaError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public LambdaError? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Ok => Error is null;

    public static implicit operator Result<T>(T value) => new(value, null);


    public static implicit operator Result<T>(LambdaError error) => new(default, error);
}

/// <summary>Builds results where an implicit conversion cannot (values of interface type).</summary>
public static class Result
{
    public static Result<T> Of<T>(T value) => new(value, null);
}
