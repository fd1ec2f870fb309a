using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Gradual magnitude pruning (Zhu and Gupta, "To prune, or not to prune", 2017): from a denser start, each sparse
/// layer's connections fall to its target count on the cubic schedule
/// <c>c_t = c_f + (c_i - c_f) (1 - (t - t0) / (end - t0))^3</c>, applied every <see cref="Interval"/> steps (or after every
/// epoch) from the first step <c>t0</c> to <see cref="EndFraction"/> of training; each pruning drops the weights closest
/// to zero (both signs together), and nothing is regrown. It is the pruning baseline sparse-to-sparse methods compare
/// with at the same final connection count: the paper's rule on the stored connections alone, so the denser start
/// costs its connections (which the run's per-epoch connection counts show) and nothing dense beyond them.
/// </summary>
/// <param name="targets">Each sparse layer's connection count at the end of the schedule, in layer order.</param>
/// <param name="interval">Steps between prunings; 0 prunes after every epoch but the last.</param>
/// <param name="endFraction">The fraction of training's steps by which every layer reaches its target (Zhu and Gupta prune over
/// a stretch of training and fine-tune after it; RigL's schedule ends at 0.75 too).</param>
public sealed class GradualPruningHook(IReadOnlyList<long> targets, int interval, double endFraction = 0.75) : ITrainingHook, IResumableState
{
    private readonly Func<SparseNetwork, long[]>? _resolve;
    private long[] _targets = [.. targets];
    private long[]? _initial;

    /// <summary>A hook whose targets are each layer's count at the given densities of the network it trains (known at its first step).</summary>
    internal GradualPruningHook(Func<SparseNetwork, long[]> resolve, int interval, double endFraction = 0.75)
        : this([], interval, endFraction) => _resolve = resolve;

    /// <summary>Each sparse layer's connection count at the end of the schedule.</summary>
    public IReadOnlyList<long> Targets => _targets;

    /// <summary>Steps between prunings; 0 after every epoch.</summary>
    public int Interval { get; } = interval >= 0 ? interval : throw new ArgumentOutOfRangeException(nameof(interval), interval, "The interval is 0 (every epoch) or a number of steps.");

    /// <summary>The fraction of training by which the targets are reached.</summary>
    public double EndFraction { get; } = endFraction is > 0 and <= 1 ? endFraction : throw new ArgumentOutOfRangeException(nameof(endFraction), endFraction, "The end is a fraction of training in (0, 1].");

    /// <summary>Each layer's count when training started (the denser start), or null before the first step.</summary>
    public IReadOnlyList<long>? Initial => _initial;

    /// <summary>
    /// The connections a layer that started with <paramref name="initial"/> and ends with <paramref name="target"/> keeps at
    /// <paramref name="progress"/> (0 at the first step, 1 at <see cref="EndFraction"/> of training and after): the cubic
    /// schedule, rounded to the nearest whole connection.
    /// </summary>
    public static long CountAt(long initial, long target, double progress)
    {
        var remaining = Math.Pow(1 - Math.Clamp(progress, 0, 1), 3);
        return target + (long)Math.Round((initial - target) * remaining, MidpointRounding.AwayFromZero);
    }

    /// <inheritdoc/>
    public long RewiringBytesPerConnection(int optimizerSlots) => NeuronImportancePruner.ScratchBytesPerConnection(optimizerSlots);

    /// <summary>Never: it prunes from the weights alone.</summary>
    public bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context) => false;

    /// <inheritdoc/>
    public void OnStepEnd(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Start(context);
        if (Interval > 0 && context.Step % Interval == 0)
        {
            Prune(context);
        }
    }

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Start(context);
        if (Interval == 0 && context.Epoch < context.Epochs - 1)
        {
            Prune(context);
        }
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_initial?.Length ?? -1);
        foreach (var count in _initial ?? [])
        {
            writer.Write(count);
        }
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var length = reader.ReadInt32();
        if (length != -1 && _resolve is null && length != _targets.Length)
        {
            throw new InvalidDataException($"the checkpoint's gradual pruning has {length} layers where this one has {_targets.Length}");
        }

        _initial = length < 0 ? null : Enumerable.Range(0, length).Select(_ => reader.ReadInt64()).ToArray();
    }

    // The denser start's counts, taken before the first pruning (and saved, so a resumed run keeps the schedule's start).
    private void Start(TrainingContext context)
    {
        if (_resolve is not null && _targets.Length == 0)
        {
            _targets = _resolve(context.Network);
        }

        if (_initial is not null)
        {
            return;
        }

        var layers = context.Network.SparseLayers.ToArray();
        if (layers.Length != _targets.Length)
        {
            throw new InvalidOperationException($"Gradual pruning has targets for {_targets.Length} sparse layers; the network has {layers.Length}.");
        }

        _initial = [.. layers.Select(l => l.Weights.NonZeroCount)];
        for (var l = 0; l < layers.Length; l++)
        {
            if (_targets[l] < 0 || _targets[l] > _initial[l])
            {
                throw new InvalidOperationException($"Layer {l} starts with {_initial[l]:N0} connections and cannot be pruned to {_targets[l]:N0}.");
            }
        }
    }

    private void Prune(TrainingContext context)
    {
        var end = Math.Max(1, (long)Math.Round(EndFraction * context.Epochs * context.StepsPerEpoch));
        var progress = (double)context.Step / end;
        var layers = context.Network.SparseLayers.ToArray();
        for (var l = 0; l < layers.Length; l++)
        {
            PruneTo(context, layers[l], l, CountAt(_initial![l], _targets[l], progress));
        }
    }

    /// <summary>
    /// Drops the weights of <paramref name="layer"/> (sparse layer <paramref name="index"/>) closest to zero, both signs
    /// together, until <paramref name="keep"/> are left, moving the optimizer's state along, and records the pruning in
    /// the run's history; nothing when the layer holds no more. Gradual pruning's and GaP's pruning step.
    /// </summary>
    internal static void PruneTo(TrainingContext context, SparseLinear layer, int index, long keep)
    {
        var weights = layer.Weights;
        var drops = weights.NonZeroCount - keep;
        if (drops <= 0)
        {
            return;
        }

        using var flags = new ScratchArray<bool>((int)weights.NonZeroCount);
        flags.Span.Clear();

        // drops / nnz, rounded to the nearest count by the pruner: exactly `drops` of them.
        var dropped = new MagnitudePruner(separateSigns: false).SelectDrops(layer, (double)drops / weights.NonZeroCount, null, flags.Span);
        layer.Rewire(ConnectionMap.Keep(weights, flags.Span), context.Optimizer);
        context.History.TopologyChanges.Add(TopologyEvolver.Describe(layer, index, dropped, 0) with { Epoch = context.Epoch, Step = context.Step });
    }
}
