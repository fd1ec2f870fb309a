using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>What a regrower is asked to add to one layer.</summary>
/// <param name="Layer">The layer being rewired.</param>
/// <param name="Kept">Its structure after pruning (rows sorted); new positions must be missing from it.</param>
/// <param name="Count">How many connections to add.</param>
/// <param name="Pruned">Positions (<c>row * columns + column</c>) dropped in this step; empty unless
/// the regrower says <see cref="IRegrower.NeedsPrunedPositions"/>.</param>
/// <param name="Signals">The layer's last input, activation and output gradient, when recorded.</param>
public sealed record GrowthRequest(SparseLinear Layer, CsrMatrix Kept, int Count, IReadOnlySet<long> Pruned, LayerSignals? Signals)
{
    /// <summary>
    /// The layer's input and activation over many training rows (<see cref="ActivationSample"/>), when the rule reads
    /// <see cref="SignalKinds.TrainingSample"/> and the caller recorded one; <see cref="LayerSignals.Batch"/> is its row count.
    /// </summary>
    public LayerSignals? Sample { get; init; }

    /// <summary>
    /// The threads and SIMD level of the run (the network's <see cref="SparseNetwork.Compute"/>): a rule that scores
    /// in parallel stays within them, so <c>--threads 1</c> or an MPI rank's share holds during evolution too.
    /// </summary>
    public ComputeOptions Compute { get; init; } = ComputeOptions.Default;
}

/// <summary>Picks missing connections of a layer to add.</summary>
public interface IRegrower
{
    /// <summary>What this rule reads of the last training step (<see cref="GrowthRequest.Signals"/>).</summary>
    SignalKinds Signals => SignalKinds.None;

    /// <summary>
    /// Scratch this rule needs per connection it grows, beyond the triplet it adds (a scoring rule's running top-k,
    /// and the evolver's sort of triplets that do not come in (row, column) order); freed after the step.
    /// </summary>
    long ScratchBytesPerGrown => 0;

    /// <summary>The rule's name in logs, metrics and <c>sparse info</c>.</summary>
    string Name => GetType().Name;

    /// <summary>Whether this rule reads <see cref="GrowthRequest.Pruned"/> (collecting it costs a hash set per step).</summary>
    bool NeedsPrunedPositions => false;

    /// <summary>
    /// Chooses <see cref="GrowthRequest.Count"/> distinct positions missing from <see cref="GrowthRequest.Kept"/> and
    /// adds them, with their starting values, to <paramref name="grown"/> (empty, of the layer's shape), in any order;
    /// (row, column) order saves the evolver a sort.
    /// </summary>
    void Grow(GrowthRequest request, CooMatrix grown);

    /// <summary>
    /// Hears each epoch's validation accuracy (from <see cref="EvolutionHook"/>, after the evaluation), for a rule
    /// that changes course with it (CTRE_seq); the others ignore it.
    /// </summary>
    void ObserveValidationAccuracy(float accuracy)
    {
    }
}
