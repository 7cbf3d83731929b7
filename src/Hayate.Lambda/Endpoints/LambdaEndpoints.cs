using System.Globalization;
using System.Text;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Hayate.Lambda.Policies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Hayate.Lambda.Endpoints;

/// <summary>
/// The Lambda control-plane and Invoke operations, rest-json, at the model's paths and status codes.
/// Handlers take their services as parameters and return the answer or the <see cref="AwsError"/>.
/// </summary>
public static partial class LambdaEndpoints
{
    private const int MaxListItems = 10_000;
    private const int DefaultListItems = 50;
    private const long MaxJsonRequest = 1024 * 1024;

    public static IEndpointRouteBuilder MapLambdaApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("").WithMetadata(LambdaErrors.Protocol);
        api.MapPost("/2015-03-31/functions", CreateFunction);
        api.MapGet("/2015-03-31/functions", ListFunctions);
        api.MapGet("/2016-08-19/account-settings", GetAccountSettings);
        api.MapPost("/2017-03-31/tags/{Resource}", TagResource);
        api.MapDelete("/2017-03-31/tags/{Resource}", UntagResource);
        api.MapGet("/2017-03-31/tags/{Resource}", ListTags);

        var function = api.MapGroup("/2015-03-31/functions/{FunctionName}");
        function.MapGet("", GetFunction);
        function.MapDelete("", DeleteFunction);
        function.MapGet("/configuration", GetFunctionConfiguration);
        function.MapPut("/code", UpdateFunctionCode);
        function.MapPut("/configuration", UpdateFunctionConfiguration);
        // The hot path: a plain RequestDelegate over services taken once, no parameter binding per call.
        var invoker = app.ServiceProvider.GetRequiredService<Invoker>();
        var stopping = app.ServiceProvider.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        function.MapPost("/invocations", async context => await (await Invoke(context, invoker, stopping)).ExecuteAsync(context));
        function.MapPost("/policy", AddPermission);
        function.MapGet("/policy", GetPolicy);
        function.MapDelete("/policy/{StatementId}", RemovePermission);
        MapVersionsAndAliases(function);
        MapConcurrency(api);
        MapEventInvoke(api);
        MapLayers(api);
        MapEventSourceMappings(api);
        return app;
    }

    /// <summary>The function named in the path, then the JSON body: what most operations on a function start with.</summary>
    private static async Task<Result<(FunctionRef Reference, T Request)>> ReadFunctionRequestAsync<T>(string functionName, HttpContext context, long limit, string operation, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class, new()
    {
        var reference = ReferenceOf(functionName, context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var request = await ApiRequest.ReadJsonAsync(context, limit, operation, type);
        return request.Ok ? (reference.Value, request.Value) : request.Error;
    }

    private static IResult Configuration(FunctionManager manager, FunctionConfiguration function, int status = 200, string? arnQualifier = null) =>
        AwsJson.Ok(Shapes.Configuration(manager, function, arnQualifier), LambdaJson.Default.FunctionConfigurationShape, status);

    private static async Task<IResult> CreateFunction(HttpContext context, FunctionManager manager)
    {
        var parsed = await ApiRequest.ReadJsonAsync(context, Limits.MaxCodeRequestSize, "CreateFunction", LambdaJson.Default.CreateFunctionRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var request = parsed.Value;
        var error = RequireMembers(("functionName", request.FunctionName), ("role", request.Role), ("code", request.Code));
        var reference = default(FunctionRef);
        if (error is null && !FunctionArn.TryParse(request.FunctionName!, out reference))
        {
            error = InvalidFunctionName(request.FunctionName!);
        }
        else if (error is null && reference.Qualifier is not null)
        {
            error = LambdaErrors.InvalidParameter("Unsupported: function name with qualifier on create.");
        }

        error ??= request.PackageType is not null and not "Zip"
            ? LambdaErrors.InvalidParameter($"PackageType {request.PackageType} is not supported by Hayate: use Zip.")
            : null;
        error ??= CodeSourceError(request.Code!.ZipFile, request.Code.S3Bucket, request.Code.ImageUri, "Code.ZipFile");
        error ??= CheckArchitectures(request.Architectures);
        if (error is not null)
        {
            return error;
        }

        var created = await manager.CreateAsync(reference.Name, SettingsOf(request), request.Code!.ZipFile!, request.Tags, context.RequestAborted);
        if (created.Ok && request.Publish == true)
        {
            created = await manager.PublishVersionAsync(new FunctionRef(reference.Name, null), null, null, null, context.RequestAborted);
        }

        // With Publish the answer is version 1, under the function's unqualified ARN, as Lambda gives it.
        return created.ToHttp(f => Configuration(manager, f, 201, arnQualifier: ""));
    }

    /// <summary>The settings CreateFunction and UpdateFunctionConfiguration share; null members are left as they are (or defaulted on create).</summary>
    private static FunctionSettings SettingsOf(IFunctionSettingsRequest request) => new()
    {
        Runtime = request.Runtime,
        Handler = request.Handler,
        Role = request.Role,
        Description = request.Description,
        MemorySize = request.MemorySize,
        Timeout = request.Timeout,
        EphemeralStorageSize = request.EphemeralStorage is null ? null : request.EphemeralStorage.Size ?? 0,
        // An Environment without Variables clears them.
        Environment = request.Environment is null ? null : request.Environment.Variables ?? new Dictionary<string, string>(),
        Layers = request.Layers,
        KmsKeyArn = request.KMSKeyArn,
        DeadLetterTargetArn = request.DeadLetterConfig is null ? null : request.DeadLetterConfig.TargetArn ?? "",
    };

    private static async Task<IResult> ListFunctions(HttpContext context, FunctionManager manager)
    {
        var paging = Page.Read(context);
        if (!paging.Ok)
        {
            return paging.Error;
        }

        var (maxItems, after) = paging.Value;
        var page = await manager.ListAsync(after, maxItems + 1, context.RequestAborted);
        var response = new ListFunctionsResponse
        {
            Functions = page.Take(maxItems).Select(f => Shapes.Configuration(manager, f)).ToList(),
            NextMarker = page.Count > maxItems ? Page.Marker(page[maxItems - 1].Name) : null,
        };
        return AwsJson.Ok(response, LambdaJson.Default.ListFunctionsResponse);
    }

    private static async Task<IResult> GetFunction(string functionName, HttpContext context, FunctionManager manager, ConcurrencyLimiter limiter)
    {
        var reference = ReferenceOf(functionName, context);
        var function = await ResolveAsync(reference, manager, context);
        if (!function.Ok)
        {
            return function.Error;
        }

        var request = context.Request;
        var tags = await manager.GetTagsAsync(manager.ArnOf(function.Value.Name), context.RequestAborted);
        var response = new GetFunctionResponse
        {
            Tags = tags.Ok && tags.Value.Count > 0 ? new Dictionary<string, string>(tags.Value) : null,
            Concurrency = limiter.ReservedFor(function.Value.Name) is { } reserved ? new ConcurrencyShape { ReservedConcurrentExecutions = reserved } : null,
            Configuration = Shapes.Configuration(manager, function.Value, reference.Value.Qualifier),
            Code = new FunctionCodeLocation { Location = $"{request.Scheme}://{request.Host}/_hayate/code/{function.Value.CodeSha256Hex}.zip" },
        };
        return AwsJson.Ok(response, LambdaJson.Default.GetFunctionResponse);
    }

    private static async Task<IResult> GetFunctionConfiguration(string functionName, HttpContext context, FunctionManager manager)
    {
        var reference = ReferenceOf(functionName, context);
        return (await ResolveAsync(reference, manager, context)).ToHttp(f => Configuration(manager, f, arnQualifier: reference.Value.Qualifier));
    }

    private static async Task<IResult> UpdateFunctionCode(string functionName, HttpContext context, FunctionManager manager)
    {
        var parsed = await ReadFunctionRequestAsync(functionName, context, Limits.MaxCodeRequestSize, "UpdateFunctionCode", LambdaJson.Default.UpdateFunctionCodeRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, request) = parsed.Value;
        if ((CodeSourceError(request.ZipFile, request.S3Bucket, request.ImageUri, "ZipFile") ?? CheckArchitectures(request.Architectures)) is { } error)
        {
            return error;
        }

        var updated = await manager.UpdateCodeAsync(reference, request.ZipFile!, request.RevisionId, request.DryRun == true, context.RequestAborted);
        if (updated.Ok && request.Publish == true && request.DryRun != true)
        {
            updated = await manager.PublishVersionAsync(reference, null, null, null, context.RequestAborted);
        }

        return updated.ToHttp(f => Configuration(manager, f, arnQualifier: f.Version != "$LATEST" ? f.Version : null));
    }

    private static Task<IResult> UpdateFunctionConfiguration(string functionName, HttpContext context, FunctionManager manager) =>
        ReadFunctionRequestAsync(functionName, context, MaxJsonRequest, "UpdateFunctionConfiguration", LambdaJson.Default.UpdateFunctionConfigurationRequest)
            .ThenAsync(r => manager.UpdateConfigurationAsync(r.Reference, SettingsOf(r.Request), r.Request.RevisionId, context.RequestAborted))
            .ToHttp(f => Configuration(manager, f));

    private static async Task<IResult> DeleteFunction(string functionName, HttpContext context, FunctionManager manager)
    {
        var reference = ReferenceOf(functionName, context);
        return ResultAnswers.NoContentUnless(reference.Ok ? await manager.DeleteAsync(reference.Value, context.RequestAborted) : reference.Error);
    }

    private static async Task<IResult> Invoke(HttpContext context, Invoker invoker, CancellationToken stopping)
    {
        var reference = ReferenceOf(context.Request.RouteValues["FunctionName"] as string ?? "", context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var headers = context.Request.Headers;
        var typeHeader = headers["X-Amz-Invocation-Type"].ToString();
        InvocationType? type = typeHeader switch
        {
            "" or "RequestResponse" => InvocationType.RequestResponse,
            "Event" => InvocationType.Event,
            "DryRun" => InvocationType.DryRun,
            _ => null,
        };
        var logType = headers["X-Amz-Log-Type"].ToString();
        if (type is null)
        {
            return AwsErrors.Validation("invocationType", typeHeader, "Member must satisfy enum value set: [Event, RequestResponse, DryRun]");
        }

        if (logType is not ("" or "None" or "Tail"))
        {
            return AwsErrors.Validation("logType", logType, "Member must satisfy enum value set: [None, Tail]");
        }

        var limit = type == InvocationType.Event ? Limits.MaxAsyncPayload : Limits.MaxSyncPayload;
        var body = await ApiRequest.ReadBodyAsync(context, limit, "InvokeFunction");
        if (!body.Ok)
        {
            return body.Error;
        }

        // One id for the API request and the invocation, as on Lambda: the 202 of an Event names the event.
        var call = new InvokeCall(reference.Value, type.Value, body.Value, logType == "Tail" && type == InvocationType.RequestResponse, headers["X-Amz-Client-Context"].ToString())
        {
            RequestId = AwsRequestId.Of(context),
        };
        // As on Lambda, a caller that hangs up does not stop the invocation: it runs to its end
        // (or its timeout) and the sandbox stays warm. Only the server stopping cancels it.
        var result = await invoker.InvokeAsync(call, stopping);
        return result.ToHttp(outcome => new InvokeAnswer(outcome));
    }

    /// <summary>Invoke's answer: the payload as it came, and the headers that say how the function did.</summary>
    private sealed class InvokeAnswer(InvokeOutcome outcome) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = outcome.StatusCode;
            response.Headers["X-Amz-Executed-Version"] = outcome.ExecutedVersion;
            if (outcome.FunctionError is not null)
            {
                response.Headers["X-Amz-Function-Error"] = outcome.FunctionError;
            }

            if (outcome.LogResult is not null)
            {
                response.Headers["X-Amz-Log-Result"] = outcome.LogResult;
            }

            if (outcome.StatusCode == 200)
            {
                response.ContentType = "application/json";
                response.ContentLength = outcome.Payload.Length;
                await response.Body.WriteAsync(outcome.Payload, httpContext.RequestAborted);
            }
        }
    }

    private static async Task<IResult> GetAccountSettings(HttpContext context, FunctionManager manager, ConcurrencyLimiter limiter)
    {
        var (count, total) = await manager.UsageAsync(context.RequestAborted);
        var response = new AccountSettingsResponse
        {
            AccountLimit = new AccountLimitShape
            {
                TotalCodeSize = Limits.TotalCodeSize,
                CodeSizeUnzipped = Limits.MaxUnzippedCodeSize,
                CodeSizeZipped = Limits.MaxZippedCodeSize,
                ConcurrentExecutions = limiter.Limit,
                UnreservedConcurrentExecutions = limiter.Unreserved,
            },
            AccountUsage = new AccountUsageShape { TotalCodeSize = total, FunctionCount = count },
        };
        return AwsJson.Ok(response, LambdaJson.Default.AccountSettingsResponse);
    }

    private static Task<IResult> AddPermission(string functionName, HttpContext context, FunctionPolicies policies) =>
        ReadFunctionRequestAsync(functionName, context, MaxJsonRequest, "AddPermission", LambdaJson.Default.AddPermissionRequest)
            .Check(r => RequireMembers(("statementId", r.Request.StatementId), ("action", r.Request.Action), ("principal", r.Request.Principal)))
            .ThenAsync(r => policies.AddAsync(r.Reference, new PermissionRequest
            {
                StatementId = r.Request.StatementId!,
                Action = r.Request.Action!,
                Principal = r.Request.Principal!,
                SourceArn = r.Request.SourceArn,
                SourceAccount = r.Request.SourceAccount,
                EventSourceToken = r.Request.EventSourceToken,
                PrincipalOrgId = r.Request.PrincipalOrgID,
                FunctionUrlAuthType = r.Request.FunctionUrlAuthType,
            }, r.Request.RevisionId, context.RequestAborted))
            .ToHttp(statement => AwsJson.Ok(new AddPermissionResponse { Statement = statement }, LambdaJson.Default.AddPermissionResponse, 201));

    private static Task<IResult> GetPolicy(string functionName, HttpContext context, FunctionPolicies policies) =>
        ReferenceOf(functionName, context)
            .ThenAsync(reference => policies.GetAsync(reference, context.RequestAborted))
            .ToHttp(policy => AwsJson.Ok(new GetPolicyResponse { Policy = policy.Policy, RevisionId = policy.RevisionId }, LambdaJson.Default.GetPolicyResponse));

    private static async Task<IResult> RemovePermission(string functionName, string statementId, HttpContext context, FunctionPolicies policies)
    {
        var reference = ReferenceOf(functionName, context);
        return ResultAnswers.NoContentUnless(reference.Ok
            ? await policies.RemoveAsync(reference.Value, statementId, RevisionIdOf(context), context.RequestAborted)
            : reference.Error);
    }

    private static async Task<IResult> TagResource(string resource, HttpContext context, FunctionManager manager)
    {
        var parsed = await ApiRequest.ReadJsonAsync(context, MaxJsonRequest, "TagResource", LambdaJson.Default.TagResourceRequest);
        return !parsed.Ok ? parsed.Error
            : parsed.Value.Tags is not { } tags ? RequireMembers(("tags", null))!
            : ResultAnswers.NoContentUnless(await manager.ChangeTagsAsync(resource, tags, null, context.RequestAborted));
    }

    private static async Task<IResult> UntagResource(string resource, HttpContext context, FunctionManager manager) =>
        !context.Request.Query.TryGetValue("tagKeys", out var keys)
            ? RequireMembers(("tagKeys", null))!
            : ResultAnswers.NoContentUnless(await manager.ChangeTagsAsync(resource, null, keys.Where(k => k is not null).Select(k => k!).ToList(), context.RequestAborted));

    private static Task<IResult> ListTags(string resource, HttpContext context, FunctionManager manager) =>
        manager.GetTagsAsync(resource, context.RequestAborted)
            .ToHttp(tags => AwsJson.Ok(new ListTagsResponse { Tags = new Dictionary<string, string>(tags) }, LambdaJson.Default.ListTagsResponse));

    private static string? RevisionIdOf(HttpContext context) => context.Request.Query.TryGetValue("RevisionId", out var r) ? r.ToString() : null;

    /// <summary>The function named in the path, with the Qualifier query parameter folded in.</summary>
    private static Result<FunctionRef> ReferenceOf(string functionName, HttpContext context)
    {
        if (!FunctionArn.TryParse(functionName, out var reference))
        {
            return InvalidFunctionName(functionName);
        }

        if (context.Request.Query.TryGetValue("Qualifier", out var q) && q.ToString() is { Length: > 0 } qualifier)
        {
            if (reference.Qualifier is not null && reference.Qualifier != qualifier)
            {
                return LambdaErrors.InvalidParameter("The derived qualifier from the function name does not match the specified qualifier.");
            }

            reference = reference with { Qualifier = qualifier };
        }

        return reference;
    }

    /// <summary>The function named in the path; its environment shows as an Error when its KMS key no longer allows decryption.</summary>
    private static async Task<Result<FunctionConfiguration>> ResolveAsync(Result<FunctionRef> reference, FunctionManager manager, HttpContext context)
    {
        var function = reference.Ok ? await manager.GetAsync(reference.Value, context.RequestAborted) : reference.Error;
        if (function.Ok && function.Value.EnvironmentError is null && await manager.CheckEnvironmentAsync(function.Value, context.RequestAborted) is { } kms)
        {
            return function.Value with { Environment = new Dictionary<string, string>(), EnvironmentError = kms };
        }

        return function;
    }

    private static AwsError InvalidFunctionName(string value) =>
        AwsErrors.Validation("functionName", value, @"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?");

    private static AwsError? RequireMembers(params (string Name, object? Value)[] members)
    {
        var missing = members.Where(m => m.Value is null).Select(m => m.Name).ToList();
        if (missing.Count == 0)
        {
            return null;
        }

        var detail = string.Join("; ", missing.Select(m => $"Value null at '{m}' failed to satisfy constraint: Member must not be null"));
        return new AwsError("ValidationException", 400, $"{missing.Count} validation error{(missing.Count > 1 ? "s" : "")} detected: {detail}");
    }

    private static AwsError? DescriptionError(string? description) => description is { Length: > Limits.MaxDescriptionLength }
        ? AwsErrors.Validation("description", description, $"Member must have length less than or equal to {Limits.MaxDescriptionLength}")
        : null;

    /// <summary>Code comes inline as a zip; S3 locations and images are refused with a reason.</summary>
    private static AwsError? CodeSourceError(byte[]? zip, string? s3Bucket, string? imageUri, string member) => zip is not null
        ? null
        : LambdaErrors.InvalidParameter(s3Bucket is not null || imageUri is not null
            ? $"Hayate takes code as {member} only (S3 and container images are not supported yet)."
            : "Please provide a source for function code.");

    private static AwsError? CheckArchitectures(List<string>? architectures) =>
        architectures is null || (architectures.Count == 1 && architectures[0] is "x86_64" or "arm64")
            ? null
            : AwsErrors.Validation("architectures", string.Join(",", architectures), "Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]");

    /// <summary>MaxItems and Marker of a list call; markers are opaque (the last key of the page, base64).</summary>
    private static class Page
    {
        public static Result<(int MaxItems, string? After)> Read(HttpContext context, int limit = MaxListItems)
        {
            var query = context.Request.Query;
            var maxItems = Math.Min(DefaultListItems, limit);
            if (query.TryGetValue("MaxItems", out var max) && (!int.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out maxItems) || maxItems < 1 || maxItems > limit))
            {
                return AwsErrors.Validation("maxItems", max.ToString(), $"Member must have value less than or equal to {limit} and greater than or equal to 1");
            }

            string? after = null;
            if (query.TryGetValue("Marker", out var marker) && marker.ToString().Length > 0)
            {
                try
                {
                    after = Encoding.UTF8.GetString(Convert.FromBase64String(marker.ToString()));
                }
                catch (FormatException)
                {
                    return LambdaErrors.InvalidParameter("Invalid Marker.");
                }
            }

            return (maxItems, after);
        }

        public static string Marker(string lastKey) => Convert.ToBase64String(Encoding.UTF8.GetBytes(lastKey));

        /// <summary>
        /// One page of a list held whole and sorted by <paramref name="key"/>: the items after the
        /// marker's key, at most MaxItems of them, and the marker of the next page (null on the last).
        /// </summary>
        public static (List<T> Items, string? NextMarker) Slice<T>(IEnumerable<T> all, Func<T, string> key, (int MaxItems, string? After) page)
        {
            var (maxItems, after) = page;
            var rest = all.Where(item => after is null || string.CompareOrdinal(key(item), after) > 0).ToList();
            return (rest.Take(maxItems).ToList(), rest.Count > maxItems ? Marker(key(rest[maxItems - 1])) : null);
        }
    }
}
