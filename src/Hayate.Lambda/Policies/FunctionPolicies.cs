using System.Text.Json.Nodes;
using Hayate.Kernel.Errors;
using Hayate.Lambda.Functions;

namespace Hayate.Lambda.Policies;

/// <summary>
/// Resource-based policies of functions (AddPermission, GetPolicy, RemovePermission). Stored now;
/// enforced once requests are authenticated. Changes are compare-and-swap, so concurrent calls
/// never lose a statement.
/// </summary>
public sealed class FunctionPolicies(IFunctionStore store, FunctionManager functions)
{
    public async Task<Result<string>> AddAsync(FunctionRef reference, PermissionRequest request, string? revisionId, CancellationToken cancellationToken)
    {
        if (PermissionStatement.Validate(request) is { } invalid)
        {
            return invalid;
        }

        var function = await functions.GetAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        if (revisionId is not null && revisionId != function.Value.RevisionId)
        {
            return LambdaErrors.PreconditionFailed();
        }

        var statement = PermissionStatement.Build(request, functions.ArnOf(function.Value.Name));
        while (true)
        {
            var stored = await store.GetPolicyAsync(function.Value.Name, cancellationToken);
            if (stored is null)
            {
                return LambdaErrors.FunctionNotFound(functions.ArnOf(reference.Name));
            }

            var statements = JsonNode.Parse(stored)!.AsArray();
            if (statements.Any(s => s?["Sid"]?.GetValue<string>() == request.StatementId))
            {
                return LambdaErrors.Conflict("The statement id (" + request.StatementId + ") provided already exists. Please provide a new statement id, or remove the existing statement.");
            }

            statements.Add(statement.DeepClone());
            if (await store.TryReplacePolicyAsync(function.Value.Name, stored, statements.ToJsonString(), cancellationToken))
            {
                return statement.ToJsonString();
            }
        }
    }

    public async Task<Result<(string Policy, string RevisionId)>> GetAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        var function = await functions.GetAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        var stored = await store.GetPolicyAsync(function.Value.Name, cancellationToken);
        var statements = stored is null ? [] : JsonNode.Parse(stored)!.AsArray();
        if (statements.Count == 0)
        {
            return LambdaErrors.NotFound("The resource you requested does not exist.");
        }

        return (PermissionStatement.Document(statements), function.Value.RevisionId);
    }

    public async Task<AwsError?> RemoveAsync(FunctionRef reference, string statementId, string? revisionId, CancellationToken cancellationToken)
    {
        var function = await functions.GetAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        if (revisionId is not null && revisionId != function.Value.RevisionId)
        {
            return LambdaErrors.PreconditionFailed();
        }

        while (true)
        {
            var stored = await store.GetPolicyAsync(function.Value.Name, cancellationToken);
            if (stored is null)
            {
                return LambdaErrors.FunctionNotFound(functions.ArnOf(reference.Name));
            }

            var statements = JsonNode.Parse(stored)!.AsArray();
            var match = statements.FirstOrDefault(s => s?["Sid"]?.GetValue<string>() == statementId);
            if (match is null)
            {
                return LambdaErrors.NotFound($"Statement {statementId} is not found in resource policy.");
            }

            statements.Remove(match);
            if (await store.TryReplacePolicyAsync(function.Value.Name, stored, statements.ToJsonString(), cancellationToken))
            {
                return null;
            }
        }
    }
}
