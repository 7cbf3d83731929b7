using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hayate.Kernel.Errors;

namespace Hayate.Lambda.Policies;

/// <summary>What AddPermission asks for.</summary>
public sealed record PermissionRequest
{
    public required string StatementId { get; init; }
    public required string Action { get; init; }
    public required string Principal { get; init; }
    public string? SourceArn { get; init; }
    public string? SourceAccount { get; init; }
    public string? PrincipalOrgId { get; init; }
    public string? EventSourceToken { get; init; }
    public string? FunctionUrlAuthType { get; init; }
}

/// <summary>Builds resource-policy statements in the shape Lambda returns from GetPolicy.</summary>
public static partial class PermissionStatement
{
    [GeneratedRegex(@"^[a-zA-Z0-9\-_]{1,100}\z", RegexOptions.CultureInvariant)]
    private static partial Regex StatementIdPattern();

    [GeneratedRegex(@"^(lambda:[*]|lambda:[a-zA-Z]+|[*])\z", RegexOptions.CultureInvariant)]
    private static partial Regex ActionPattern();

    [GeneratedRegex(@"^[^\s]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex PrincipalPattern();

    [GeneratedRegex(@"^\d{12}\z", RegexOptions.CultureInvariant)]
    private static partial Regex AccountId();

    public static AwsError? Validate(PermissionRequest request)
    {
        if (!StatementIdPattern().IsMatch(request.StatementId))
        {
            return AwsErrors.Validation("statementId", request.StatementId, @"Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)");
        }

        if (!ActionPattern().IsMatch(request.Action))
        {
            return AwsErrors.Validation("action", request.Action, @"Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])");
        }

        if (!PrincipalPattern().IsMatch(request.Principal))
        {
            return AwsErrors.Validation("principal", request.Principal, @"Member must satisfy regular expression pattern: [^\s]+");
        }

        if (request.FunctionUrlAuthType is not (null or "NONE" or "AWS_IAM"))
        {
            return AwsErrors.Validation("functionUrlAuthType", request.FunctionUrlAuthType, "Member must satisfy enum value set: [NONE, AWS_IAM]");
        }

        return null;
    }

    /// <summary>The statement as a policy document holds it: Sid, Effect, Principal, Action, Resource, Condition.</summary>
    public static JsonObject Build(PermissionRequest request, string resourceArn)
    {
        JsonNode principal = request.Principal switch
        {
            "*" => JsonValue.Create("*"),
            var p when AccountId().IsMatch(p) => new JsonObject { ["AWS"] = $"arn:aws:iam::{p}:root" },
            var p when p.StartsWith("arn:", StringComparison.Ordinal) => new JsonObject { ["AWS"] = p },
            var p => new JsonObject { ["Service"] = p },
        };
        var statement = new JsonObject
        {
            ["Sid"] = request.StatementId,
            ["Effect"] = "Allow",
            ["Principal"] = principal,
            ["Action"] = request.Action,
            ["Resource"] = resourceArn,
        };
        var condition = new JsonObject();
        if (request.SourceArn is not null)
        {
            condition["ArnLike"] = new JsonObject { ["AWS:SourceArn"] = request.SourceArn };
        }

        var equals = new JsonObject();
        if (request.SourceAccount is not null)
        {
            equals["AWS:SourceAccount"] = request.SourceAccount;
        }

        if (request.PrincipalOrgId is not null)
        {
            equals["aws:PrincipalOrgID"] = request.PrincipalOrgId;
        }

        if (request.EventSourceToken is not null)
        {
            equals["lambda:EventSourceToken"] = request.EventSourceToken;
        }

        if (request.FunctionUrlAuthType is not null)
        {
            equals["lambda:FunctionUrlAuthType"] = request.FunctionUrlAuthType;
        }

        if (equals.Count > 0)
        {
            condition["StringEquals"] = equals;
        }

        if (condition.Count > 0)
        {
            statement["Condition"] = condition;
        }

        return statement;
    }

    /// <summary>The document GetPolicy returns (as a string) around the stored statements.</summary>
    public static string Document(JsonArray statements) =>
        new JsonObject { ["Version"] = "2012-10-17", ["Id"] = "default", ["Statement"] = statements.DeepClone() }.ToJsonString();
}
