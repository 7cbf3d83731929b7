using System.Buffers;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

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
/// </summary>
internal sealed class RuntimeApiServer(Socket listener, IRuntimeApiHandler handler) : IDisposable
{
    /// <summary>Lambda's limit on a synchronous response (6 MB), plus room for framing.</summary>
    public const int MaxResponseBytes = 6 * 1024 * 1024 + 100;
    private const int MaxHeadBytes = 64 * 1024;
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
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var start = 0;
        var end = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                // Read until the head is complete.
                int headEnd;
                while ((headEnd = buffer.AsSpan(start, end - start).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }

                    if (end == buffer.Length)
                    {
                        if (buffer.Length >= MaxHeadBytes)
                        {
                            await SendAsync(socket, 431, """{"errorMessage":"Request header fields too large","errorType":"InvalidRequest"}"""u8.ToArray());
                            return;
                        }

                        buffer = Grow(buffer, buffer.Length * 2, end);
                    }

                    var read = await socket.ReceiveAsync(buffer.AsMemory(end), _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    end += read;
                }

                var head = Request.Parse(buffer.AsSpan(start, headEnd));
                start += headEnd + 4;
                if (head.ExpectContinue)
                {
                    await socket.SendAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), _stop.Token);
                }

                // Read the body.
                byte[] body;
                if (head.Chunked)
                {
                    var chunked = new ChunkedReader(socket, buffer, start, end, _stop.Token);
                    var decoded = await chunked.ReadToEndAsync(MaxResponseBytes);
                    (buffer, start, end) = (chunked.Buffer, chunked.Start, chunked.End);
                    if (decoded is null)
                    {
                        handler.ResponseTooLarge(RequestIdOf(head.Path));
                        await SendAsync(socket, 413, TooLargeBody);
                        return;
                    }

                    body = decoded;
                }
                else
                {
                    if (head.ContentLength > MaxResponseBytes)
                    {
                        handler.ResponseTooLarge(RequestIdOf(head.Path));
                        // Read the body to its end, so that the runtime sees the 413 rather than a
                        // reset connection and carries on with its next invocation.
                        if (head.ContentLength > MaxDiscardBytes || !await DiscardAsync(socket, head.ContentLength - (end - start)))
                        {
                            return;
                        }

                        start = end = 0;
                        await SendAsync(socket, 413, TooLargeBody);
                        continue;
                    }

                    body = new byte[head.ContentLength];
                    var buffered = Math.Min(end - start, body.Length);
                    buffer.AsSpan(start, buffered).CopyTo(body);
                    start += buffered;
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

                if (start == end)
                {
                    start = end = 0;
                }

                if (!await DispatchAsync(socket, head, body) || head.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException or FormatException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            socket.Dispose();
        }
    }

    /// <summary>An oversized body up to this size is read and dropped; a larger one closes the connection.</summary>
    private const long MaxDiscardBytes = 256L * 1024 * 1024;

    private async Task<bool> DiscardAsync(Socket socket, long remaining)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
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
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static readonly byte[] TooLargeBody =
        """{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"""u8.ToArray();

    private static readonly byte[] Accepted = """{"status":"OK"}"""u8.ToArray();

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

    internal static byte[] Grow(byte[] buffer, int size, int used)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        buffer.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    /// <summary>The parts of a request head the Runtime API needs.</summary>
    private readonly record struct Request(string Method, string Path, int ContentLength, bool Chunked, bool ExpectContinue, bool Close, string? ErrorType)
    {
        public static Request Parse(ReadOnlySpan<byte> head)
        {
            var lineEnd = head.IndexOf("\r\n"u8);
            var requestLine = lineEnd < 0 ? head : head[..lineEnd];
            var firstSpace = requestLine.IndexOf((byte)' ');
            var secondSpace = requestLine[(firstSpace + 1)..].IndexOf((byte)' ');
            if (firstSpace <= 0 || secondSpace <= 0)
            {
                throw new FormatException("bad request line");
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
                    if (!Utf8Parser.TryParse(value, out contentLength, out _) || contentLength < 0)
                    {
                        throw new FormatException("bad Content-Length");
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

            return new Request(method, path, contentLength, chunked, expect, close, errorType);
        }
    }

    /// <summary>Decodes a chunked body from what is buffered and what still arrives.</summary>
    private sealed class ChunkedReader(Socket socket, byte[] buffer, int start, int end, CancellationToken cancellationToken)
    {
        public byte[] Buffer { get; private set; } = buffer;
        public int Start { get; private set; } = start;
        public int End { get; private set; } = end;

        public async Task<byte[]?> ReadToEndAsync(int limit)
        {
            var body = new MemoryStream();
            while (true)
            {
                var line = await ReadLineAsync();
                var semicolon = line.IndexOf(';', StringComparison.Ordinal);
                var size = Convert.ToInt32(semicolon >= 0 ? line[..semicolon] : line, 16);
                if (size == 0)
                {
                    // Trailers, then the empty line.
                    while ((await ReadLineAsync()).Length > 0)
                    {
                    }

                    return body.ToArray();
                }

                if (body.Length + size > limit)
                {
                    return null;
                }

                var remaining = size;
                while (remaining > 0)
                {
                    if (Start == End)
                    {
                        await FillAsync();
                    }

                    var take = Math.Min(remaining, End - Start);
                    body.Write(Buffer, Start, take);
                    Start += take;
                    remaining -= take;
                }

                await ReadLineAsync();
            }
        }

        private async Task<string> ReadLineAsync()
        {
            int index;
            while ((index = Buffer.AsSpan(Start, End - Start).IndexOf("\r\n"u8)) < 0)
            {
                await FillAsync();
            }

            var line = Encoding.ASCII.GetString(Buffer, Start, index);
            Start += index + 2;
            return line;
        }

        private async Task FillAsync()
        {
            if (Start > 0)
            {
                System.Buffer.BlockCopy(Buffer, Start, Buffer, 0, End - Start);
                End -= Start;
                Start = 0;
            }

            if (End == Buffer.Length)
            {
                Buffer = Grow(Buffer, Buffer.Length * 2, End);
            }

            var read = await socket.ReceiveAsync(Buffer.AsMemory(End), cancellationToken);
            if (read == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            End += read;
        }
    }
}
