using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>Picks missing connections of a layer to add.</summary>
public interface IRegrower
{
    /// <summary>
    /// Chooses <paramref name="count"/> distinct positions of <paramref name="layer"/> that are not in
    /// <paramref name="kept"/> (the layer's structure after pruning, rows sorted), appending them to
    /// <paramref name="rows"/> and <paramref name="columns"/> with their starting values in <paramref name="values"/>.
    /// </summary>
    void Grow(SparseLinear layer, CsrMatrix kept, int count, List<int> rows, List<int> columns, List<float> values);
}
