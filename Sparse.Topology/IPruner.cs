using Sparse.Training;

namespace Sparse.Topology;

/// <summary>Picks the connections of a layer to drop.</summary>
public interface IPruner
{
    /// <summary>What this rule reads of the last training step (the <c>signals</c> of <see cref="SelectDrops"/>).</summary>
    SignalKinds Signals => SignalKinds.None;

    /// <summary>
    /// Sets <c>drop[k]</c> for each stored connection <c>k</c> of <paramref name="layer"/> to remove (the
    /// span arrives cleared, one entry per connection) and returns how many were marked.
    /// </summary>
    /// <param name="layer">The layer.</param>
    /// <param name="fraction">The share of connections to drop, from the evolution schedule.</param>
    /// <param name="signals">The layer's last activations, for importance-based rules; null when none were recorded.</param>
    /// <param name="drop">One flag per stored connection.</param>
    int SelectDrops(SparseLinear layer, double fraction, LayerSignals? signals, Span<bool> drop);
}
