
namespace Hayate.Lambda.Layers;

/// <summary>Layer versions and their permission policies. Version numbers count up per layer and are never reused.</summary>
public interface ILayerStore
{
    /// <summary>Stores <paramref name="layer"/> as the layer's next version and returns it with its number.</summary>
    Task<LayerVersion> PublishAsync(LayerVersion layer, CancellationToken cancellationToken);

    Task<LayerVersion?> GetAsync(string name, long version, CancellationToken cancellationToken);

    /// <summary>The layer's versions, newest first, older than <paramref name="beforeVersion"/> when given.</summary>
    Task<IReadOnlyList<LayerVersion>> ListVersionsAsync(string name, long? beforeVersion, int limit, CancellationToken cancellationToken);

    /// <summary>The newest version of each layer, by layer name after <paramref name="afterName"/>.</summary>
    Task<IReadOnlyList<LayerVersion>> ListLatestAsync(string? afterName, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, long version, CancellationToken cancellationToken);

    /// <summary>The version's policy statements (a JSON array) and revision; null when there is no such version.</summary>
    Task<(string Statements, string RevisionId)?> GetPolicyAsync(string name, long version, CancellationToken cancellationToken);

    /// <summary>Replaces the statements if the revision is still <paramref name="expectedRevision"/>.</summary>
    Task<bool> TryReplacePolicyAsync(string name, long version, string expectedRevision, string statements, string newRevision, CancellationToken cancellationToken);
}
