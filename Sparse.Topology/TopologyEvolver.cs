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

    /// <summary>SET: prune each sign by magnitude, regrow at random; with a <paramref name="band"/>, banded layers regrow within their bands (<see cref="RandomRegrower.Band"/>).</summary>
    public static TopologyEvolver Set(ulong seed = 1, ValueDistribution? newWeights = null, ILogger<TopologyEvolver>? logger = null, int? band = null) =>
        new(new MagnitudePruner(), new RandomRegrower(seed, newWeights, band), logger);

    /// <summary>
    /// RigL: prune by |w|, regrow the missing connections with the largest |dL/dW|, at zero; every missing
    /// connection is scored while a layer costs at most <paramref name="exactScores"/> scores (out x in x batch),
    /// beyond that the search is bounded by neuron norms (<see cref="GradientRegrower"/>).
    /// </summary>
    public static TopologyEvolver RigL(ILogger<TopologyEvolver>? logger = null, long exactScores = GradientRegrower.DefaultExactScores) =>
        new(new MagnitudePruner(separateSigns: false), new GradientRegrower(exactScores: exactScores), logger);

    /// <summary>
    /// CTRE as its reference code runs it: prune by |w| (both signs together), regrow the missing pairs of most similar
    /// neurons (cosine over a sample of the training rows, <see cref="CosineRegrower"/>), every layer including the
    /// output layer (compared on the softmax outputs).
    /// </summary>
    public static TopologyEvolver Ctre(CtreVariant variant = CtreVariant.Plain, ulong seed = 1, ILogger<TopologyEvolver>? logger = null, int patience = CosineRegrower.DefaultPatience) =>
        new(new MagnitudePruner(separateSigns: false), new CosineRegrower(variant, seed, patience: patience), logger) { IncludeOutputLayer = true };

    /// <summary>What to drop.</summary>
    public IPruner Pruner { get; }

    /// <summary>What to add.</summary>
    public IRegrower Regrower { get; }

    /// <summary>
    /// Scratch of one evolution step, per connection of the layer it rewires: drop flags 1 B, the kept connections
    /// copied (column, value, origin) 12 B, the new ones (row, column, value, sorted rank; at most half the layer)
    /// 10 B, where each entry came from 4 B, the moved optimizer state 4 B per slot, and the regrower's own scratch
    /// per new connection (<see cref="IRegrower.ScratchBytesPerGrown"/>, at most half the layer), the pruner's own
    /// (<see cref="IPruner.ScratchBytesPerConnection"/>), and the set of pruned
    /// positions when the regrower reads it (a hash set sized once: 20 B a slot, up to 24 B per pruned connection).
    /// Freed after the step.
    /// </summary>
    public long ScratchBytesPerConnection(int optimizerSlots) =>
        27 + (4L * optimizerSlots) + Pruner.ScratchBytesPerConnection + ((Regrower.ScratchBytesPerGrown + 1) / 2) + (Regrower.NeedsPrunedPositions ? 12 : 0);

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
    /// <param name="network">The network.</param>
    /// <param name="optimizer">Its optimizer, whose per-connection state moves with the connections; null for none.</param>
    /// <param name="fraction">The fraction of each layer's connections to drop (and regrow).</param>
    /// <param name="signals">The last training step's recording, for rules that read one.</param>
    /// <param name="epoch">Labels the records.</param>
    /// <param name="step">Labels the records.</param>
    /// <param name="sample">Activations over many training rows, for rules that read <see cref="SignalKinds.TrainingSample"/>
    /// (<see cref="EvolutionHook"/> records one before each evolution); without it they fall back to <paramref name="signals"/>.</param>
    public IReadOnlyList<TopologyChange> Evolve(SparseNetwork network, Optimizer? optimizer, double fraction, SignalRecorder? signals = null, int epoch = 0, long step = 0, ActivationSample? sample = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var layers = network.SparseLayers.ToArray();
        var count = IncludeOutputLayer ? layers.Length : layers.Length - 1;
        var reports = new List<TopologyChange>(count);
        for (var n = 0; n < count; n++)
        {
            // Only a current recording: after another forward pass it would mix two batches.
            LayerSignals? layerSignals = signals is { IsCurrent: true } ? signals.Of(layers[n]) : null;
            var report = EvolveLayer(layers[n], optimizer, fraction, layerSignals, n, sample?.Of(layers[n]), network.Compute) with { Epoch = epoch, Step = step };
            reports.Add(report);
            Log.LayerEvolved(_logger, n, report.Pruned, Pruner.Name, report.Grown, Regrower.Name, report.Density, report.MinInDegree, report.MaxInDegree, report.MinOutDegree, report.MaxOutDegree);

            // A large layer's step leaves gigabytes of freed arrays on the large-object heap, which only a full
            // collection returns; reclaim them before the next layer allocates its own, so the peak stays at one
            // step's scratch (what MemoryEstimate budgets) rather than several.
            if (report.Connections * ScratchBytesPerConnection(optimizer?.StateSlots ?? 0) >= LargeStepBytes)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
            }
        }

        return reports;
    }

    /// <summary>
    /// One prune-and-regrow step on <paramref name="layer"/>: the pruner's drop flags filter the structure
    /// (<see cref="ConnectionMap.Keep(CsrMatrix, ReadOnlySpan{bool})"/>), the regrower chooses new connections, and the
    /// layer merges them in (<see cref="SparseLinear.Rewire(ConnectionMap, CooMatrix, Optimizer?)"/>), moving
    /// <paramref name="optimizer"/>'s state along. Until that last call nothing of the layer changes, so a rule that
    /// fails leaves the layer as it was.
    /// </summary>
    /// <param name="layer">The layer to rewire.</param>
    /// <param name="optimizer">Its optimizer, whose per-connection state moves with the connections; null for none.</param>
    /// <param name="fraction">The fraction of its connections to drop (and regrow).</param>
    /// <param name="signals">The last training step's signals of the layer, for rules that read them.</param>
    /// <param name="index">Labels the record.</param>
    /// <param name="sample">Activations over many training rows, for rules that read <see cref="SignalKinds.TrainingSample"/>.</param>
    /// <param name="compute">Threads for the rules that score in parallel (<see cref="ComputeOptions.Default"/> when null); <see cref="Evolve"/> passes the network's.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public TopologyChange EvolveLayer(SparseLinear layer, Optimizer? optimizer, double fraction, LayerSignals? signals = null, int index = 0, LayerSignals? sample = null, ComputeOptions? compute = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        using var keptSource = new ScratchArray<int>((int)layer.Weights.NonZeroCount);
        var (kept, grown, pruned) = Plan(layer, fraction, signals, sample, compute ?? ComputeOptions.Default, keptSource.Array);
        layer.Rewire(kept, grown, optimizer);
        return Describe(layer, index, pruned, grown.Count);
    }

    /// <summary>
    /// The rewiring <see cref="EvolveLayer"/> would apply to <paramref name="layer"/>, without applying it or touching the
    /// layer: the kept part of its structure (its sources, into the layer's entries, written to <paramref name="keptSource"/>,
    /// one entry per connection), the new connections (as many as were pruned), and the count pruned. A block network
    /// evolves each block's part of a layer this way and applies all parts as one map.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal (ConnectionMap Kept, CooMatrix Grown, int Pruned) Plan(SparseLinear layer, double fraction, LayerSignals? signals, LayerSignals? sample, ComputeOptions compute, int[] keptSource)
    {
        var weights = layer.Weights;
        var nnz = (int)weights.NonZeroCount;

        // Scratch is pooled while small (ScratchArray): evolution runs every epoch or every N steps, and arrays
        // of this size land on the large-object heap, which only a full collection reclaims.
        ConnectionMap kept;
        int pruned;
        HashSet<long>? prunedPositions;
        using (var dropBuffer = new ScratchArray<bool>(nnz))
        {
            var drop = dropBuffer.Span;
            drop.Clear();
            pruned = Pruner.SelectDrops(new PruneRequest(layer, fraction, signals) { Sample = sample, Compute = compute }, drop);
            prunedPositions = Regrower.NeedsPrunedPositions ? DroppedPositions(weights, drop, pruned) : null;
            kept = ConnectionMap.Keep(weights, drop, keptSource, nnz - pruned);
        }

        var keptMatrix = new CsrMatrix(weights.Rows, weights.Columns, kept.RowPointers, kept.ColumnIndices, kept.Values);
        var grown = new CooMatrix(weights.Rows, weights.Columns, pruned);
        Regrower.Grow(new GrowthRequest(layer, keptMatrix, pruned, prunedPositions ?? NoPositions, signals) { Sample = sample, Compute = compute }, grown);
        if (grown.Count != pruned)
        {
            throw new InvalidOperationException($"{Regrower.GetType().Name} grew {grown.Count} connections for {pruned} pruned.");
        }

        return (kept, grown, pruned);
    }

    // The dropped positions (row x columns + column), for regrowers that avoid regrowing them at once.
    private static HashSet<long> DroppedPositions(CsrMatrix weights, ReadOnlySpan<bool> drop, int count)
    {
        var dropped = new HashSet<long>(count);
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

        return dropped;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static TopologyChange Describe(SparseLinear layer, int index, int pruned, int grown)
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
        [LoggerMessage(Level = LogLevel.Information, Message = "Layer {Layer}: pruned {Pruned} by {Pruner}, grew {Grown} by {Regrower}, density {Density:P3}, in-degree {MinIn}..{MaxIn}, out-degree {MinOut}..{MaxOut}")]
        public static partial void LayerEvolved(ILogger logger, int layer, int pruned, string pruner, int grown, string regrower, double density, int minIn, int maxIn, int minOut, int maxOut);
    }
}
