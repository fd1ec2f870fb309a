using System.Numerics.Tensors;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// EarlyCroP (Rachwan et al., "Winning the lottery ahead of time: efficient early network pruning", ICML 2022): from a
/// denser start, the network is pruned early in training, after <see cref="PruneEpochs"/> epochs, by CroP's
/// gradient-flow score <c>|w ⊙ H g|</c> (GraSP's Hessian-gradient product, taken absolute as the reference's CroP does),
/// over all layers together, in steps that each halve the distance to the run's connection count, rescoring what is left
/// before each (the reference's unstructured schedule: sparsity <c>s_f - (s_f - 1/2) / 2^i</c> for i = 0..100, then
/// <c>s_f</c>; here <c>c_f + (c_0 - c_f) / 2^(i+1)</c> connections from a start of <c>c_0</c>, which from a dense start
/// differs from the reference's by less than half the target count, and ends when the halving reaches a single
/// connection), and trains sparse from there. The many small steps keep a layer from collapsing: one or a few large
/// steps over all layers together can empty a layer whose scores are all small, such as a first layer fed mostly by
/// noise inputs. Truly sparse: the gradient <c>g</c> and the product <c>H g</c> are taken at the stored connections alone
/// (the reference masks both), <c>H g</c> by a central difference of two gradients, <c>(∇L(w + εg) - ∇L(w - εg)) / 2ε</c>,
/// over the same <see cref="Batches"/> batches of training rows where the reference differentiates twice; three
/// gradient-sized arrays per layer, nothing dense.
/// </summary>
/// <param name="pruneEpochs">Epochs trained before the pruning.</param>
/// <param name="steps">The most halving steps, each rescoring what is left (the reference's 100); the last step prunes to
/// the target.</param>
/// <param name="batches">Batches of training rows the scores are summed over.</param>
public sealed class EarlyCropHook(int pruneEpochs, int steps = 100, int batches = 4) : ITrainingHook, IResumableState
{
    private Func<SparseNetwork, long>? _target;
    private long _fixedTarget = -1;

    /// <summary>A hook that prunes to <paramref name="target"/> connections in all.</summary>
    public EarlyCropHook(long target, int pruneEpochs, int steps = 100, int batches = 4)
        : this(pruneEpochs, steps, batches) => _fixedTarget = target >= 0 ? target : throw new ArgumentOutOfRangeException(nameof(target), target, "The target is a count of connections.");

    /// <summary>A hook whose target is known from the network it trains (the recipe's densities of its layers).</summary>
    internal EarlyCropHook(Func<SparseNetwork, long> target, int pruneEpochs, int steps = 100, int batches = 4)
        : this(pruneEpochs, steps, batches) => _target = target;

    /// <summary>Epochs trained before the pruning.</summary>
    public int PruneEpochs { get; } = pruneEpochs >= 1 ? pruneEpochs : throw new ArgumentOutOfRangeException(nameof(pruneEpochs), pruneEpochs, "At least one epoch trains first.");

    /// <summary>The most halving steps before the last, which prunes to the target.</summary>
    public int Steps { get; } = steps >= 1 ? steps : throw new ArgumentOutOfRangeException(nameof(steps), steps, "At least one step.");

    /// <summary>Batches the scores are summed over.</summary>
    public int Batches { get; } = batches >= 1 ? batches : throw new ArgumentOutOfRangeException(nameof(batches), batches, "At least one batch.");

    /// <summary>Whether the pruning has happened.</summary>
    public bool Pruned { get; private set; }

    /// <inheritdoc/>
    public long RewiringBytesPerConnection(int optimizerSlots) => NeuronImportancePruner.ScratchBytesPerConnection(optimizerSlots) + 12;

