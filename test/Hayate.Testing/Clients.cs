using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Hayate.Testing;

/// <summary>Output of a client process.</summary>
public sealed record ClientResult(int ExitCode, string Stdout, string Stderr)
{
    public JsonNode Json => JsonNode.Parse(Stdout) ?? throw new InvalidOperationException("no JSON on stdout: " + Stderr);
}

/// <summary>The real AWS CLI and boto3, as users run them, pointed at the test server.</summary>
public static class Clients
{
    private static readonly Dictionary<string, string> Credentials = new()
    {
        ["AWS_ACCESS_KEY_ID"] = "test",
        ["AWS_SECRET_ACCESS_KEY"] = "test",
        ["AWS_DEFAULT_REGION"] = "us-east-1",
        ["AWS_PAGER"] = "",
        ["AWS_MAX_ATTEMPTS"] = "1",
        ["AWS_RETRY_MODE"] = "standard",
    };

    /// <summary>aws --endpoint-url ENDPOINT ARGS… (output JSON), with AWS CLI v1 or v2.</summary>
    public static async Task<ClientResult> AwsAsync(string endpoint, params string[] args)
    {
        // v2 reads blob arguments (--payload) as base64 unless told otherwise; v1 has no such option.
        string[] v2 = await AwsCliIsV2.Value ? ["--cli-binary-format", "raw-in-base64-out"] : [];
        return await RunAsync("aws", ["--endpoint-url", endpoint, "--output", "json", .. v2, .. args]);
    }

    private static readonly Lazy<Task<bool>> AwsCliIsV2 = new(async () =>
    {
        var version = await RunAsync("aws", ["--version"]);
        return (version.Stdout + version.Stderr).Contains("aws-cli/2.", StringComparison.Ordinal);
    });

    /// <summary>
    /// Runs a python script with `lambda_client` bound to a boto3 Lambda client for the server, and
    /// `err(call)` giving [error code, HTTP status] of a call that fails (None when it succeeds).
    /// </summary>
    public static Task<ClientResult> Boto3Async(string endpoint, string script)
    {
        var prelude = $$"""
            import boto3, json, base64, sys, botocore
            from botocore.config import Config
            lambda_client = boto3.client('lambda', endpoint_url='{{endpoint}}', config=Config(retries={'max_attempts': 0}, read_timeout=120))
            def err(call):
                # [error code, HTTP status] of a call that should fail; None if it succeeded.
                try:
                    call()
                    return None
                except botocore.exceptions.ClientError as e:
                    return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
            """;
        return RunAsync("python3", ["-c", prelude + "\n" + script]);
    }

    public static Task<ClientResult> HayateAsync(params string[] args) => RunAsync("dotnet", [Paths.HayateDll, .. args]);

    public static async Task<ClientResult> RunAsync(string file, string[] args, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in Credentials)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return new ClientResult(process.ExitCode, await stdout, await stderr);
    }
}
