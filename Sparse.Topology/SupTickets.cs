using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Sup-tickets' learning rate (Yin et al., "Superposing many tickets into one", UAI 2022; its reference code
/// luuyin/Sup-tickets): the run's own schedule over the first <see cref="PretrainEpochs"/> epochs, then cycles of
/// <see cref="CycleEpochs"/> epochs in which the rate moves step by step from the first phase's last rate (the cycle's
/// edge) to <see cref="MiddleFactor"/> times it at the cycle's middle and back by its end, where each ticket is taken (the
/// reference's <c>cyclic_learning_rate</c> as its commands run it: <c>--lr_1 0.001 --lr_2 0.005</c> after a step
/// schedule that ends at 0.001).
/// </summary>
/// <param name="pretrain">The schedule of the first phase, run over its own epochs.</param>
/// <param name="pretrainEpochs">Epochs before the cycles.</param>
/// <param name="cycleEpochs">Epochs per cycle.</param>
/// <param name="middleFactor">The rate at each cycle's middle over the rate at its edges.</param>
public sealed class SupTicketsSchedule(LearningRateSchedule pretrain, int pretrainEpochs, int cycleEpochs, float middleFactor = 5) : LearningRateSchedule
{
    /// <summary>Epochs before the cycles.</summary>
    public int PretrainEpochs { get; } = pretrainEpochs >= 1 ? pretrainEpochs : throw new ArgumentOutOfRangeException(nameof(pretrainEpochs), pretrainEpochs, "At least one epoch trains before the cycles.");

    /// <summary>Epochs per cycle.</summary>
    public int CycleEpochs { get; } = cycleEpochs >= 1 ? cycleEpochs : throw new ArgumentOutOfRangeException(nameof(cycleEpochs), cycleEpochs, "A cycle is at least one epoch.");

    /// <summary>The rate at each cycle's middle over the rate at its edges.</summary>
    public float MiddleFactor { get; } = middleFactor > 0 ? middleFactor : throw new ArgumentOutOfRangeException(nameof(middleFactor), middleFactor, "The factor is positive.");

    /// <inheritdoc/>
    public override bool ChangesWithinEpochs => true;

    /// <inheritdoc/>
    public override float RateAt(float baseRate, int epoch, int epochs) => RateAt(baseRate, epoch, epochs, 0, 1);

    /// <inheritdoc/>
    public override float RateAt(float baseRate, int epoch, int epochs, int batch, int batches)
    {
        if (epoch < PretrainEpochs)
        {
            return pretrain.RateAt(baseRate, epoch, PretrainEpochs);
        }

        // The edge is where the first phase ended (a hundredth of the base rate if that schedule ends at zero, the
        // reference's 0.001 of 0.1); t runs from 0 to 1 over a cycle, the middle rate at 1/2.
        var edge = pretrain.RateAt(baseRate, PretrainEpochs - 1, PretrainEpochs);
        edge = edge > 0 ? edge : baseRate / 100;
        var middle = edge * MiddleFactor;
        var t = (((epoch - PretrainEpochs) % CycleEpochs) + ((double)batch / Math.Max(1, batches))) / CycleEpochs;
        return (float)(t < 0.5 ? (edge * (1 - (2 * t))) + (middle * 2 * t) : (edge * ((2 * t) - 1)) + (middle * (2 - (2 * t))));
    }
}

/// <summary>
/// Sup-tickets' superposition (Yin et al. 2022), around any evolution method: the network at the end of the first phase
/// is the first ticket; at the end of each cycle (<see cref="SupTicketsSchedule"/>) the network is a new cheap ticket,
/// averaged into the superposition so far with weight 1/(k+1) after the k-th cycle (the reference's cumulative
/// "CAA" average: every ticket weighs the same), and the superposition is pruned back to the run's connection count by
/// global magnitude (the reference's top-k of |w| over all layers). Each cycle starts with one large rewiring of
/// <see cref="ExploreFraction"/> by the wrapped method's evolver (the reference's <c>--re_explore</c> with
/// <c>--large-death-rate 0.5</c>), and the topology is otherwise fixed during the cycles (<c>--no_maskupdates</c>; the
/// recipe ends the method's own schedule there: <see cref="EvolutionSchedule.Before"/>). The network trains on along
/// its own path; after the last cycle it takes the superposition's connections, weights and biases, and that is the
/// model the run ends with.
/// </summary>
/// <remarks>
/// Truly sparse: a superposition is a second copy of the connections (values and indices, no optimizer state), and an
/// average is a row-by-row merge of two sparse structures (at most twice the budget until it is pruned). Global
/// magnitude pruning moves connections between layers as the reference's does; the total stays the run's.
/// </remarks>
/// <param name="pretrainEpochs">Epochs before the cycles.</param>
/// <param name="cycleEpochs">Epochs per cycle.</param>
/// <param name="explorer">The wrapped method's evolution hook, which rewires at each cycle's start; null for a fixed topology.</param>
/// <param name="exploreFraction">The fraction that rewiring drops and regrows.</param>
public sealed class SupTicketsHook(int pretrainEpochs, int cycleEpochs, EvolutionHook? explorer = null, double exploreFraction = 0.5) : ITrainingHook, IResumableState
{
    private CsrMatrix[]? _weights;
    private float[][]? _biases;

