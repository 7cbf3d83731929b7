using System.Buffers;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Hayate.Sandboxes.RuntimeApi;

/// <summary>An event handed to the runtime by GET /runtime/invocation/next.</summary>
internal sealed record RuntimeEvent(
    string RequestId,
    ReadOnlyMemory<byte> Payload,
    long DeadlineMs,
    string InvokedFunctionArn,
    string TraceId,
    string? ClientContext,
    string? CognitoIdentity);

/// <summary>What the sandbox does with each Runtime API call.</summary>
internal interface IRuntimeApiHandler
{
    ValueTask<RuntimeEvent?> NextAsync(CancellationToken cancellationToken);

    /// <summary>False when the request id is not the invocation in flight.</summary>
    bool Respond(string requestId, ReadOnlyMemory<byte> body);

    bool Fail(string requestId, ReadOnlyMemory<byte> body, string? errorType);

    void InitFailed(ReadOnlyMemory<byte> body, string? errorType);

    /// <summary>The runtime sent a response larger than Lambda allows.</summary>
    void ResponseTooLarge(string? requestId);
}

/// <summary>
/// The Lambda Runtime API (2018-06-01) for one sandbox, on its own listening socket: a small
/// HTTP/1.1 server (keep-alive, Content-Length and chunked bodies, Expect: 100-continue) because
/// real runtime clients need a bare host:port of their own and the hot path is two requests.
/// What a function sends is bounded: the head, every chunk-size and trailer line, the trailers
/// together and the body; past a bound it gets 400, 413 or 431 and the connection is closed.
/// </summary>
internal sealed partial class RuntimeApiServer(Socket listener, IRuntimeApiHandler handler, ILogger logger, string sandboxId, ArrayPool<byte>? pool = null) : IDisposable
{
    /// <summary>Lambda's limit on a synchronous response (6 MB), plus room for framing.</summary>
    public const int MaxResponseBytes = 6 * 1024 * 1024 + 100;

    /// <summary>The request line and headers together.</summary>
    public const int MaxHeadBytes = 64 * 1024;

    /// <summary>One chunk-size line: hex digits and chunk extensions.</summary>
    public const int MaxChunkLineBytes = 1024;

    /// <summary>The trailer section of a chunked body, every line of it.</summary>
    public const int MaxTrailerBytes = 16 * 1024;

    private const int InitialBufferBytes = 16 * 1024;
    private readonly ArrayPool<byte> _pool = pool ?? ArrayPool<byte>.Shared;
    private readonly CancellationTokenSource _stop = new();

    public void Start() => _ = AcceptLoopAsync();

