using System.Globalization;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Hayate.Lambda.Policies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Lambda.Endpoints;

/// <summary>The Lambda control-plane and Invoke operations, rest-json, at the model's paths and status codes.</summary>
public static partial class LambdaEndpoints
{
    private const int MaxListItems = 10_000;
    private const int DefaultListItems = 50;

    public static IEndpointRouteBuilder MapLambdaApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/2015-03-31/functions", Handle(CreateFunction));
        app.MapGet("/2015-03-31/functions", Handle(ListFunctions));
        app.MapGet("/2015-03-31/functions/{FunctionName}", Handle(GetFunction));
        app.MapGet("/2015-03-31/functions/{FunctionName}/configuration", Handle(GetFunctionConfiguration));
        app.MapPut("/2015-03-31/functions/{FunctionName}/code", Handle(UpdateFunctionCode));
        app.MapPut("/2015-03-31/functions/{FunctionName}/configuration", Handle(UpdateFunctionConfiguration));
        app.MapDelete("/2015-03-31/functions/{FunctionName}", Handle(DeleteFunction));
        app.MapPost("/2015-03-31/functions/{FunctionName}/invocations", Handle(Invoke));
        app.MapGet("/2016-08-19/account-settings", Handle(GetAccountSettings));
        app.MapPost("/2015-03-31/functions/{FunctionName}/policy", Handle(AddPermission));
        app.MapGet("/2015-03-31/functions/{FunctionName}/policy", Handle(GetPolicy));
        app.MapDelete("/2015-03-31/functions/{FunctionName}/policy/{StatementId}", Handle(RemovePermission));
        app.MapPost("/2017-03-31/tags/{Resource}", Handle(TagResource));
        app.MapDelete("/2017-03-31/tags/{Resource}", Handle(UntagResource));
        app.MapGet("/2017-03-31/tags/{Resource}", Handle(ListTags));
        app.MapVersionsAndAliases();
        app.MapConcurrency();
        app.MapLayers();
        app.MapEventInvoke();
        app.MapEventSourceMappings();
        return app;
    }

    /// <summary>Each operation writes its response, or returns the error to write in the AWS shape.</summary>
    private static RequestDelegate Handle(Func<HttpContext, Task<LambdaError?>> operation) => async context =>
    {
        if (await operation(context) is { } error)
        {
            await WireErrors.WriteAsync(context, error);
        }
    };

    private static async Task<Result<T>> ReadJsonAsync<T>(HttpContext context, long limit, string operation, JsonTypeInfo<T> type)
        where T : class, new()
    {
        var body = await ApiRequest.ReadBodyAsync(context, limit, operation);
        return body.Ok ? ApiRequest.Parse(body.Value, type) : body.Error;
    }

    /// <summary>The function named in the path, then the JSON body: what most operations on a function start with.</summary>
    private static async Task<Result<(FunctionRef Reference, T Request)>> ReadFunctionRequestAsync<T>(HttpContext context, long limit, string operation, JsonTypeInfo<T> type)
        where T : class, new()
    {
        var reference = ReferenceOf(context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var request = await ReadJsonAsync(context, limit, operation, type);
        return request.Ok ? (reference.Value, request.Value) : request.Error;
    }

    /// <summary>204 No Content when the operation succeeded; otherwise its error, written by <see cref="Handle"/>.</summary>
    private static LambdaError? NoContent(HttpContext context, LambdaError? error)
    {
        if (error is null)
        {
            context.Response.StatusCode = 204;
        }

        return error;
    }

    private static async Task<LambdaError?> RespondAsync(HttpContext context, FunctionManager manager, Result<FunctionConfiguration> function, int status = 200, string? arnQualifier = null)
    {
        if (!function.Ok)
        {
            return function.Error;
        }

        await ApiResponse.WriteJsonAsync(context, status, Shapes.Configuration(manager, function.Value, arnQualifier), LambdaJson.Default.FunctionConfigurationShape);
        return null;
    }

    private static async Task<LambdaError?> CreateFunction(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var parsed = await ReadJsonAsync(context, Limits.MaxCodeRequestSize, "CreateFunction", LambdaJson.Default.CreateFunctionRequest);
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

        var settings = new FunctionSettings
        {
            Runtime = request.Runtime,
            Handler = request.Handler,
            Role = request.Role,
            Description = request.Description,
            MemorySize = request.MemorySize,
            Timeout = request.Timeout,
            EphemeralStorageSize = request.EphemeralStorage is null ? null : request.EphemeralStorage.Size ?? 0,
            Environment = request.Environment?.Variables,
            Layers = request.Layers,
            KmsKeyArn = request.KMSKeyArn,
            DeadLetterTargetArn = request.DeadLetterConfig is null ? null : request.DeadLetterConfig.TargetArn ?? "",
        };
        var created = await manager.CreateAsync(reference.Name, settings, request.Code!.ZipFile!, request.Tags, context.RequestAborted);
        if (created.Ok && request.Publish == true)
        {
            created = await manager.PublishVersionAsync(new FunctionRef(reference.Name, null), null, null, null, context.RequestAborted);
        }

        // With Publish the answer is version 1, under the function's unqualified ARN, as Lambda gives it.
        return await RespondAsync(context, manager, created, 201, arnQualifier: "");
    }

    private static async Task<LambdaError?> ListFunctions(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var paging = Page.Read(context);
        if (!paging.Ok)
        {
            return paging.Error;
        }

        var (maxItems, after) = paging.Value;
        var page = await manager.ListAsync(after, maxItems + 1, context.RequestAborted);
        var functions = page.Take(maxItems).Select(f => Shapes.Configuration(manager, f)).ToList();
        var response = new ListFunctionsResponse
        {
            Functions = functions,
            NextMarker = page.Count > maxItems ? Page.Marker(page[maxItems - 1].Name) : null,
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.ListFunctionsResponse);
        return null;
    }

    private static async Task<LambdaError?> GetFunction(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var function = await ResolveAsync(context, manager);
        if (!function.Ok)
        {
            return function.Error;
        }

        var request = context.Request;
        var tags = await manager.GetTagsAsync(manager.ArnOf(function.Value.Name), context.RequestAborted);
        var response = new GetFunctionResponse
        {
            Tags = tags.Ok && tags.Value.Count > 0 ? new Dictionary<string, string>(tags.Value) : null,
            Concurrency = context.RequestServices.GetRequiredService<ConcurrencyLimiter>().ReservedFor(function.Value.Name) is { } reserved
                ? new ConcurrencyShape { ReservedConcurrentExecutions = reserved }
                : null,
            Configuration = Shapes.Configuration(manager, function.Value, ReferenceOf(context).Value.Qualifier),
            Code = new FunctionCodeLocation { Location = $"{request.Scheme}://{request.Host}/_hayate/code/{function.Value.CodeSha256Hex}.zip" },
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.GetFunctionResponse);
        return null;
    }

    private static async Task<LambdaError?> GetFunctionConfiguration(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var function = await ResolveAsync(context, manager);
        return await RespondAsync(context, manager, function, arnQualifier: function.Ok ? ReferenceOf(context).Value.Qualifier : null);
    }

    private static async Task<LambdaError?> UpdateFunctionCode(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var parsed = await ReadFunctionRequestAsync(context, Limits.MaxCodeRequestSize, "UpdateFunctionCode", LambdaJson.Default.UpdateFunctionCodeRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, request) = parsed.Value;

        var error = CodeSourceError(request.ZipFile, request.S3Bucket, request.ImageUri, "ZipFile") ?? CheckArchitectures(request.Architectures);
        if (error is not null)
        {
            return error;
        }

        var updated = await manager.UpdateCodeAsync(reference, request.ZipFile!, request.RevisionId, request.DryRun == true, context.RequestAborted);
        if (updated.Ok && request.Publish == true && request.DryRun != true)
        {
            updated = await manager.PublishVersionAsync(reference, null, null, null, context.RequestAborted);
        }

        return await RespondAsync(context, manager, updated, arnQualifier: updated.Ok && updated.Value.Version != "$LATEST" ? updated.Value.Version : null);
    }

    private static async Task<LambdaError?> UpdateFunctionConfiguration(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var parsed = await ReadFunctionRequestAsync(context, 1024 * 1024, "UpdateFunctionConfiguration", LambdaJson.Default.UpdateFunctionConfigurationRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, request) = parsed.Value;

        var settings = new FunctionSettings
        {
            Runtime = request.Runtime,
            Handler = request.Handler,
            Role = request.Role,
            Description = request.Description,
            MemorySize = request.MemorySize,
            Timeout = request.Timeout,
            EphemeralStorageSize = request.EphemeralStorage is null ? null : request.EphemeralStorage.Size ?? 0,
            Environment = request.Environment is null ? null : request.Environment.Variables ?? new Dictionary<string, string>(),
            Layers = request.Layers,
            KmsKeyArn = request.KMSKeyArn,
            DeadLetterTargetArn = request.DeadLetterConfig is null ? null : request.DeadLetterConfig.TargetArn ?? "",
        };
        return await RespondAsync(context, manager, await manager.UpdateConfigurationAsync(reference, settings, request.RevisionId, context.RequestAborted));
    }

    private static async Task<LambdaError?> DeleteFunction(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var reference = ReferenceOf(context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var error = await manager.DeleteAsync(reference.Value, context.RequestAborted);
        return NoContent(context, error);
    }

    private static async Task<LambdaError?> Invoke(HttpContext context)
    {
        var invoker = context.RequestServices.GetRequiredService<Invoker>();
        var reference = ReferenceOf(context);
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
        var error = type is null
            ? LambdaErrors.Validation("invocationType", typeHeader, "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
            : logType is not ("" or "None" or "Tail")
                ? LambdaErrors.Validation("logType", logType, "Member must satisfy enum value set: [None, Tail]")
                : null;
        if (error is not null)
        {
            return error;
        }

        var limit = type == InvocationType.Event ? Limits.MaxAsyncPayload : Limits.MaxSyncPayload;
        var body = await ApiRequest.ReadBodyAsync(context, limit, "InvokeFunction");
        if (!body.Ok)
        {
            return body.Error;
        }

        var call = new InvokeCall(reference.Value, type!.Value, body.Value, logType == "Tail" && type == InvocationType.RequestResponse, headers["X-Amz-Client-Context"].ToString())
        {
            // One id for the API request and the invocation, as on Lambda: the 202 of an Event names the event.
            RequestId = context.Response.Headers["x-amzn-RequestId"].ToString() is { Length: > 0 } id ? id : Invoker.NewRequestId(),
        };
        // As on Lambda, a caller that hangs up does not stop the invocation: it runs to its end
        // (or its timeout) and the sandbox stays warm. Only the server stopping cancels it.
        var stopping = context.RequestServices.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping;
        var result = await invoker.InvokeAsync(call, stopping);
        if (!result.Ok)
        {
            return result.Error;
        }

        var outcome = result.Value;
        var response = context.Response;
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
            await response.Body.WriteAsync(outcome.Payload, context.RequestAborted);
        }

        return null;
    }

    private static async Task<LambdaError?> GetAccountSettings(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var limiter = context.RequestServices.GetRequiredService<ConcurrencyLimiter>();
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
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.AccountSettingsResponse);
        return null;
    }

    private static async Task<LambdaError?> AddPermission(HttpContext context)
    {
        var policies = context.RequestServices.GetRequiredService<FunctionPolicies>();
        var parsed = await ReadFunctionRequestAsync(context, 1024 * 1024, "AddPermission", LambdaJson.Default.AddPermissionRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, r) = parsed.Value;

        if (RequireMembers(("statementId", r.StatementId), ("action", r.Action), ("principal", r.Principal)) is { } missing)
        {
            return missing;
        }

        var request = new PermissionRequest
        {
            StatementId = r.StatementId!,
            Action = r.Action!,
            Principal = r.Principal!,
            SourceArn = r.SourceArn,
            SourceAccount = r.SourceAccount,
            EventSourceToken = r.EventSourceToken,
            PrincipalOrgId = r.PrincipalOrgID,
            FunctionUrlAuthType = r.FunctionUrlAuthType,
        };
        var added = await policies.AddAsync(reference, request, r.RevisionId, context.RequestAborted);
        if (!added.Ok)
        {
            return added.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 201, new AddPermissionResponse { Statement = added.Value }, LambdaJson.Default.AddPermissionResponse);
        return null;
    }

    private static async Task<LambdaError?> GetPolicy(HttpContext context)
    {
        var policies = context.RequestServices.GetRequiredService<FunctionPolicies>();
        var reference = ReferenceOf(context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var policy = await policies.GetAsync(reference.Value, context.RequestAborted);
        if (!policy.Ok)
        {
            return policy.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 200, new GetPolicyResponse { Policy = policy.Value.Policy, RevisionId = policy.Value.RevisionId }, LambdaJson.Default.GetPolicyResponse);
        return null;
    }

    private static async Task<LambdaError?> RemovePermission(HttpContext context)
    {
        var policies = context.RequestServices.GetRequiredService<FunctionPolicies>();
        var reference = ReferenceOf(context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var statementId = context.Request.RouteValues["StatementId"] as string ?? "";
        var revisionId = context.Request.Query.TryGetValue("RevisionId", out var r) ? r.ToString() : null;
        var error = await policies.RemoveAsync(reference.Value, statementId, revisionId, context.RequestAborted);
        return NoContent(context, error);
    }

    private static async Task<LambdaError?> TagResource(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var parsed = await ReadJsonAsync(context, 1024 * 1024, "TagResource", LambdaJson.Default.TagResourceRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if (parsed.Value.Tags is null)
        {
            return RequireMembers(("tags", null));
        }

        var error = await manager.ChangeTagsAsync(ResourceOf(context), parsed.Value.Tags, null, context.RequestAborted);
        return NoContent(context, error);
    }

    private static async Task<LambdaError?> UntagResource(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        if (!context.Request.Query.TryGetValue("tagKeys", out var keys))
        {
            return RequireMembers(("tagKeys", null));
        }

        var error = await manager.ChangeTagsAsync(ResourceOf(context), null, keys.Where(k => k is not null).Select(k => k!).ToList(), context.RequestAborted);
        return NoContent(context, error);
    }

    private static async Task<LambdaError?> ListTags(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var tags = await manager.GetTagsAsync(ResourceOf(context), context.RequestAborted);
        if (!tags.Ok)
        {
            return tags.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 200, new ListTagsResponse { Tags = new Dictionary<string, string>(tags.Value) }, LambdaJson.Default.ListTagsResponse);
        return null;
    }

    private static string ResourceOf(HttpContext context) => context.Request.RouteValues["Resource"] as string ?? "";

    /// <summary>The function named in the path, with the Qualifier query parameter folded in.</summary>
    private static Result<FunctionRef> ReferenceOf(HttpContext context)
    {
        var raw = context.Request.RouteValues["FunctionName"] as string ?? "";
        if (!FunctionArn.TryParse(raw, out var reference))
        {
            return InvalidFunctionName(raw);
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
    private static async Task<Result<FunctionConfiguration>> ResolveAsync(HttpContext context, FunctionManager manager)
    {
        var reference = ReferenceOf(context);
        var function = reference.Ok ? await manager.GetAsync(reference.Value, context.RequestAborted) : reference.Error;
        if (function.Ok && function.Value.EnvironmentError is null && await manager.CheckEnvironmentAsync(function.Value, context.RequestAborted) is { } kms)
        {
            return function.Value with { Environment = new Dictionary<string, string>(), EnvironmentError = kms };
        }

        return function;
    }

    private static LambdaError InvalidFunctionName(string value) =>
        LambdaErrors.Validation("functionName", value, @"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?");

    private static LambdaError? RequireMembers(params (string Name, object? Value)[] members)
    {
        var missing = members.Where(m => m.Value is null).Select(m => m.Name).ToList();
        if (missing.Count == 0)
        {
            return null;
        }

        var detail = string.Join("; ", missing.Select(m => $"Value null at '{m}' failed to satisfy constraint: Member must not be null"));
        return new LambdaError("ValidationException", 400, $"{missing.Count} validation error{(missing.Count > 1 ? "s" : "")} detected: {detail}");
    }

    /// <summary>Code comes inline as a zip; S3 locations and images are refused with a reason.</summary>
    private static LambdaError? CodeSourceError(byte[]? zip, string? s3Bucket, string? imageUri, string member) => zip is not null
        ? null
        : LambdaErrors.InvalidParameter(s3Bucket is not null || imageUri is not null
            ? $"Hayate takes code as {member} only (S3 and container images are not supported yet)."
            : "Please provide a source for function code.");

    private static LambdaError? CheckArchitectures(List<string>? architectures) =>
        architectures is null || (architectures.Count == 1 && architectures[0] is "x86_64" or "arm64")
            ? null
            : LambdaErrors.Validation("architectures", string.Join(",", architectures), "Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]");

    /// <summary>MaxItems and Marker of a list call; markers are opaque (the last key of the page, base64).</summary>
    private static class Page
    {
        public static Result<(int MaxItems, string? After)> Read(HttpContext context, int limit = MaxListItems)
        {
            var query = context.Request.Query;
            var maxItems = Math.Min(DefaultListItems, limit);
            if (query.TryGetValue("MaxItems", out var max) && (!int.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out maxItems) || maxItems < 1 || maxItems > limit))
            {
                return LambdaErrors.Validation("maxItems", max.ToString(), $"Member must have value less than or equal to {limit} and greater than or equal to 1");
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
