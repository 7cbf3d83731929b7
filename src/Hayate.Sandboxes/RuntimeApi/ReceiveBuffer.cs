using System.Buffers;
using System.Net.Sockets;

namespace Hayate.Sandboxes.RuntimeApi;

/// <summary>
/// One connection's receive buffer, and its only owner: rented once, replaced when it grows (the
/// old array goes back to the pool at once, nothing else holds it), returned once on Dispose.
/// It grows only as far as the caller's bound on what it is looking for, so a peer that never
/// ends a line cannot make it large.
/// </summary>
internal sealed class ReceiveBuffer(Socket socket, ArrayPool<byte> pool, int initialSize, CancellationToken cancellationToken) : IDisposable
{
    /// <summary><see cref="FindAsync"/>: the peer closed the connection first.</summary>
    public const int Closed = -1;

    /// <summary><see cref="FindAsync"/>: more than the bound arrived without the delimiter.</summary>
    public const int TooLong = -2;

    private byte[]? _array = pool.Rent(initialSize);
    private int _start;
    private int _end;

    /// <summary>The bytes received and not yet consumed.</summary>
    public Span<byte> Data => Array.AsSpan(_start, _end - _start);

    public int Length => _end - _start;

    /// <summary>The size of the array held now (what a hostile peer could make it grow to, at most).</summary>
    public int Capacity => Array.Length;

    private byte[] Array => _array ?? throw new ObjectDisposedException(nameof(ReceiveBuffer));

    public void Consume(int count)
    {
        _start += count;
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    /// <summary>
    /// The offset in <see cref="Data"/> of <paramref name="delimiter"/>, receiving more as needed,
    /// when at most <paramref name="maxBefore"/> bytes come before it; <see cref="TooLong"/> when
    /// more do, <see cref="Closed"/> when the peer hangs up first.
    /// </summary>
    public async ValueTask<int> FindAsync(ReadOnlyMemory<byte> delimiter, int maxBefore)
    {
        var searched = 0;
        while (true)
        {
            var index = Data[searched..].IndexOf(delimiter.Span);
            if (index >= 0)
            {
                index += searched;
                return index <= maxBefore ? index : TooLong;
            }

            if (Length > maxBefore + delimiter.Length - 1)
            {
                return TooLong;
            }

            // A delimiter may straddle what has arrived and what comes next.
            searched = Math.Max(0, Length - delimiter.Length + 1);
            if (!await FillAsync(maxBefore + delimiter.Length))
            {
                return Closed;
            }
        }
    }

    /// <summary>Receives more, growing up to <paramref name="needed"/> bytes held when full; false when the peer has closed.</summary>
    public async ValueTask<bool> FillAsync(int needed = 0)
    {
        var array = Array;
        if (_start > 0 && _end == array.Length)
        {
            Buffer.BlockCopy(array, _start, array, 0, Length);
            _end -= _start;
            _start = 0;
        }

        if (_end == array.Length)
        {
            var bigger = pool.Rent(Math.Min(array.Length * 2, Math.Max(needed, Length + 1)));
            array.AsSpan(_start, Length).CopyTo(bigger);
            _end -= _start;
            _start = 0;
            _array = bigger;
            pool.Return(array);
            array = bigger;
        }

        var read = await socket.ReceiveAsync(array.AsMemory(_end), cancellationToken);
        _end += read;
        return read > 0;
    }

    public void Dispose()
    {
        if (_array is { } array)
        {
            _array = null;
            pool.Return(array);
        }
    }
}
