namespace Hayate.Sandboxes.Isolation;

/// <summary>
/// The host uids sandboxes run as when the server is root: one of its own for each live sandbox,
/// from a range no account or file on the host uses, so that no sandbox process is ever host root
/// or any user that owns something, and no two sandboxes share a uid (nor the per-uid process limit).
/// Inside, every sandbox is uid 993 as on Lambda.
/// </summary>
public sealed class SandboxUsers(int firstUid, int count)
{
    private readonly Lock _gate = new();
    private readonly HashSet<int> _inUse = [];
    private int _next;

    public int FirstUid => firstUid;

    public int Count => count;

    /// <summary>A uid no live sandbox has; given back when the lease is disposed.</summary>
    /// <exception cref="SandboxStartException">every uid of the range is in use.</exception>
    public Lease Take()
    {
        lock (_gate)
        {
            for (var tried = 0; tried < count; tried++)
            {
                var uid = firstUid + (_next++ % count);
                if (_inUse.Add(uid))
                {
                    return new Lease(this, uid);
                }
            }
        }

        throw new SandboxStartException("Runtime.Unavailable", $"all {count} sandbox uids from {firstUid} are in use");
    }

    private void Give(int uid)
    {
        lock (_gate)
        {
            _inUse.Remove(uid);
        }
    }

    /// <summary>A uid held for one sandbox.</summary>
    public sealed class Lease(SandboxUsers owner, int uid) : IDisposable
    {
        private int _released;

        public int Uid => uid;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Give(uid);
            }
        }
    }
}
