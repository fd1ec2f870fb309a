using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Evolves a block network (<see cref="ParallelNetworks"/>) block by block: configuration <c>k</c>'s part of each
/// hidden layer is pruned and regrown by its own evolver at the fraction its own schedule gives, with its own signals
/// (its rows and columns of the recorded step), and the parts of a layer are applied as one map, so optimizer state
/// moves along and no connection ever crosses blocks. Each block keeps its connection count.
/// Made by <see cref="ParallelNetworks.CreateEvolutionHook"/>.
/// </summary>
public sealed class BlockEvolutionHook : ITrainingHook
{
    private readonly ParallelNetworks _grid;
    private readonly TopologyEvolver[] _evolvers;
    private readonly EvolutionSchedule[] _schedules;
    private readonly List<TopologyChange>[] _changes;

    // Each configuration's fraction to rewire after the current step or epoch (null: not now), reused: the hook is
    // asked after every training step.
    private readonly double?[] _fractions;

    internal BlockEvolutionHook(ParallelNetworks grid, TopologyEvolver[] evolvers, EvolutionSchedule[] schedules)
    {
        _grid = grid;
        _evolvers = evolvers;
        _schedules = schedules;
        _changes = [.. evolvers.Select(_ => new List<TopologyChange>())];
        _fractions = new double?[evolvers.Length];
        Signals = evolvers.Aggregate(SignalKinds.None, (kinds, e) => kinds | e.Signals);
    }

    /// <inheritdoc/>
    public SignalKinds Signals { get; }

    /// <summary>Each configuration's topology changes, one per hidden layer and evolution step of its block.</summary>
    public IReadOnlyList<IReadOnlyList<TopologyChange>> Changes => _changes;

    /// <summary>Configurations whose blocks no longer evolve (set for a diverged configuration).</summary>
    public ISet<int> Stopped { get; } = new HashSet<int>();

    /// <inheritdoc/>
    public long RewiringBytesPerConnection(int optimizerSlots) => _evolvers.Max(e => e.ScratchBytesPerConnection(optimizerSlots));

