using System.Buffers;
using System.Runtime.CompilerServices;
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

    // Steps whose scratch reaches this size are followed by a full collection (a few milliseconds there).
    private const long LargeStepBytes = 256L << 20;

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

    /// <summary>What the pruner and the regrower read of the last training step.</summary>
    public SignalKinds Signals => Pruner.Signals | Regrower.Signals;

    /// <summary>Whether the output layer evolves too; SET's reference evolves the hidden layers only.</summary>
    public bool IncludeOutputLayer { get; init; }

    /// <summary>
    /// Evolves every sparse layer of <paramref name="network"/> (the output layer as <see cref="IncludeOutputLayer"/>
    /// says), dropping <paramref name="fraction"/> of each and regrowing as many. <paramref name="signals"/> is the
    /// recording of the last training step's backward pass, for the rules that read one (<see cref="Signals"/>);
    /// a stale or missing recording reaches them as no signals. <paramref name="epoch"/> and <paramref name="step"/>
    /// only label the returned records.
    /// </summary>
    public IReadOnlyList<TopologyChange> Evolve(SparseNetwork network, Optimizer? optimizer, double fraction, SignalRecorder? signals = null, int epoch = 0, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(network);
        var layers = network.SparseLayers.ToArray();
        var count = IncludeOutputLayer ? layers.Length : layers.Length - 1;
        var reports = new List<TopologyChange>(count);
        for (var n = 0; n < count; n++)
        {
            // Only a current recording: after another forward pass it would mix two batches.
            LayerSignals? layerSignals = signals is { IsCurrent: true } ? signals.Of(layers[n]) : null;
            var report = EvolveLayer(layers[n], optimizer, fraction, layerSignals, n) with { Epoch = epoch, Step = step };
            reports.Add(report);
            Log.LayerEvolved(_logger, n, report.Pruned, report.Grown, report.Density, report.MinInDegree, report.MaxInDegree, report.MinOutDegree, report.MaxOutDegree);

            // A large layer's step leaves gigabytes of freed arrays on the large-object heap, which only a full
            // collection returns; reclaim them before the next layer allocates its own, so the peak stays at one
            // step's scratch (what MemoryEstimate budgets) rather than several.
            if (report.Connections * MemoryEstimate.EvolutionBytesPerConnection(optimizer?.StateSlots ?? 0) >= LargeStepBytes)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
            }
        }

        return reports;
    }

    /// <summary>One prune-and-regrow step on <paramref name="layer"/>; moves <paramref name="optimizer"/>'s state along.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public TopologyChange EvolveLayer(SparseLinear layer, Optimizer? optimizer, double fraction, LayerSignals? signals = null, int index = 0)
    {
        var weights = layer.Weights;
        var nnz = (int)weights.NonZeroCount;

        // Scratch is pooled while small (ScratchArray): evolution runs every epoch or every N steps, and arrays
        // of this size land on the large-object heap, which only a full collection reclaims.
        var dropBuffer = new ScratchArray<bool>(nnz);
        var drop = dropBuffer.Span;
        drop.Clear();
        var pruned = Pruner.SelectDrops(layer, fraction, signals, drop);
        var prunedPositions = Regrower.NeedsPrunedPositions ? new HashSet<long>(pruned) : null;

        // The structure without the dropped connections, and where each kept entry came from.
        var keptPointers = new long[weights.Rows + 1];
        var keptColumns = GC.AllocateUninitializedArray<int>(nnz - pruned);
        var keptValues = GC.AllocateUninitializedArray<float>(nnz - pruned);
        using var keptSource = new ScratchArray<int>(nnz - pruned);
        var kept = CopyKept(weights, drop, keptPointers, keptColumns, keptValues, keptSource.Array);
        if (prunedPositions is not null)
        {
            AddDropped(weights, drop, prunedPositions);
        }

        dropBuffer.Dispose();
        var keptMatrix = new CsrMatrix(weights.Rows, weights.Columns, keptPointers, keptColumns, keptValues);
        var newRows = new List<int>(pruned);
        var newColumns = new List<int>(pruned);
        var newValues = new List<float>(pruned);
        Regrower.Grow(new GrowthRequest(layer, keptMatrix, pruned, prunedPositions ?? NoPositions, signals), newRows, newColumns, newValues);
        if (newRows.Count != pruned)
        {
            throw new InvalidOperationException($"{Regrower.GetType().Name} grew {newRows.Count} connections for {pruned} pruned.");
        }

        // Order the new entries by (row, column), unless the regrower already did (SET's does).
        var (newStart, orderedColumns, orderedValues) = IsOrdered(newRows, newColumns)
            ? (RowStarts(newRows, weights.Rows), newColumns, newValues)
            : OrderByRowAndColumn(newRows, newColumns, newValues, weights.Rows, weights.Columns);
        var bucketColumns = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(orderedColumns);
        var bucketValues = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(orderedValues);
        var total = kept + newRows.Count;

        // The budget is constant, so the merged entries fit the old arrays exactly, and nothing reads them
        // after the kept copy was made: writing into them saves the largest allocation of the step (and the
        // page faults of touching it) on layers of hundreds of millions of connections.
        var reuse = total == nnz;
        var columns = reuse ? weights.ColumnIndices : GC.AllocateUninitializedArray<int>(total);
        var values = reuse ? weights.Values : GC.AllocateUninitializedArray<float>(total);
        var rowPointers = reuse ? weights.RowPointers : new long[weights.Rows + 1];
        using var source = new ScratchArray<int>(total);
        Merge(keptPointers, keptColumns, keptValues, keptSource.Array, newStart, bucketColumns, bucketValues, rowPointers, columns, values, source.Array);

        layer.Rewire(new ConnectionMap(rowPointers, columns, values, source.Array.AsMemory(0, total)), optimizer);
        return Describe(layer, index, pruned, newRows.Count);
    }

    // The kept entries in order, and where each came from. Whether an entry is dropped is a coin toss, so
    // each entry is written unconditionally and the cursor advances by 0 or 1, where a branch would
    // mispredict on about a third of them. The last slot cannot take a write past the kept count, so it is
    // done apart.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int CopyKept(CsrMatrix weights, ReadOnlySpan<bool> drop, long[] pointers, int[] columns, float[] values, int[] source)
    {
        var kept = 0;
        var last = columns.Length - 1;
        for (var row = 0; row < weights.Rows; row++)
        {
            var end = (int)weights.RowPointers[row + 1];
            for (var k = (int)weights.RowPointers[row]; k < end; k++)
            {
                if (kept < last)
                {
                    columns[kept] = weights.ColumnIndices[k];
                    values[kept] = weights.Values[k];
                    source[kept] = k;
                    kept += drop[k] ? 0 : 1;
                }
                else if (!drop[k])
                {
                    columns[kept] = weights.ColumnIndices[k];
                    values[kept] = weights.Values[k];
                    source[kept] = k;
                    kept++;
                }
            }

            pointers[row + 1] = kept;
        }

        return kept;
    }

    // Row by row, the kept entries and the new ones (both sorted by column, never the same column) merged by
    // column, with where each came from (-1 for new). An exhausted run reads as column int.MaxValue.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Merge(long[] keptPointers, int[] keptColumns, float[] keptValues, int[] keptSource, int[] newStart,
        ReadOnlySpan<int> newColumns, ReadOnlySpan<float> newValues, long[] rowPointers, int[] columns, float[] values, int[] source)
    {
        var written = 0;
        for (var row = 0; row + 1 < rowPointers.Length; row++)
        {
            int a = (int)keptPointers[row], aEnd = (int)keptPointers[row + 1];
            int b = newStart[row], bEnd = newStart[row + 1];
            var end = written + (aEnd - a) + (bEnd - b);
            for (; written < end; written++)
            {
                var fromKept = a < aEnd ? keptColumns[a] : int.MaxValue;
                var fromNew = b < bEnd ? newColumns[b] : int.MaxValue;
                if (fromKept < fromNew)
                {
                    columns[written] = fromKept;
                    values[written] = keptValues[a];
                    source[written] = keptSource[a];
                    a++;
                }
                else
                {
                    columns[written] = fromNew;
                    values[written] = newValues[b];
                    source[written] = -1;
                    b++;
                }
            }

            rowPointers[row + 1] = written;
        }
    }

    // The dropped positions (row x columns + column), for regrowers that avoid regrowing them at once.
    private static void AddDropped(CsrMatrix weights, ReadOnlySpan<bool> drop, HashSet<long> dropped)
    {
        for (var row = 0; row < weights.Rows; row++)
        {
            for (var k = (int)weights.RowPointers[row]; k < weights.RowPointers[row + 1]; k++)
            {
                if (drop[k])
                {
                    dropped.Add(((long)row * weights.Columns) + weights.ColumnIndices[k]);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool IsOrdered(List<int> rows, List<int> columns)
    {
        for (var n = 1; n < rows.Count; n++)
        {
            if (rows[n] < rows[n - 1] || (rows[n] == rows[n - 1] && columns[n] <= columns[n - 1]))
            {
                return false;
            }
        }

        return true;
    }

    // Where each row's new entries start, given entries grouped by row: starts[row]..starts[row + 1].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] RowStarts(List<int> rows, int rowCount)
    {
        var starts = new int[rowCount + 1];
        foreach (var row in rows)
        {
            starts[row + 1]++;
        }

        for (var row = 0; row < rowCount; row++)
        {
            starts[row + 1] += starts[row];
        }

        return starts;
    }

    // Two counting sorts, by column and then stably by row (as CSparse builds CSR), in O(new + rows + columns):
    // no comparison sort per row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int[] Starts, List<int> Columns, List<float> Values) OrderByRowAndColumn(List<int> rows, List<int> columns, List<float> values, int rowCount, int columnCount)
    {
        var pointers = new long[rowCount + 1];
        var order = TripletOrder.ByRowThenColumn(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(columns), rowCount, columnCount, pointers);
        var starts = new int[rowCount + 1];
        for (var r = 0; r <= rowCount; r++)
        {
            starts[r] = (int)pointers[r];
        }

        var orderedColumns = new List<int>(order.Length);
        var orderedValues = new List<float>(order.Length);
        foreach (var t in order)
        {
            orderedColumns.Add(columns[t]);
            orderedValues.Add(values[t]);
        }

        return (starts, orderedColumns, orderedValues);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
