using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Scheduled grow-and-prune, GaP (Ma et al., "Effective model sparsification by scheduled grow-and-prune methods",
/// ICLR 2022), cyclic: the sparse layers are split into <see cref="Partitions"/> groups of consecutive layers; one group at
/// a time is grown to <see cref="GrowDensity"/> (the paper grows it dense) with new connections at zero, trained for
/// <see cref="PhaseEpochs"/> epochs while the others stay at their counts, and pruned back to its counts by magnitude,
/// when the next group grows. The cycle runs until <see cref="EndFraction"/> of training; the rest trains at the run's
/// counts. Truly sparse: the grown group's connections are stored ones, positions drawn uniformly among the missing
/// (all of them at density 1), and the peak is the run's count plus one group's growth, which each epoch's connection
/// count in the run's history shows.
/// </summary>
/// <param name="partitions">Groups of consecutive sparse layers (at most the layer count).</param>
/// <param name="growDensity">The density a group grows to (1: dense).</param>
/// <param name="phaseEpochs">Epochs a group stays grown.</param>
/// <param name="seed">The stream the grown positions are drawn from.</param>
/// <param name="endFraction">The fraction of training after which no group grows.</param>
public sealed class GapHook(int partitions, double growDensity, int phaseEpochs, ulong seed, double endFraction = 0.75) : ITrainingHook, IResumableState
{
    private SparseRandom _random = new(seed);
    private long[]? _budgets;

    /// <summary>Groups of consecutive sparse layers.</summary>
    public int Partitions { get; } = partitions >= 1 ? partitions : throw new ArgumentOutOfRangeException(nameof(partitions), partitions, "At least one partition.");

    /// <summary>The density a group grows to.</summary>
    public double GrowDensity { get; } = growDensity is > 0 and <= 1 ? growDensity : throw new ArgumentOutOfRangeException(nameof(growDensity), growDensity, "The density is in (0, 1].");

    /// <summary>Epochs a group stays grown.</summary>
    public int PhaseEpochs { get; } = phaseEpochs >= 1 ? phaseEpochs : throw new ArgumentOutOfRangeException(nameof(phaseEpochs), phaseEpochs, "A phase is at least one epoch.");

    /// <summary>The fraction of training after which no group grows.</summary>
    public double EndFraction { get; } = endFraction is > 0 and <= 1 ? endFraction : throw new ArgumentOutOfRangeException(nameof(endFraction), endFraction, "The end is a fraction of training in (0, 1].");

    /// <summary>The group grown now, or -1.</summary>
    public int Grown { get; private set; } = -1;

    /// <summary>The most connections the network held at once.</summary>
    public long PeakConnections { get; private set; }

    /// <inheritdoc/>
    public long RewiringBytesPerConnection(int optimizerSlots) => NeuronImportancePruner.ScratchBytesPerConnection(optimizerSlots) + 20;

    /// <summary>Never: it prunes by magnitude and grows at random.</summary>
    public bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context) => false;

    /// <summary>Grows the first group before the first step's update is taken further: at the end of the run's first step.</summary>
    public void OnStepEnd(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_budgets is null)
        {
            var layers = context.Network.SparseLayers.ToArray();
            if (Partitions > layers.Length)
            {
                throw new InvalidOperationException($"GaP has {Partitions} partitions for {layers.Length} sparse layers.");
            }

            _budgets = [.. layers.Select(l => l.Weights.NonZeroCount)];
            PeakConnections = _budgets.Sum();
            Grow(context, 0);
        }
    }

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var done = context.Epoch + 1;
        if (_budgets is null || Grown < 0 || done % PhaseEpochs != 0)
        {
            return;
        }

        var next = (Grown + 1) % Partitions;
        Prune(context, Grown);
        if (done < EndFraction * context.Epochs)
        {
            Grow(context, next);
        }
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        RandomRegrower.WriteRandom(writer, _random);
        writer.Write(Grown);
        writer.Write(PeakConnections);
        writer.Write(_budgets?.Length ?? -1);
        foreach (var budget in _budgets ?? [])
        {
            writer.Write(budget);
        }
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _random = RandomRegrower.ReadRandom(reader);
        Grown = reader.ReadInt32();
        PeakConnections = reader.ReadInt64();
        var length = reader.ReadInt32();
        _budgets = length < 0 ? null : [.. Enumerable.Range(0, length).Select(_ => reader.ReadInt64())];
    }

    // The layers of group p: consecutive, the first groups one layer longer when they do not divide evenly.
    private (int First, int End) Group(int p, int layers) => ((int)((long)p * layers / Partitions), (int)((long)(p + 1) * layers / Partitions));

    private void Grow(TrainingContext context, int p)
    {
        var layers = context.Network.SparseLayers.ToArray();
        var (first, end) = Group(p, layers.Length);
        for (var l = first; l < end; l++)
        {
            var weights = layers[l].Weights;
            var target = Math.Max(weights.NonZeroCount, (long)Math.Round(GrowDensity * weights.Rows * weights.Columns));
            var count = (int)(target - weights.NonZeroCount);
            if (count <= 0)
            {
                continue;
            }

            // The kept part is the whole layer; the new connections start at zero, as the paper grows them.
            using var keep = new ScratchArray<bool>((int)weights.NonZeroCount);
            keep.Span.Clear();
            var kept = ConnectionMap.Keep(weights, keep.Span);
            var grown = new CooMatrix(weights.Rows, weights.Columns, count);
            RandomRegrower.GrowRandom(weights, count, ref _random, ValueDistribution.Constant(0), grown, exclude: null);
            layers[l].Rewire(kept, grown, context.Optimizer);
            context.History.TopologyChanges.Add(TopologyEvolver.Describe(layers[l], l, 0, count) with { Epoch = context.Epoch, Step = context.Step });
        }

        Grown = p;
        PeakConnections = Math.Max(PeakConnections, layers.Sum(l => l.Weights.NonZeroCount));
    }

    private void Prune(TrainingContext context, int p)
    {
        var layers = context.Network.SparseLayers.ToArray();
        var (first, end) = Group(p, layers.Length);
        for (var l = first; l < end; l++)
        {
            GradualPruningHook.PruneTo(context, layers[l], l, _budgets![l]);
        }

        Grown = -1;
    }
}