    /// <inheritdoc/>
    public bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context)
    {
        foreach (var schedule in _schedules)
        {
            if (schedule.MayEvolveAfter(stepNumber, endsEpoch, context))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc/>
    public void OnStepEnd(TrainingContext context) => Evolve(context, afterStep: true);

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context) => Evolve(context, afterStep: false);

    /// <summary>Passes each configuration's held-out accuracy to its regrower (CTRE's sequential variant reads it).</summary>
    public void ObserveValidationAccuracies(IReadOnlyList<float?> accuracies)
    {
        ArgumentNullException.ThrowIfNull(accuracies);
        for (var k = 0; k < _evolvers.Length; k++)
        {
            if (accuracies[k] is { } accuracy)
            {
                _evolvers[k].Regrower.ObserveValidationAccuracy(accuracy);
            }
        }
    }

    // Asks every configuration's schedule for its fraction now, and rewires the blocks that have one.
    private void Evolve(TrainingContext context, bool afterStep)
    {
        var any = false;
        for (var k = 0; k < _schedules.Length; k++)
        {
            _fractions[k] = afterStep ? _schedules[k].AfterStep(context) : _schedules[k].AfterEpoch(context);
            any |= _fractions[k] is not null;
        }

        if (any)
        {
            Run(context, _fractions);
        }
    }

    private void Run(TrainingContext context, double?[] fractions)
    {
        var layers = context.Network.SparseLayers.ToArray();

        // CTRE's sample of the whole block network, sliced per block like a step's signals (one pass serves every block);
        // the step's recording is kept through its pass when a rule reads that too (gradient regrowth).
        if ((Signals & SignalKinds.TrainingSample) != 0 && (Signals & SignalRecorder.StepKinds) != 0 && context.Signals is { IsCurrent: true } step)
        {
            step.KeepAcrossPasses();
        }

        var sample = (Signals & SignalKinds.TrainingSample) != 0
            ? ActivationSample.Record(context, ActivationSample.DefaultBytes, maxRows: 0, softmaxOutput: false)
            : null;

        // After a sample's pass a step's recording that was not kept is stale, and reads as none.
        var recorder = context.Signals is { IsCurrent: true } ? context.Signals : null;

        // Hidden layers only: the output layer is each configuration's head.
        for (var l = 0; l + 1 < layers.Length; l++)
        {
            var layer = layers[l];
            var signals = recorder?.Of(layer);
            var weights = layer.Weights;
            var parts = new (ConnectionMap Map, int Pruned, int Grown)?[_grid.Blocks];
            for (var k = 0; k < _grid.Blocks; k++)
            {
                if (fractions[k] is not { } fraction || Stopped.Contains(k))
                {
                    continue;
                }

                // The block is a copy of the layer's part: rewiring it leaves the layer alone until the composed map.
                var block = new SparseLinear(_grid.Block(weights, l, k));
                var (kept, grown, pruned) = _evolvers[k].Plan(block, fraction, signals is { } s ? Slice(s, l, k) : null,
                    sample is null ? null : Slice(sample.Of(layer), l, k), context.Network.Compute, new int[block.Weights.NonZeroCount]);
                var map = ConnectionMap.Merge(kept, grown, block.Weights.RowPointers, block.Weights.ColumnIndices, block.Weights.Values);
                parts[k] = (map, pruned, grown.Count);
                _changes[k].Add(TopologyEvolver.Describe(block, l, pruned, grown.Count) with { Epoch = context.Epoch, Step = context.Step });
            }

            if (parts.All(p => p is null))
            {
                continue;
            }

            layer.Rewire(Compose(weights, l, parts), context.Optimizer);
            context.History.TopologyChanges.Add(TopologyEvolver.Describe(layer, l, parts.Sum(p => p?.Pruned ?? 0), parts.Sum(p => p?.Grown ?? 0))
                with
            { Epoch = context.Epoch, Step = context.Step });
        }
    }

    // Block k's rows and columns of a step's signals: activations are feature-major, so each is one contiguous span.
    private LayerSignals Slice(LayerSignals signals, int layer, int block)
    {
        var batch = signals.Batch;
        var (first, end) = _grid.RowsOf(layer, block);
        var (firstColumn, endColumn) = _grid.ColumnsOf(layer, block);
        return new LayerSignals(
            signals.Input.Slice(firstColumn * batch, (endColumn - firstColumn) * batch),
            signals.Activation.Slice(first * batch, (end - first) * batch),
            signals.OutputGradient.IsEmpty ? default : signals.OutputGradient.Slice(first * batch, (end - first) * batch),
            batch);
    }

    // One map for the whole layer: evolved blocks from their plans (columns and sources shifted to the layer's
    // numbering), the others kept as they are.
    private ConnectionMap Compose(CsrMatrix weights, int layer, (ConnectionMap Map, int Pruned, int Grown)?[] parts)
    {
        var maps = new ConnectionMap[parts.Length];
        var columnOffsets = new int[parts.Length];
        var sourceOffsets = new int[parts.Length];
        for (var k = 0; k < parts.Length; k++)
        {
            var (first, _) = _grid.RowsOf(layer, k);
            columnOffsets[k] = _grid.ColumnsOf(layer, k).First;
            sourceOffsets[k] = (int)weights.RowPointers[first];
            if (parts[k] is { } part)
            {
                maps[k] = part.Map;
            }
            else
            {
                // The block's own copy, each entry keeping itself.
                var block = _grid.Block(weights, layer, k);
                maps[k] = new ConnectionMap(block.RowPointers, block.ColumnIndices, block.Values, Enumerable.Range(0, (int)block.NonZeroCount).ToArray());
            }
        }

        return ConnectionMap.Stack(maps, columnOffsets, sourceOffsets);
    }
}
