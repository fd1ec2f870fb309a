using Sparse.Training;

namespace Sparse.Topology;

/// <summary>Picks the connections of a layer to drop.</summary>
public interface IPruner
{
    /// <summary>
    /// Sets <c>drop[k]</c> for each stored connection <c>k</c> of <paramref name="layer"/> to remove (the
    /// span arrives cleared, one entry per connection) and returns how many were marked.
    /// </summary>
    int SelectDrops(SparseLinear layer, Span<bool> drop);
}