    /// <summary>Epochs before the cycles.</summary>
    public int PretrainEpochs { get; } = pretrainEpochs >= 1 ? pretrainEpochs : throw new ArgumentOutOfRangeException(nameof(pretrainEpochs), pretrainEpochs, "At least one epoch trains before the cycles.");

    /// <summary>Epochs per cycle.</summary>
    public int CycleEpochs { get; } = cycleEpochs >= 1 ? cycleEpochs : throw new ArgumentOutOfRangeException(nameof(cycleEpochs), cycleEpochs, "A cycle is at least one epoch.");

    /// <summary>The fraction each cycle's first rewiring drops and regrows.</summary>
    public double ExploreFraction { get; } = exploreFraction is > 0 and < 1 ? exploreFraction : throw new ArgumentOutOfRangeException(nameof(exploreFraction), exploreFraction, "The fraction is in (0, 1).");

    /// <summary>The wrapped method's evolution hook, or null.</summary>
    public EvolutionHook? Explorer { get; } = explorer;

    /// <inheritdoc/>
    public SignalKinds Signals => Explorer?.Signals ?? SignalKinds.None;

    /// <summary>Tickets superposed so far (the first phase's network counts as the first).</summary>
    public int Tickets { get; private set; }

    /// <summary>The superposition so far, layer by layer, or null before the first phase ends.</summary>
    public IReadOnlyList<CsrMatrix>? Superposition => _weights;

    /// <inheritdoc/>
    public long RewiringBytesPerConnection(int optimizerSlots) => Math.Max(32 + (4L * optimizerSlots), Explorer?.RewiringBytesPerConnection(optimizerSlots) ?? 0);

