using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>What a pruner is asked to drop from one layer.</summary>
/// <param name="Layer">The layer being rewired.</param>
/// <param name="Fraction">The share of its connections to drop, from the evolution schedule.</param>
/// <param name="Signals">The layer's last input, activation and output gradient, when recorded.</param>
public sealed record PruneRequest(SparseLinear Layer, double Fraction, LayerSignals? Signals)
{
    /// <summary>
    /// The layer's input and activation over many training rows (<see cref="ActivationSample"/>), when the rule reads
    /// <see cref="SignalKinds.TrainingSample"/> and the caller recorded one: the same sample a regrower of the step reads.
    /// </summary>
    public LayerSignals? Sample { get; init; }

    /// <summary>The threads and SIMD level of the run (the network's <see cref="SparseNetwork.Compute"/>).</summary>
    public ComputeOptions Compute { get; init; } = ComputeOptions.Default;
}

/// <summary>Picks the connections of a layer to drop.</summary>
public interface IPruner
{
    /// <summary>What this rule reads of the last training step (the <c>signals</c> of <see cref="SelectDrops(SparseLinear, double, LayerSignals?, Span{bool})"/>).</summary>
    SignalKinds Signals => SignalKinds.None;

    /// <summary>Scratch this rule needs per connection of the layer while it selects; freed before the regrowth.</summary>
    long ScratchBytesPerConnection => 0;

    /// <summary>The rule's name in logs, metrics and <c>sparse info</c>.</summary>
    string Name => GetType().Name;

    /// <summary>
    /// Sets <c>drop[k]</c> for each stored connection <c>k</c> of <paramref name="layer"/> to remove (the
    /// span arrives cleared, one entry per connection) and returns how many were marked.
    /// </summary>
    /// <param name="layer">The layer.</param>
    /// <param name="fraction">The share of connections to drop, from the evolution schedule.</param>
    /// <param name="signals">The layer's last activations, for importance-based rules; null when none were recorded.</param>
    /// <param name="drop">One flag per stored connection.</param>
    int SelectDrops(SparseLinear layer, double fraction, LayerSignals? signals, Span<bool> drop);

    /// <summary>
    /// <see cref="SelectDrops(SparseLinear, double, LayerSignals?, Span{bool})"/> with everything the evolver has for the
    /// step, the sample of training rows among it; what <see cref="TopologyEvolver"/> calls. A rule that reads only the
    /// layer and the step's signals need not implement it.
    /// </summary>
    int SelectDrops(PruneRequest request, Span<bool> drop)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SelectDrops(request.Layer, request.Fraction, request.Signals, drop);
    }
}
