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
public sealed record GrowthRequest(SparseLinear Layer, CsrMatrix Kept, int Count, IReadOnlySet<long> Pruned, LayerSignals? Signals);

/// <summary>Picks missing connections of a layer to add.</summary>
public interface IRegrower
{
    /// <summary>Whether this rule reads output gradients (the network must retain them).</summary>
    bool NeedsGradients => false;

    /// <summary>Whether this rule reads <see cref="GrowthRequest.Pruned"/> (collecting it costs a hash set per step).</summary>
    bool NeedsPrunedPositions => false;

    /// <summary>
    /// Chooses <see cref="GrowthRequest.Count"/> distinct positions missing from <see cref="GrowthRequest.Kept"/>,
    /// appending them to <paramref name="rows"/> and <paramref name="columns"/> with starting values in <paramref name="values"/>.
    /// </summary>
    void Grow(GrowthRequest request, List<int> rows, List<int> columns, List<float> values);
}

/// <summary>A regrowth rule that changes course with validation accuracy (CTRE_seq); <see cref="EvolutionHook"/> reports each epoch's.</summary>
public interface IValidationObserver
{
    /// <summary>Reports the latest epoch's validation accuracy.</summary>
    void ObserveValidationAccuracy(float accuracy);
}
