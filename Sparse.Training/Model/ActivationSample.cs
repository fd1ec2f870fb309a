using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Each sparse layer's input and activation over many training rows, recorded by an inference pass (no dropout) of
/// the current network: what CTRE's cosine importance reads (Atashgahi et al.; the reference code scores the
/// similarity of two neurons over a whole pass of the training rows after each epoch). Feature-major like every
/// activation here: row <c>f</c> of a layer's input holds feature <c>f</c> for each of the <see cref="Rows"/> samples.
/// The output layer's activation is its softmax when the network is a classifier (<see cref="Record(SparseNetwork, Dataset, int, int, ulong, bool)"/>'s
/// <c>softmaxOutput</c>), as in the reference. Memory: <c>4 x Rows x (in + out)</c> bytes per sparse layer, never
/// weight-shaped; <see cref="RowsWithin"/> sizes the sample to a byte budget.
/// </summary>
public sealed class ActivationSample
{
    private readonly Dictionary<SparseLinear, LayerSignals> _layers;

    private ActivationSample(Dictionary<SparseLinear, LayerSignals> layers, int rows)
    {
        _layers = layers;
        Rows = rows;
    }

    /// <summary>The default byte budget of a sample: 256 MiB.</summary>
    public const long DefaultBytes = 256L << 20;

    /// <summary>Samples (columns of every recorded activation).</summary>
    public int Rows { get; }

    /// <summary>Bytes held: <c>4 x Rows x (in + out)</c> summed over the sparse layers.</summary>
    public long Bytes => _layers.Values.Sum(s => 4L * (s.Input.Length + s.Activation.Length));

    /// <summary>Bytes one row of a sample of <paramref name="network"/> takes: 4 x (in + out), summed over its sparse layers.</summary>
    public static long BytesPerRow(SparseNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return 4L * network.SparseLayers.Sum(l => (long)l.InputSize + l.OutputSize);
    }

    /// <summary>The rows of <paramref name="network"/>'s activations that fit in <paramref name="bytes"/>, at most <paramref name="available"/>.</summary>
    public static int RowsWithin(SparseNetwork network, long bytes, int available) =>
        (int)Math.Clamp(bytes / Math.Max(1, BytesPerRow(network)), Math.Min(1, available), available);

