using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hayate.Sandboxes.RuntimeApi;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hayate.Sandboxes.Tests;

/// <summary>
/// The Runtime API server over real loopback sockets, as a runtime (or a hostile function) talks
/// to it: framing, keep-alive, the bounds on what it buffers, and who owns each buffer.
/// </summary>
public sealed class RuntimeApiServerTests : IDisposable
{
    private readonly Handler _handler = new();
    private readonly CountingPool _pool = new();
    private readonly RuntimeApiServer _server;
    private readonly IPEndPoint _endpoint;

    public RuntimeApiServerTests()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        _endpoint = (IPEndPoint)listener.LocalEndPoint!;
        _server = new RuntimeApiServer(listener, _handler, NullLogger.Instance, "test", _pool);
        _server.Start();
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task NextThenResponse_OnOneConnection_DeliversTheEventAndTheAnswer()
    {
        using var client = await ConnectAsync();
        _handler.Events.Enqueue(new RuntimeEvent("req-1", "{\"a\":1}"u8.ToArray(), 1234, "arn:fn", "trace", null, null));

        await SendAsync(client, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n");
        var next = await ReadResponseAsync(client);
        await SendAsync(client, "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nContent-Length: 4\r\n\r\n\"ok\"");
        var accepted = await ReadResponseAsync(client);

        Assert.Equal(200, next.Status);
        Assert.Equal("req-1", next.Headers["lambda-runtime-aws-request-id"]);
        Assert.Equal("1234", next.Headers["lambda-runtime-deadline-ms"]);
        Assert.Equal("{\"a\":1}", next.Body);
        Assert.Equal(202, accepted.Status);
        Assert.Equal(("req-1", "\"ok\""), _handler.Responses.Single());
    }

    [Fact]
    public async Task ChunkedResponse_WithExtensionsAndTrailers_IsDecoded()
    {
        using var client = await ConnectAsync();
        await SendAsync(client,
            "POST /2018-06-01/runtime/invocation/req-2/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n");

        var accepted = await ReadResponseAsync(client);

        Assert.Equal(202, accepted.Status);
        Assert.Equal(("req-2", "hello world"), _handler.Responses.Single());
    }

    [Fact]
    public async Task ErrorPost_TakesTheErrorTypeHeader()
    {
        using var client = await ConnectAsync();
        await SendAsync(client, "POST /2018-06-01/runtime/invocation/req-3/error HTTP/1.1\r\nLambda-Runtime-Function-Error-Type: Boom\r\nContent-Length: 2\r\n\r\n{}");

        Assert.Equal(202, (await ReadResponseAsync(client)).Status);
        Assert.Equal(("req-3", "{}", "Boom"), _handler.Errors.Single());
    }

    [Fact]
    public async Task UnknownRequestId_Answers400InvalidRequestID()
    {
        using var client = await ConnectAsync();
        _handler.KnownRequestId = "the-real-one";
        await SendAsync(client, "POST /2018-06-01/runtime/invocation/spoofed/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");

        var answer = await ReadResponseAsync(client);

        Assert.Equal(400, answer.Status);
        Assert.Contains("InvalidRequestID", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChunkSizeLineThatNeverEnds_Answers400AndClosesWithoutBufferingIt()
    {
        using var client = await ConnectAsync();
        await SendAsync(client, "POST /2018-06-01/runtime/invocation/req-4/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        // What a hostile function streamed: a chunk-size line of 300 MB. 4 MB of it is enough to tell.
        var hex = Encoding.ASCII.GetBytes(new string('f', 64 * 1024));
        var sent = 0;
        try
        {
            for (; sent < 64; sent++)
            {
                await client.SendAsync(hex, Token);
            }
        }
        catch (SocketException)
        {
            // The server closed its end: what it should do.
        }

        var answer = await ReadResponseAsync(client);

        Assert.Equal(400, answer.Status);
        Assert.True(await ClosedAsync(client), "the connection stays open after a refused chunk-size line");
        Assert.True(_pool.LargestRent <= 64 * 1024, $"the server rented {_pool.LargestRent} bytes for one line");
        Assert.Empty(_handler.Responses);
    }

    [Theory]
    [InlineData("FFFFFFFFFFFF")]
    [InlineData("-5")]
    [InlineData("zz")]
    public async Task ChunkSizeThatIsNoInt_Answers400AndTheServerServesTheNextConnection(string size)
    {
        using (var client = await ConnectAsync())
        {
            await SendAsync(client, $"POST /2018-06-01/runtime/invocation/req-5/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nabc\r\n0\r\n\r\n");
            Assert.Equal(400, (await ReadResponseAsync(client)).Status);
            Assert.True(await ClosedAsync(client));
        }

        using var next = await ConnectAsync();
        await SendAsync(next, "POST /2018-06-01/runtime/invocation/req-6/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
        Assert.Equal(202, (await ReadResponseAsync(next)).Status);
    }

    [Fact]
    public async Task TrailersPastTheirBound_Answer400()
    {
        using var client = await ConnectAsync();
        var trailers = string.Concat(Enumerable.Range(0, 40).Select(i => $"X-T{i}: {new string('a', 500)}\r\n"));
        await SendAsync(client, "POST /2018-06-01/runtime/invocation/req-7/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n" + trailers + "\r\n");

        Assert.Equal(400, (await ReadResponseAsync(client)).Status);
        Assert.Empty(_handler.Responses);
    }

    [Fact]
    public async Task HeadPast64KB_Answers431()
    {
        using var client = await ConnectAsync();
        var headers = string.Concat(Enumerable.Range(0, 80).Select(i => $"X-H{i}: {new string('b', 1000)}\r\n"));
        try
        {
            await SendAsync(client, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n" + headers + "\r\n");
        }
        catch (SocketException)
        {
        }

        Assert.Equal(431, (await ReadResponseAsync(client)).Status);
        Assert.True(_pool.LargestRent <= 128 * 1024, $"the server rented {_pool.LargestRent} bytes for a head");
    }

    [Fact]
    public async Task ContentLengthPast6MB_Answers413AndTellsTheSandbox()
    {
        using var client = await ConnectAsync();
        await SendAsync(client, "POST /2018-06-01/runtime/invocation/req-8/response HTTP/1.1\r\nContent-Length: 7000000\r\n\r\n");
        var body = new byte[1024 * 1024];
        for (var i = 0; i < 7; i++)
        {
            await client.SendAsync(i < 6 ? body : body.AsMemory(0, 7_000_000 - (6 * body.Length)), Token);
        }

        var answer = await ReadResponseAsync(client);

        Assert.Equal(413, answer.Status);
        Assert.Equal("req-8", _handler.TooLarge.Single());
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n")]
    [InlineData("POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n")]
    public async Task MalformedHead_Answers400AndCloses(string head)
    {
        using var client = await ConnectAsync();
        await SendAsync(client, head);

        Assert.Equal(400, (await ReadResponseAsync(client)).Status);
        Assert.True(await ClosedAsync(client));
    }

    [Fact]
    public async Task EveryBufferRented_IsReturnedOnce_EvenWhenAConnectionDiesAfterItsBufferGrew()
    {
        using (var client = await ConnectAsync())
        {
            // A 40 KB head makes the connection's buffer grow; then the peer vanishes mid-chunk.
            var headers = string.Concat(Enumerable.Range(0, 40).Select(i => $"X-H{i}: {new string('c', 1000)}\r\n"));
            await SendAsync(client, "POST /2018-06-01/runtime/invocation/req-9/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n" + headers + "\r\n100\r\nabc");
            await WaitUntilAsync(() => _pool.Rents >= 2);
        }

        using (var client = await ConnectAsync())
        {
            await SendAsync(client, "POST /2018-06-01/runtime/invocation/req-10/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
            Assert.Equal(202, (await ReadResponseAsync(client)).Status);
        }

        await WaitUntilAsync(() => _pool.Outstanding == 0);
        Assert.Equal(0, _pool.DoubleReturns);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_endpoint, Token);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text), Token);

    private static async Task<bool> ClosedAsync(Socket socket)
    {
        var scratch = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            while (await socket.ReceiveAsync(scratch, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>Reads one HTTP response with a Content-Length (the server always sends one).</summary>
    private static async Task<(int Status, Dictionary<string, string> Headers, string Body)> ReadResponseAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var received = new List<byte>();
        var chunk = new byte[4096];
        int headEnd;
        while ((headEnd = IndexOf(received, "\r\n\r\n"u8)) < 0)
        {
            var read = await socket.ReceiveAsync(chunk, timeout.Token);
            Assert.True(read > 0, "the server closed the connection without answering");
            received.AddRange(chunk.AsSpan(0, read).ToArray());
        }

        var lines = Encoding.ASCII.GetString(received.GetRange(0, headEnd).ToArray()).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        var length = int.Parse(headers["content-length"], System.Globalization.CultureInfo.InvariantCulture);
        while (received.Count < headEnd + 4 + length)
        {
            var read = await socket.ReceiveAsync(chunk, timeout.Token);
            Assert.True(read > 0, "the server closed the connection in the middle of its answer");
            received.AddRange(chunk.AsSpan(0, read).ToArray());
        }

        return (status, headers, Encoding.UTF8.GetString(received.GetRange(headEnd + 4, length).ToArray()));
    }

    private static int IndexOf(List<byte> bytes, ReadOnlySpan<byte> pattern) => bytes.ToArray().AsSpan().IndexOf(pattern);

    /// <summary>The sandbox side, recording what the server hands it.</summary>
    private sealed class Handler : IRuntimeApiHandler
    {
        public System.Collections.Concurrent.ConcurrentQueue<RuntimeEvent> Events { get; } = new();
        public System.Collections.Concurrent.ConcurrentQueue<(string, string)> Responses { get; } = new();
        public System.Collections.Concurrent.ConcurrentQueue<(string, string, string?)> Errors { get; } = new();
        public System.Collections.Concurrent.ConcurrentQueue<string?> TooLarge { get; } = new();
        public string? KnownRequestId { get; set; }

        public ValueTask<RuntimeEvent?> NextAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult(Events.TryDequeue(out var evt) ? evt : null);

        public bool Respond(string requestId, ReadOnlyMemory<byte> body)
        {
            if (KnownRequestId is not null && requestId != KnownRequestId)
            {
                return false;
            }

            Responses.Enqueue((requestId, Encoding.UTF8.GetString(body.Span)));
            return true;
        }

        public bool Fail(string requestId, ReadOnlyMemory<byte> body, string? errorType)
        {
            Errors.Enqueue((requestId, Encoding.UTF8.GetString(body.Span), errorType));
            return true;
        }

        public void InitFailed(ReadOnlyMemory<byte> body, string? errorType)
        {
        }

        public void ResponseTooLarge(string? requestId) => TooLarge.Enqueue(requestId);
    }

    /// <summary>A pool that counts: what is out, the largest rent, and any array returned twice.</summary>
    private sealed class CountingPool : ArrayPool<byte>
    {
        private readonly Lock _gate = new();
        private readonly HashSet<byte[]> _out = new(ReferenceEqualityComparer.Instance);

        public int Rents { get; private set; }
        public int LargestRent { get; private set; }
        public int DoubleReturns { get; private set; }

        public int Outstanding
        {
            get
            {
                lock (_gate)
                {
                    return _out.Count;
                }
            }
        }

        public override byte[] Rent(int minimumLength)
        {
            var array = new byte[minimumLength];
            lock (_gate)
            {
                Rents++;
                LargestRent = Math.Max(LargestRent, minimumLength);
                _out.Add(array);
            }

            return array;
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            lock (_gate)
            {
                if (!_out.Remove(array))
                {
                    DoubleReturns++;
                }
            }
        }
    }
}
