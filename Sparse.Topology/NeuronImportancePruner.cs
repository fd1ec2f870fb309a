using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Importance pruning of hidden neurons (Curci, Mocanu, Pechenizkiy 2021): a hidden neuron's importance is
/// the sum of |incoming weights|; neurons at or below the <see cref="Percentile"/>-th percentile of their
/// layer lose all their connections, incoming and outgoing. The network shrinks for good: the connection
/// count falls and is not regrown. O(nnz) per call.
/// </summary>
public sealed class NeuronImportancePruner(double percentile = 20)
{
    /// <summary>The percentile (0-100) at or below which a neuron is pruned.</summary>
    public double Percentile { get; } = percentile is >= 0 and <= 100 ? percentile : throw new ArgumentOutOfRangeException(nameof(percentile), $"The percentile must be in [0, 100], is {percentile}.");

    /// <summary>
    /// Scratch of one pruning, per connection of the layer it prunes: drop flags 1 B, the kept connections copied
    /// (column, value, origin) 12 B, and the moved optimizer state 4 B per slot.
    /// </summary>
    public static long ScratchBytesPerConnection(int optimizerSlots) => 13 + (4L * optimizerSlots);

    /// <summary>Prunes every hidden layer of <paramref name="network"/>; returns the neurons removed per hidden layer.</summary>
    public int[] Prune(SparseNetwork network, Optimizer? optimizer)
    {
        var layers = network.SparseLayers.ToArray();
        var removed = new int[Math.Max(0, layers.Length - 1)];
        for (var n = 0; n + 1 < layers.Length; n++)
        {
            var incoming = layers[n];
            var importance = new double[incoming.OutputSize];
            var weights = incoming.Weights;
            for (var j = 0; j < weights.Rows; j++)
            {
                for (var k = weights.RowPointers[j]; k < weights.RowPointers[j + 1]; k++)
                {
                    importance[j] += Math.Abs(weights.Values[k]);
                }
            }

            var threshold = PercentileOf(importance, Percentile);
            var dead = new bool[importance.Length];
            for (var j = 0; j < importance.Length; j++)
            {
                if (importance[j] <= threshold && (weights.RowLength(j) > 0 || HasOutgoing(layers[n + 1].Weights, j)))
                {
                    dead[j] = true;
                    removed[n]++;
                }
            }

            // Incoming: whole rows of this layer. Outgoing: whole columns of the next.
            Remove(incoming, optimizer, (row, column) => dead[row]);
            Remove(layers[n + 1], optimizer, (row, column) => dead[column]);
        }

        return removed;
    }

    /// <summary>The linearly interpolated <paramref name="percentile"/> of <paramref name="values"/> (numpy's default).</summary>
    public static double PercentileOf(IReadOnlyList<double> values, double percentile)
    {
        if (values.Count == 0)
        {
            return double.NegativeInfinity;
        }

        var sorted = values.Order().ToArray();
        var position = percentile / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }

    private static bool HasOutgoing(CsrMatrix next, int column)
    {
        var pointers = next.Transposed.ColumnPointers;
        return pointers[column + 1] > pointers[column];
    }

    // Drops the connections at the positions `drop` names, through the one filter every rewiring uses.
    private static void Remove(SparseLinear layer, Optimizer? optimizer, Func<int, int, bool> drop)
    {
        var weights = layer.Weights;
        var flags = new bool[weights.NonZeroCount];
        var any = false;
        for (var row = 0; row < weights.Rows; row++)
        {
            for (var k = (int)weights.RowPointers[row]; k < weights.RowPointers[row + 1]; k++)
            {
                flags[k] = drop(row, weights.ColumnIndices[k]);
                any |= flags[k];
            }
        }

        if (any)
        {
            layer.Rewire(ConnectionMap.Keep(weights, flags), optimizer);
        }
    }
}

/// <summary>Runs <see cref="NeuronImportancePruner"/> every <paramref name="everyEpochs"/> epochs from <paramref name="startEpoch"/> on.</summary>
public sealed class NeuronPruningHook(NeuronImportancePruner pruner, int startEpoch, int everyEpochs) : ITrainingHook
{
    /// <summary>Neurons removed per hidden layer at each pruning, with its epoch.</summary>
    public List<(int Epoch, int[] Removed)> History { get; } = [];

    /// <inheritdoc/>
    public long RewiringBytesPerConnection(int optimizerSlots) => NeuronImportancePruner.ScratchBytesPerConnection(optimizerSlots);

    /// <inheritdoc/>
    public void OnStepEnd(TrainingContext context)
    {
    }

    /// <summary>Never: it prunes at epoch ends only, from the weights.</summary>
    public bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context) => false;

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context)
    {
        if (context.Epoch >= startEpoch && (context.Epoch - startEpoch) % Math.Max(1, everyEpochs) == 0 && context.Epoch < context.Epochs - 1)
        {
            var layers = context.Network.SparseLayers.ToArray();
            var before = layers.Select(l => l.Weights.NonZeroCount).ToArray();
            History.Add((context.Epoch, pruner.Prune(context.Network, context.Optimizer)));

            // The connections of removed neurons count as pruned in the run's history, as the evolver's do.
            for (var l = 0; l < layers.Length; l++)
            {
                var removed = (int)(before[l] - layers[l].Weights.NonZeroCount);
                if (removed > 0)
                {
                    context.History.TopologyChanges.Add(TopologyEvolver.Describe(layers[l], l, removed, 0) with { Epoch = context.Epoch, Step = context.Step });
                }
            }
        }
    }
}