    /// <summary>The last step of an epoch after which a cycle starts, when the wrapped method reads the step.</summary>
    public bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Explorer is not null && endsEpoch && StartsCycle(context.Epoch + 1, context.Epochs);
    }

    // Whether a cycle starts after `done` epochs of `epochs`: at the first phase's end and each cycle's but the last.
    private bool StartsCycle(int done, int epochs) => done >= PretrainEpochs && done < epochs && (done - PretrainEpochs) % CycleEpochs == 0;

    /// <inheritdoc/>
    public void OnStepEnd(TrainingContext context)
    {
    }

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var layers = context.Network.SparseLayers.ToArray();
        var epoch = context.Epoch + 1; // epochs done
        if (epoch == PretrainEpochs)
        {
            _weights = [.. layers.Select(l => Copy(l.Weights))];
            _biases = [.. layers.Select(l => (float[])l.Bias.Clone())];
            Tickets = 1;
            Explore(context);
            return;
        }

        if (epoch < PretrainEpochs || (epoch - PretrainEpochs) % CycleEpochs != 0 || _weights is null)
        {
            return;
        }

        // The k-th cycle's ticket weighs 1/(k+1): the average of the first phase's network and every ticket so far.
        var weight = 1f / (Tickets + 1);
        var budget = layers.Sum(l => l.Weights.NonZeroCount);
        for (var l = 0; l < layers.Length; l++)
        {
            _weights[l] = Average(_weights[l], layers[l].Weights, weight);
            var bias = _biases![l];
            for (var j = 0; j < bias.Length; j++)
            {
                bias[j] = ((1 - weight) * bias[j]) + (weight * layers[l].Bias[j]);
            }
        }

        _weights = PruneGlobally(_weights, budget);
        Tickets++;
        if (epoch == context.Epochs)
        {
            Install(layers, context.Optimizer);
        }
        else
        {
            Explore(context);
        }
    }

    // The next cycle's start: one large rewiring by the wrapped method.
    private void Explore(TrainingContext context)
    {
        if (Explorer is not null && StartsCycle(context.Epoch + 1, context.Epochs))
        {
            Explorer.EvolveNow(context, ExploreFraction);
        }
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Tickets);
        writer.Write(_weights?.Length ?? -1);
        for (var l = 0; l < (_weights?.Length ?? 0); l++)
        {
            var w = _weights![l];
            writer.Write(w.Rows);
            writer.Write(w.Columns);
            writer.Write(w.ColumnIndices.Length);
            foreach (var p in w.RowPointers)
            {
                writer.Write(p);
            }

            foreach (var c in w.ColumnIndices)
            {
                writer.Write(c);
            }

            foreach (var v in w.Values)
            {
                writer.Write(v);
            }

            writer.Write(_biases![l].Length);
            foreach (var b in _biases[l])
            {
                writer.Write(b);
            }
        }
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Tickets = reader.ReadInt32();
        var layers = reader.ReadInt32();
        if (layers < 0)
        {
            (_weights, _biases) = (null, null);
            return;
        }

        _weights = new CsrMatrix[layers];
        _biases = new float[layers][];
        for (var l = 0; l < layers; l++)
        {
            int rows = reader.ReadInt32(), columns = reader.ReadInt32(), count = reader.ReadInt32();
            if (rows < 0 || columns < 0 || count < 0)
            {
                throw new InvalidDataException($"the superposition's layer {l} has a negative size");
            }

            var pointers = new long[rows + 1];
            for (var r = 0; r <= rows; r++)
            {
                pointers[r] = reader.ReadInt64();
            }

            var indices = new int[count];
            for (var k = 0; k < count; k++)
            {
                indices[k] = reader.ReadInt32();
            }

            var values = new float[count];
            for (var k = 0; k < count; k++)
            {
                values[k] = reader.ReadSingle();
            }

            _weights[l] = new CsrMatrix(rows, columns, pointers, indices, values);
            _biases[l] = new float[reader.ReadInt32()];
            for (var j = 0; j < _biases[l].Length; j++)
            {
                _biases[l][j] = reader.ReadSingle();
            }
        }
    }

    /// <summary>
    /// <c>(1 - weight) a + weight b</c> of two sparse matrices of one shape, on the union of their structures (a
    /// connection missing from one counts as 0 there), merged row by row.
    /// </summary>
    internal static CsrMatrix Average(CsrMatrix a, CsrMatrix b, float weight)
    {
        var pointers = new long[a.Rows + 1];
        var columns = new List<int>((int)Math.Max(a.NonZeroCount, b.NonZeroCount));
        var values = new List<float>(columns.Capacity);
        for (var row = 0; row < a.Rows; row++)
        {
            long i = a.RowPointers[row], iEnd = a.RowPointers[row + 1], j = b.RowPointers[row], jEnd = b.RowPointers[row + 1];
            while (i < iEnd || j < jEnd)
            {
                var ca = i < iEnd ? a.ColumnIndices[i] : int.MaxValue;
                var cb = j < jEnd ? b.ColumnIndices[j] : int.MaxValue;
                var column = Math.Min(ca, cb);
                var value = (ca == column ? (1 - weight) * a.Values[i++] : 0f) + (cb == column ? weight * b.Values[j++] : 0f);
                columns.Add(column);
                values.Add(value);
            }

            pointers[row + 1] = columns.Count;
        }

        return new CsrMatrix(a.Rows, a.Columns, pointers, [.. columns], [.. values]);
    }

    /// <summary>
    /// Keeps the <paramref name="budget"/> connections of largest |w| over all <paramref name="layers"/> together (ties
    /// to the earlier layer and position), as the reference's global top-k does; exactly that many are kept.
    /// </summary>
    internal static CsrMatrix[] PruneGlobally(CsrMatrix[] layers, long budget)
    {
        var total = layers.Sum(l => l.NonZeroCount);
        if (total <= budget)
        {
            return layers;
        }

        // |w| of every layer side by side: the smallest total - budget of them go, ties by position.
        var drop = MagnitudePruner.MarkSmallestAcross([.. layers.Select(l => l.NonZeroCount)],
            (keys, l) => System.Numerics.Tensors.TensorPrimitives.Abs(layers[l].Values, keys), budget);
        var result = new CsrMatrix[layers.Length];
        long at = 0;
        for (var l = 0; l < layers.Length; l++)
        {
            var map = ConnectionMap.Keep(layers[l], drop.AsSpan((int)at, (int)layers[l].NonZeroCount));
            result[l] = new CsrMatrix(layers[l].Rows, layers[l].Columns, map.RowPointers, map.ColumnIndices, map.Values);
            at += layers[l].NonZeroCount;
        }

        return result;
    }

    // The network takes the superposition: its structure, weights and biases; a connection it had keeps its optimizer state.
    private void Install(SparseLinear[] layers, Optimizer optimizer)
    {
        for (var l = 0; l < layers.Length; l++)
        {
            var target = _weights![l];
            var current = layers[l].Weights;
            var source = new int[target.NonZeroCount];
            for (var row = 0; row < target.Rows; row++)
            {
                var from = (int)current.RowPointers[row];
                var columns = current.ColumnIndices.AsSpan(from, (int)current.RowPointers[row + 1] - from);
                for (var k = (int)target.RowPointers[row]; k < target.RowPointers[row + 1]; k++)
                {
                    var found = columns.BinarySearch(target.ColumnIndices[k]);
                    source[k] = found >= 0 ? from + found : -1;
                }
            }

            layers[l].Rewire(new ConnectionMap((long[])target.RowPointers.Clone(), (int[])target.ColumnIndices.Clone(), (float[])target.Values.Clone(), source), optimizer);
            _biases![l].CopyTo(layers[l].Bias, 0);
        }
    }

    private static CsrMatrix Copy(CsrMatrix m) =>
        new(m.Rows, m.Columns, (long[])m.RowPointers.Clone(), (int[])m.ColumnIndices.Clone(), (float[])m.Values.Clone());
}
