namespace Hayate.Sandboxes;

/// <summary>How a runtime identifier is executed on this host.</summary>
public enum RuntimeKind
{
    Python,
    Node,
    Provided,
}
