using Hayate.Sandboxes;

namespace Hayate.Lambda.Functions;

/// <summary>The runtime identifiers Hayate runs, and the kind of host interpreter each maps to.</summary>
public static class RuntimeCatalog
{
    private static readonly Dictionary<string, RuntimeKind> Supported = new(StringComparer.Ordinal)
    {
        ["python3.9"] = RuntimeKind.Python,
        ["python3.10"] = RuntimeKind.Python,
        ["python3.11"] = RuntimeKind.Python,
        ["python3.12"] = RuntimeKind.Python,
        ["python3.13"] = RuntimeKind.Python,
        ["python3.14"] = RuntimeKind.Python,
        ["nodejs18.x"] = RuntimeKind.Node,
        ["nodejs20.x"] = RuntimeKind.Node,
        ["nodejs22.x"] = RuntimeKind.Node,
        ["nodejs24.x"] = RuntimeKind.Node,
        ["provided"] = RuntimeKind.Provided,
        ["provided.al2"] = RuntimeKind.Provided,
        ["provided.al2023"] = RuntimeKind.Provided,
    };

    public static IEnumerable<string> Identifiers => Supported.Keys;

    public static bool TryGetKind(string runtime, out RuntimeKind kind) => Supported.TryGetValue(runtime, out kind);
}
