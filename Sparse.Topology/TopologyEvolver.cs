using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Rewires sparse layers at a fixed connection budget: the <see cref="IPruner"/> picks connections to
/// drop, the <see cref="IRegrower"/> as many missing ones to add. Rows stay sorted and unique, the
/// transposed view is rebuilt on next use, and optimizer state moves with its connection (new
/// connections start with zero state). Memory and time are O(nnz + regrowth); no dense array.
/// </summary>
public sealed partial class TopologyEvolver
{
    private static readonly HashSet<long> NoPositions = [];

    private readonly ILogger _logger;

    /// <summary>Creates an evolver from a pruning and a regrowth rule.</summary>
    public TopologyEvolver(IPruner pruner, IRegrower regrower, ILogger<TopologyEvolver>? logger = null)
    {
        Pruner = pruner;
        Regrower = regrower;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>SET: prune each sign by magnitude, regrow at random.</summary>
    public static TopologyEvolver Set(ulong seed = 1, ValueDistribution? newWeights = null, ILogger<TopologyEvolver>? logger = null) =>
        new(new MagnitudePruner(), new RandomRegrower(seed, newWeights), logger);

    /// <summary>RigL: prune by |w|, regrow the missing connections with the largest |dL/dW|, at zero.</summary>
    public static TopologyEvolver RigL(ILogger<TopologyEvolver>? logger = null) =>
        new(new MagnitudePruner(separateSigns: false), new GradientRegrower(), logger);

    /// <summary>CTRE: prune by magnitude, regrow the missing pairs of most similar neurons (cosine).</summary>
    public static TopologyEvolver Ctre(CtreVariant variant = CtreVariant.Plain, ulong seed = 1, ILogger<TopologyEvolver>? logger = null) =>
        new(new MagnitudePruner(), new CosineRegrower(variant, seed), logger);

    /// <summary>What to drop.</summary>
    public IPruner Pruner { get; }

    /// <summary>What to add.</summary>
    public IRegrower Regrower { get; }

    /// <summary>Whether the output layer evolves too; SET's reference evolves the hidden layers only.</summary>
    public bool IncludeOutputLayer { get; init; }

    /// <summary>
    /// Evolves every sparse layer of <paramref name="network"/> (the output layer as <see cref="IncludeOutputLayer"/>
    /// says), dropping <paramref name="fraction"/> of each and regrowing as many, with the signals of the last step.
    /// <paramref name="epoch"/> and <paramref name="step"/> only label the returned records.
    /// </summary>
    public IReadOnlyList<TopologyChange> Evolve(SparseNetwork network, Optimizer? optimizer, double fraction, int epoch = 0, long step = 0)
    {
        var layers = network.SparseLayers.ToArray();
        var count = IncludeOutputLayer ? layers.Length : layers.Length - 1;
        var reports = new List<TopologyChange>(count);
        for (var n = 0; n < count; n++)
        {
            LayerSignals? signals = network.LastBatchSize > 0 ? network.SignalsOf(layers[n]) : null;
            var report = EvolveLayer(layers[n], optimizer, fraction, signals, n) with { Epoch = epoch, Step = step };
            reports.Add(report);
            Log.LayerEvolved(_logger, n, report.Pruned, report.Grown, report.Density, report.MinInDegree, report.MaxInDegree, report.MinOutDegree, report.MaxOutDegree);
        }

        return reports;
    }

    /// <summary>One prune-and-regrow step on <paramref name="layer"/>; moves <paramref name="optimizer"/>'s state along.</summary>
    public TopologyChange EvolveLayer(SparseLinear layer, Optimizer? optimizer, double fraction, LayerSignals? signals = null, int index = 0)
    {
        var weights = layer.Weights;
        var nnz = (int)weights.NonZeroCount;

        // Scratch comes from the shared pools: evolution runs every epoch or every N steps, and arrays of
        // this size land on the large-object heap, which only a full collection reclaims.
        var dropBuffer = ArrayPool<bool>.Shared.Rent(nnz);
        var drop = dropBuffer.AsSpan(0, nnz);
        drop.Clear();
        var pruned = Pruner.SelectDrops(layer, fraction, signals, drop);
        var prunedPositions = Regrower.NeedsPrunedPositions ? new HashSet<long>(pruned) : null;

        // The structure without the dropped connections, and where each kept entry came from.
        var keptPointers = new long[weights.Rows + 1];
        var keptColumns = new int[nnz - pruned];
        var keptValues = new float[nnz - pruned];
        var keptSource = new int[nnz - pruned];
        var kept = 0;
        for (var row = 0; row < weights.Rows; row++)
        {
            for (var k = (int)weights.RowPointers[row]; k < weights.RowPointers[row + 1]; k++)
            {
                if (drop[k])
                {
                    prunedPositions?.Add(((long)row * weights.Columns) + weights.ColumnIndices[k]);
                }
                else
                {
                    keptColumns[kept] = weights.ColumnIndices[k];
                    keptValues[kept] = weights.Values[k];
                    keptSource[kept] = k;
                    kept++;
                }
            }

            keptPointers[row + 1] = kept;
        }

        ArrayPool<bool>.Shared.Return(dropBuffer);
        var keptMatrix = new CsrMatrix(weights.Rows, weights.Columns, keptPointers, keptColumns, keptValues);
        var newRows = new List<int>(pruned);
        var newColumns = new List<int>(pruned);
        var newValues = new List<float>(pruned);
        Regrower.Grow(new GrowthRequest(layer, keptMatrix, pruned, prunedPositions ?? NoPositions, signals), newRows, newColumns, newValues);
        if (newRows.Count != pruned)
        {
            throw new InvalidOperationException($"{Regrower.GetType().Name} grew {newRows.Count} connections for {pruned} pruned.");
        }

        // Order the new entries by (row, column) with two counting sorts, by column and then stably by
        // row (as CSparse builds CSR), in O(new + rows + columns): no comparison sort per row.
        var grown = newRows.Count;
        var byColumn = new int[weights.Columns + 1];
        foreach (var column in newColumns)
        {
            byColumn[column + 1]++;
        }

        for (var column = 0; column < weights.Columns; column++)
        {
            byColumn[column + 1] += byColumn[column];
        }

        var columnOrder = new int[grown];
        for (var n = 0; n < grown; n++)
        {
            columnOrder[byColumn[newColumns[n]]++] = n;
        }

        var newStart = new int[weights.Rows + 1];
        foreach (var row in newRows)
        {
            newStart[row + 1]++;
        }

        for (var row = 0; row < weights.Rows; row++)
        {
            newStart[row + 1] += newStart[row];
        }

        var cursor = newStart[..^1];
        var bucketColumns = new int[grown];
        var bucketValues = new float[grown];
        foreach (var n in columnOrder)
        {
            var slot = cursor[newRows[n]]++;
            bucketColumns[slot] = newColumns[n];
            bucketValues[slot] = newValues[n];
        }

        var rowPointers = new long[weights.Rows + 1];
        var total = kept + newRows.Count;
        var columns = new int[total];
        var values = new float[total];
        var source = new int[total];
        var written = 0;
        for (var row = 0; row < weights.Rows; row++)
        {
            int a = (int)keptPointers[row], aEnd = (int)keptPointers[row + 1];
            int b = newStart[row], bEnd = newStart[row + 1];
            while (a < aEnd || b < bEnd)
            {
                if (b == bEnd || (a < aEnd && keptColumns[a] < bucketColumns[b]))
                {
                    columns[written] = keptColumns[a];
                    values[written] = keptValues[a];
                    source[written] = keptSource[a];
                    a++;
                }
                else
                {
                    columns[written] = bucketColumns[b];
                    values[written] = bucketValues[b];
                    source[written] = -1;
                    b++;
                }

                written++;
            }

            rowPointers[row + 1] = written;
        }

        weights.ReplaceStructure(rowPointers, columns, values);
        layer.WeightParameter.SyncGradient();
        optimizer?.RemapState(layer.WeightParameter, source);
        return Describe(layer, index, pruned, newRows.Count);
    }

    private static TopologyChange Describe(SparseLinear layer, int index, int pruned, int grown)
    {
        var weights = layer.Weights;
        int minIn = int.MaxValue, maxIn = 0;
        for (var row = 0; row < weights.Rows; row++)
        {
            minIn = Math.Min(minIn, weights.RowLength(row));
            maxIn = Math.Max(maxIn, weights.RowLength(row));
        }

        var pointers = weights.Transposed.ColumnPointers;
        int minOut = int.MaxValue, maxOut = 0;
        for (var column = 0; column < weights.Columns; column++)
        {
            var degree = (int)(pointers[column + 1] - pointers[column]);
            minOut = Math.Min(minOut, degree);
            maxOut = Math.Max(maxOut, degree);
        }

        return new TopologyChange(0, 0, index, pruned, grown, weights.NonZeroCount, weights.Density,
            weights.Rows == 0 ? 0 : minIn, maxIn, weights.Columns == 0 ? 0 : minOut, maxOut);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Layer {Layer}: pruned {Pruned}, grew {Grown}, density {Density:P3}, in-degree {MinIn}..{MaxIn}, out-degree {MinOut}..{MaxOut}")]
        public static partial void LayerEvolved(ILogger logger, int layer, int pruned, int grown, double density, int minIn, int maxIn, int minOut, int maxOut);
    }
}