    /// <summary>Never: it takes its own gradients.</summary>
    public bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context) => false;

    /// <inheritdoc/>
    public void OnStepEnd(TrainingContext context)
    {
    }

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Pruned || context.Epoch + 1 != PruneEpochs || context.TrainingData is not { Count: > 0 } data)
        {
            return;
        }

        var network = context.Network;
        var target = _target?.Invoke(network) ?? _fixedTarget;
        var start = network.ConnectionCount;
        if (target > start)
        {
            throw new InvalidOperationException($"EarlyCroP cannot prune {start:N0} connections to {target:N0}.");
        }

        var batchSize = Math.Clamp(network.LastBatchSize, 1, data.Count);
        var loader = new BatchLoader(data, batchSize, network.Normalization, shuffle: true, RandomStreams.Derive(context.Seed, RandomPurpose.Sample, (ulong)context.Step));
        var gradient = new float[network.OutputSize * batchSize];
        foreach (var keep in StepCounts(start, target, Steps))
        {
            PruneTo(context, loader, gradient, keep);
        }

        Pruned = true;
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Pruned);
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Pruned = reader.ReadBoolean();
    }

    /// <summary>
    /// The connection counts the pruning steps keep from <paramref name="start"/> down to <paramref name="target"/>: each
    /// halves the distance left, <c>target + (start - target) / 2^(i+1)</c>, for at most <paramref name="steps"/> steps and
    /// while a step still drops a connection; the last is the target.
    /// </summary>
    public static IEnumerable<long> StepCounts(long start, long target, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        ArgumentOutOfRangeException.ThrowIfLessThan(start, target);
        return Halvings(start, target, steps);
    }

    private static IEnumerable<long> Halvings(long start, long target, int steps)
    {
        var previous = start;
        for (var i = 0; i < steps && i < 62; i++)
        {
            var keep = target + ((start - target) >> (i + 1));
            if (keep == target)
            {
                break;
            }

            if (keep < previous)
            {
                yield return keep;
                previous = keep;
            }
        }

        if (target < previous)
        {
            yield return target;
        }
    }

    // One step: score every stored connection by |w (H g)|, drop the lowest over all layers down to `keep`.
    private void PruneTo(TrainingContext context, BatchLoader loader, float[] outputGradient, long keep)
    {
        var layers = context.Network.SparseLayers.ToArray();
        var total = layers.Sum(l => l.Weights.NonZeroCount);
        if (keep >= total)
        {
            return;
        }

        if (Scores(context.Network, context.Loss, loader, Batches, outputGradient) is not { } perLayer)
        {
            return; // no gradient flows: nothing to rank by
        }

        // The lowest over all layers side by side go, ties by position.
        var drop = MagnitudePruner.MarkSmallestAcross([.. perLayer.Select(s => (long)s.Length)], (keys, l) => perLayer[l].CopyTo(keys), keep);
        long at = 0;
        for (var l = 0; l < layers.Length; l++)
        {
            var nnz = (int)layers[l].Weights.NonZeroCount;
            var flags = drop.AsSpan((int)at, nnz);
            var dropped = 0;
            foreach (var f in flags)
            {
                dropped += f ? 1 : 0;
            }

            if (dropped > 0)
            {
                layers[l].Rewire(ConnectionMap.Keep(layers[l].Weights, flags), context.Optimizer);
                context.History.TopologyChanges.Add(TopologyEvolver.Describe(layers[l], l, dropped, 0) with { Epoch = context.Epoch, Step = context.Step });
            }

            at += nnz;
        }
    }

    /// <summary>
    /// CroP's score of every stored connection, layer by layer: <c>|w (H g)|</c>, with <c>g</c> the weight gradient summed
    /// over the first <paramref name="batches"/> batches of <paramref name="loader"/> and <c>H g</c> the central difference
    /// of that gradient along <c>g</c>, a step of a thousandth of the weights' root mean square over the gradient's each
    /// way; the weights are left as they were. Null when the gradient is zero.
    /// </summary>
    internal static float[][]? Scores(SparseNetwork network, ILoss loss, BatchLoader loader, int batches, float[] outputGradient)
    {
        var layers = network.SparseLayers.ToArray();
        var g = layers.Select(l => new float[l.Weights.NonZeroCount]).ToArray();
        var plus = layers.Select(l => new float[l.Weights.NonZeroCount]).ToArray();
        var minus = layers.Select(l => new float[l.Weights.NonZeroCount]).ToArray();
        Gradients(network, loss, loader, batches, outputGradient, g);
        var weightSquares = layers.Sum(l => (double)TensorPrimitives.Dot(l.Weights.Values, l.Weights.Values));
        var gradientSquares = g.Sum(x => (double)TensorPrimitives.Dot(x, x));
        if (gradientSquares == 0)
        {
            return null;
        }

        var epsilon = (float)(1e-3 * Math.Sqrt(weightSquares / gradientSquares));
        Shift(layers, g, epsilon);
        Gradients(network, loss, loader, batches, outputGradient, plus);
        Shift(layers, g, -2 * epsilon);
        Gradients(network, loss, loader, batches, outputGradient, minus);
        Shift(layers, g, epsilon);
        for (var l = 0; l < layers.Length; l++)
        {
            var w = layers[l].Weights.Values;
            for (var k = 0; k < w.Length; k++)
            {
                g[l][k] = MathF.Abs(w[k] * (plus[l][k] - minus[l][k]) / (2 * epsilon));
            }
        }

        return g;
    }

    // The weight gradients summed over the first `batches` batches of the loader's (seeded) order, in inference mode.
    private static void Gradients(SparseNetwork network, ILoss loss, BatchLoader loader, int batches, float[] outputGradient, float[][] sums)
    {
        var layers = network.SparseLayers.ToArray();
        foreach (var sum in sums)
        {
            Array.Clear(sum);
        }

        loader.StartEpoch(0);
        for (var b = 0; b < batches && loader.Next(); b++)
        {
            var batch = loader.Batch;
            var output = network.Forward(batch, training: false);
            loss.Compute(output, batch, outputGradient.AsSpan(0, output.Length), network.Compute);
            network.Backward(outputGradient.AsSpan(0, output.Length));
            for (var l = 0; l < layers.Length; l++)
            {
                TensorPrimitives.Add(sums[l], layers[l].WeightParameter.Gradient, sums[l]);
            }
        }
    }

    private static void Shift(SparseLinear[] layers, float[][] direction, float step)
    {
        for (var l = 0; l < layers.Length; l++)
        {
            TensorPrimitives.MultiplyAdd(direction[l], step, layers[l].Weights.Values, layers[l].Weights.Values);
        }
    }
}