    public void Dispose()
    {
        _stop.Cancel();
        listener.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            connection.NoDelay = true;
            _ = ServeAsync(connection);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var buffer = new ReceiveBuffer(socket, _pool, InitialBufferBytes, _stop.Token);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var headEnd = await buffer.FindAsync(HeadEnd, MaxHeadBytes);
                if (headEnd == ReceiveBuffer.Closed)
                {
                    return;
                }

                if (headEnd == ReceiveBuffer.TooLong)
                {
                    await RefuseAsync(socket, 431, """{"errorMessage":"Request header fields too large","errorType":"InvalidRequest"}"""u8.ToArray(), "the request head passed its bound");
                    return;
                }

                if (!Request.TryParse(buffer.Data[..headEnd], out var head, out var problem))
                {
                    await RefuseAsync(socket, 400, BadRequestBody, problem);
                    return;
                }

                buffer.Consume(headEnd + 4);
                if (head.ExpectContinue)
                {
                    await socket.SendAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), _stop.Token);
                }

                // Read the body.
                byte[] body;
                if (head.Chunked)
                {
                    var (decoded, refusal) = await ReadChunkedAsync(buffer);
                    if (refusal is { } status)
                    {
                        if (status == 413)
                        {
                            handler.ResponseTooLarge(RequestIdOf(head.Path));
                            await RefuseAsync(socket, 413, TooLargeBody, "a chunked body passed 6 MB");
                        }
                        else if (status == 400)
                        {
                            await RefuseAsync(socket, 400, BadRequestBody, "a chunked body broke its framing or bounds");
                        }

                        return;
                    }

                    body = decoded!;
                }
                else
                {
                    if (head.ContentLength > MaxResponseBytes)
                    {
                        handler.ResponseTooLarge(RequestIdOf(head.Path));
                        // Read the body to its end, so that the runtime sees the 413 rather than a
                        // reset connection and carries on with its next invocation.
                        if (head.ContentLength > MaxDiscardBytes || !await DiscardAsync(socket, head.ContentLength - buffer.Length))
                        {
                            return;
                        }

                        buffer.Consume(buffer.Length);
                        await SendAsync(socket, 413, TooLargeBody);
                        continue;
                    }

                    body = new byte[head.ContentLength];
                    var buffered = Math.Min(buffer.Length, body.Length);
                    buffer.Data[..buffered].CopyTo(body);
                    buffer.Consume(buffered);
                    var filled = buffered;
                    while (filled < body.Length)
                    {
                        var read = await socket.ReceiveAsync(body.AsMemory(filled), _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        filled += read;
                    }
                }

                if (!await DispatchAsync(socket, head, body) || head.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            LogConnectionEnded(logger, sandboxId, ex.Message);
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>
    /// Decodes a chunked body: (body, null), or (null, status) when it cannot be taken: 413 past
    /// 6 MB, 400 for a bad or overlong chunk-size or trailer line, 0 when the runtime hung up.
    /// </summary>
    private static async Task<(byte[]? Body, int? Refusal)> ReadChunkedAsync(ReceiveBuffer buffer)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var lineEnd = await buffer.FindAsync(CrLf, MaxChunkLineBytes);
            if (lineEnd < 0)
            {
                return (null, lineEnd == ReceiveBuffer.Closed ? 0 : 400);
            }

            var line = buffer.Data[..lineEnd];
            var semicolon = line.IndexOf((byte)';');
            var digits = (semicolon >= 0 ? line[..semicolon] : line).Trim((byte)' ');
            if (!Utf8Parser.TryParse(digits, out int size, out var used, 'x') || used != digits.Length || size < 0)
            {
                return (null, 400);
            }

            buffer.Consume(lineEnd + 2);
            if (size == 0)
            {
                // Trailers, then the empty line: bounded together.
                var trailers = 0;
                while (true)
                {
                    var trailerEnd = await buffer.FindAsync(CrLf, MaxTrailerBytes - trailers);
                    if (trailerEnd < 0)
                    {
                        return (null, trailerEnd == ReceiveBuffer.Closed ? 0 : 400);
                    }

                    buffer.Consume(trailerEnd + 2);
                    trailers += trailerEnd + 2;
                    if (trailerEnd == 0)
                    {
                        return (body.ToArray(), null);
                    }
                }
            }

            if (body.Length + size > MaxResponseBytes)
            {
                return (null, 413);
            }

            var remaining = size;
            while (remaining > 0)
            {
                if (buffer.Length == 0 && !await buffer.FillAsync())
                {
                    return (null, 0);
                }

                var take = Math.Min(remaining, buffer.Length);
                body.Write(buffer.Data[..take]);
                buffer.Consume(take);
                remaining -= take;
            }

            var crlf = await buffer.FindAsync(CrLf, 0);
            if (crlf != 0)
            {
                return (null, crlf == ReceiveBuffer.Closed ? 0 : 400);
            }

            buffer.Consume(2);
        }
    }

    /// <summary>Answers with a refusal before closing the connection, and says why in the debug log.</summary>
    private async Task RefuseAsync(Socket socket, int status, byte[] body, string why)
    {
        LogRefused(logger, sandboxId, status, why);
        await SendAsync(socket, status, body);
    }

    /// <summary>An oversized body up to this size is read and dropped; a larger one closes the connection.</summary>
    private const long MaxDiscardBytes = 256L * 1024 * 1024;

    private async Task<bool> DiscardAsync(Socket socket, long remaining)
    {
        var scratch = _pool.Rent(64 * 1024);
        try
        {
            while (remaining > 0)
            {
                var read = await socket.ReceiveAsync(scratch.AsMemory(0, (int)Math.Min(scratch.Length, remaining)), _stop.Token);
                if (read == 0)
                {
                    return false;
                }

                remaining -= read;
            }

            return true;
        }
        finally
        {
            _pool.Return(scratch);
        }
    }

    private static readonly byte[] TooLargeBody =
        """{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"""u8.ToArray();

    private static readonly byte[] BadRequestBody = """{"errorMessage":"Bad request","errorType":"InvalidRequest"}"""u8.ToArray();

    private static readonly byte[] Accepted = """{"status":"OK"}"""u8.ToArray();

    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private static readonly byte[] CrLf = "\r\n"u8.ToArray();

    private async Task<bool> DispatchAsync(Socket socket, Request head, byte[] body)
    {
        const string prefix = "/2018-06-01/runtime/";
        var path = head.Path;
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }

        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            await SendAsync(socket, 404, """{"errorMessage":"Not found","errorType":"InvalidRequest"}"""u8.ToArray());
            return true;
        }

        var rest = path.AsSpan(prefix.Length);
        if (rest.SequenceEqual("invocation/next") && head.Method == "GET")
        {
            var next = await handler.NextAsync(_stop.Token);
            if (next is null)
            {
                return false;
            }

            await SendEventAsync(socket, next);
            return true;
        }

        if (rest.SequenceEqual("init/error") && head.Method == "POST")
        {
            handler.InitFailed(body, head.ErrorType);
            await SendAsync(socket, 202, Accepted);
            return true;
        }

        if (rest.StartsWith("invocation/") && head.Method == "POST")
        {
            var tail = rest["invocation/".Length..];
            var slash = tail.IndexOf('/');
            if (slash > 0)
            {
                var requestId = tail[..slash].ToString();
                var verb = tail[(slash + 1)..];
                bool known;
                if (verb.SequenceEqual("response"))
                {
                    known = handler.Respond(requestId, body);
                }
                else if (verb.SequenceEqual("error"))
                {
                    known = handler.Fail(requestId, body, head.ErrorType);
                }
                else
                {
                    await SendAsync(socket, 404, """{"errorMessage":"Not found","errorType":"InvalidRequest"}"""u8.ToArray());
                    return true;
                }

                if (!known)
                {
                    await SendAsync(socket, 400, """{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"""u8.ToArray());
                    return true;
                }

                await SendAsync(socket, 202, Accepted);
                return true;
            }
        }

        await SendAsync(socket, 404, """{"errorMessage":"Not found","errorType":"InvalidRequest"}"""u8.ToArray());
        return true;
    }

    private async Task SendEventAsync(Socket socket, RuntimeEvent evt)
    {
        var head = new StringBuilder(512)
            .Append("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            .Append("Lambda-Runtime-Aws-Request-Id: ").Append(evt.RequestId).Append("\r\n")
            .Append("Lambda-Runtime-Deadline-Ms: ").Append(evt.DeadlineMs).Append("\r\n")
            .Append("Lambda-Runtime-Invoked-Function-Arn: ").Append(evt.InvokedFunctionArn).Append("\r\n")
            .Append("Lambda-Runtime-Trace-Id: ").Append(evt.TraceId).Append("\r\n");
        if (evt.ClientContext is not null)
        {
            head.Append("Lambda-Runtime-Client-Context: ").Append(evt.ClientContext).Append("\r\n");
        }

        if (evt.CognitoIdentity is not null)
        {
            head.Append("Lambda-Runtime-Cognito-Identity: ").Append(evt.CognitoIdentity).Append("\r\n");
        }

        head.Append("Content-Length: ").Append(evt.Payload.Length).Append("\r\n\r\n");
        var headBytes = Encoding.ASCII.GetBytes(head.ToString());
        if (evt.Payload.Length <= 8192)
        {
            // One segment, one packet: the warm path.
            var whole = new byte[headBytes.Length + evt.Payload.Length];
            headBytes.CopyTo(whole, 0);
            evt.Payload.Span.CopyTo(whole.AsSpan(headBytes.Length));
            await socket.SendAsync(whole, _stop.Token);
        }
        else
        {
            await socket.SendAsync(headBytes, _stop.Token);
            await socket.SendAsync(evt.Payload, _stop.Token);
        }
    }

    private async Task SendAsync(Socket socket, int status, byte[] body)
    {
        var reason = status switch
        {
            202 => "Accepted",
            400 => "Bad Request",
            404 => "Not Found",
            413 => "Payload Too Large",
            431 => "Request Header Fields Too Large",
            _ => "OK",
        };
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        var whole = new byte[head.Length + body.Length];
        head.CopyTo(whole, 0);
        body.CopyTo(whole, head.Length);
        await socket.SendAsync(whole, _stop.Token);
    }

    private static string? RequestIdOf(string path)
    {
        const string prefix = "/2018-06-01/runtime/invocation/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = path[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? rest[..slash] : null;
    }

    /// <summary>The parts of a request head the Runtime API needs.</summary>
    private readonly record struct Request(string Method, string Path, int ContentLength, bool Chunked, bool ExpectContinue, bool Close, string? ErrorType)
    {
        public static bool TryParse(ReadOnlySpan<byte> head, out Request request, out string problem)
        {
            request = default;
            var lineEnd = head.IndexOf("\r\n"u8);
            var requestLine = lineEnd < 0 ? head : head[..lineEnd];
            var firstSpace = requestLine.IndexOf((byte)' ');
            var secondSpace = requestLine[(firstSpace + 1)..].IndexOf((byte)' ');
            if (firstSpace <= 0 || secondSpace <= 0)
            {
                problem = "a bad request line";
                return false;
            }

            var method = Encoding.ASCII.GetString(requestLine[..firstSpace]);
            var path = Encoding.ASCII.GetString(requestLine.Slice(firstSpace + 1, secondSpace));
            var http10 = requestLine.EndsWith("HTTP/1.0"u8);
            int contentLength = 0;
            bool chunked = false, expect = false, close = http10;
            string? errorType = null;
            var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
            while (!rest.IsEmpty)
            {
                var next = rest.IndexOf("\r\n"u8);
                var line = next < 0 ? rest : rest[..next];
                rest = next < 0 ? [] : rest[(next + 2)..];
                var colon = line.IndexOf((byte)':');
                if (colon <= 0)
                {
                    continue;
                }

                var name = line[..colon];
                var value = line[(colon + 1)..].Trim((byte)' ');
                if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
                {
                    if (!Utf8Parser.TryParse(value, out contentLength, out var digits) || digits != value.Length || contentLength < 0)
                    {
                        problem = "a bad Content-Length";
                        return false;
                    }
                }
                else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
                {
                    chunked = value.IndexOf("chunked"u8) >= 0;
                }
                else if (Ascii.EqualsIgnoreCase(name, "Expect"u8))
                {
                    expect = Ascii.EqualsIgnoreCase(value, "100-continue"u8);
                }
                else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
                {
                    close = Ascii.EqualsIgnoreCase(value, "close"u8);
                }
                else if (Ascii.EqualsIgnoreCase(name, "Lambda-Runtime-Function-Error-Type"u8))
                {
                    errorType = Encoding.UTF8.GetString(value);
                }
            }

            request = new Request(method, path, contentLength, chunked, expect, close, errorType);
            problem = "";
            return true;
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "sandbox {SandboxId}: Runtime API connection ended: {Reason}")]
    private static partial void LogConnectionEnded(ILogger logger, string sandboxId, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Debug, Message = "sandbox {SandboxId}: Runtime API answered {Status} and closed the connection: {Reason}")]
    private static partial void LogRefused(ILogger logger, string sandboxId, int status, string reason);
}