    /// <summary>
    /// The sample a training hook records before an evolution: of the rows being trained on
    /// (<see cref="TrainingContext.TrainingData"/>), as many as fit in <paramref name="bytes"/> and at most
    /// <paramref name="maxRows"/> when that is positive, the subset drawn from the run's <see cref="RandomPurpose.Sample"/>
    /// stream for the step (so every rank of a data-parallel run, holding the whole training set, draws the same), in batches of the last step's size (32 to
    /// 256). Null when the context has no training rows (a hook driven outside <see cref="Trainer.Fit"/>).
    /// </summary>
    public static ActivationSample? Record(TrainingContext context, long bytes, int maxRows, bool softmaxOutput)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.TrainingData is not { Count: > 0 } data)
        {
            return null;
        }

        var rows = RowsWithin(context.Network, bytes, data.Count);
        if (maxRows > 0)
        {
            rows = Math.Min(rows, maxRows);
        }

        return Record(context.Network, data, rows, Math.Clamp(context.Network.LastBatchSize, 32, 256),
            RandomStreams.Derive(context.Seed, RandomPurpose.Sample, (ulong)context.Step), softmaxOutput);
    }

    /// <summary>
    /// Runs <paramref name="network"/> in evaluation mode over <paramref name="rows"/> rows of <paramref name="data"/>
    /// (all of them when it holds no more; otherwise a subset drawn with <paramref name="seed"/>) in batches of
    /// <paramref name="batchSize"/>, and keeps each sparse layer's input and activation. The network's own buffers
    /// are overwritten, so a <see cref="SignalRecorder"/>'s step recording is stale afterwards.
    /// </summary>
    /// <param name="network">The network, with the normalization its training applies.</param>
    /// <param name="data">Training rows.</param>
    /// <param name="rows">How many to record (at least 1).</param>
    /// <param name="batchSize">Rows per forward pass.</param>
    /// <param name="seed">Chooses the subset when <paramref name="rows"/> is below the data's count.</param>
    /// <param name="softmaxOutput">Whether the last layer's activation is the softmax of its outputs over classes (a classifier).</param>
    public static ActivationSample Record(SparseNetwork network, Dataset data, int rows, int batchSize, ulong seed, bool softmaxOutput)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        rows = Math.Min(rows, data.Count);
        if (rows < data.Count)
        {
            // The subset in the data's own order, so the sample does not depend on how the subset was drawn beyond its set.
            var chosen = Dataset.Permutation(data.Count, seed).AsSpan(0, rows);
            chosen.Sort();
            data = data.Subset(chosen);
        }

        var sparse = network.SparseLayers.ToArray();
        var inputs = new float[sparse.Length][];
        var activations = new float[sparse.Length][];
        for (var n = 0; n < sparse.Length; n++)
        {
            inputs[n] = new float[(long)sparse[n].InputSize * rows];
            activations[n] = new float[(long)sparse[n].OutputSize * rows];
        }

        var indices = sparse.Select(network.IndexOf).ToArray();
        var loader = new BatchLoader(data, batchSize, network.Normalization, shuffle: false, seed: 0, network.Compute);
        var at = 0;
        while (loader.Next())
        {
            var size = loader.Batch.Size;
            network.Forward(loader.Batch, training: false);
            for (var n = 0; n < sparse.Length; n++)
            {
                var (input, activation) = network.ActivationsAround(indices[n], size);
                Scatter(input.Span, size, inputs[n], rows, at);
                Scatter(activation.Span, size, activations[n], rows, at);
            }

            at += size;
        }

        var last = sparse.Length - 1;
        if (softmaxOutput && last >= 0 && network.Layers[^1] == sparse[last])
        {
            Softmax(activations[last], rows);
        }

        var layers = new Dictionary<SparseLinear, LayerSignals>(ReferenceEqualityComparer.Instance);
        for (var n = 0; n < sparse.Length; n++)
        {
            layers[sparse[n]] = new LayerSignals(inputs[n], activations[n], ReadOnlyMemory<float>.Empty, rows);
        }

        return new ActivationSample(layers, rows);
    }

    /// <summary>The recorded input and activation of <paramref name="layer"/> (no output gradient), <see cref="LayerSignals.Batch"/> = <see cref="Rows"/>.</summary>
    /// <exception cref="ArgumentException">The layer was not part of the recorded network.</exception>
    public LayerSignals Of(SparseLinear layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return _layers.TryGetValue(layer, out var signals) ? signals : throw new ArgumentException("The layer is not part of the recorded network.", nameof(layer));
    }

    // A batch's (features, batch) block into columns [at, at + batch) of the (features, rows) sample.
    private static void Scatter(ReadOnlySpan<float> batchRows, int batch, float[] sample, int rows, int at)
    {
        var features = batchRows.Length / batch;
        for (var f = 0; f < features; f++)
        {
            batchRows.Slice(f * batch, batch).CopyTo(sample.AsSpan((int)((f * (long)rows) + at), batch));
        }
    }

    // Column-wise softmax of a feature-major (classes, rows) matrix, as the loss computes it (max subtracted).
    private static void Softmax(float[] outputs, int rows)
    {
        var classes = outputs.Length / rows;
        for (var r = 0; r < rows; r++)
        {
            var max = float.NegativeInfinity;
            for (var c = 0; c < classes; c++)
            {
                max = Math.Max(max, outputs[(c * rows) + r]);
            }

            var sum = 0f;
            for (var c = 0; c < classes; c++)
            {
                var e = MathF.Exp(outputs[(c * rows) + r] - max);
                outputs[(c * rows) + r] = e;
                sum += e;
            }

            for (var c = 0; c < classes; c++)
            {
                outputs[(c * rows) + r] /= sum;
            }
        }
    }
}
