namespace Sparse.Bench;

/// <summary>
/// Workload W1: 784-1000-1000-1000-10, ReLU, Erdos-Renyi epsilon 20, softmax cross-entropy, SGD momentum
/// 0.9 at 0.01, batch 128, 10,000 seeded samples of 784 uniform features in [0, 1) with labels 0..9.
/// </summary>
internal static class W1
{
    public const int Samples = 10_000;
    public const int BatchSize = 128;
    public static readonly int[] Sizes = [784, 1000, 1000, 1000, 10];

    private static readonly Lazy<Dataset> LazyData = new(() => UniformData(Samples, 784, 10, seed: 7));

    public static Dataset Data => LazyData.Value;

    /// <summary>
    /// A seeded classification set of <paramref name="samples"/> rows of uniform features in [0, 1) and uniform
    /// labels: what every bench workload trains on (features drawn first, then labels).
    /// </summary>
    public static Dataset UniformData(int samples, int featureCount, int classes, ulong seed)
    {
        var random = new SparseRandom(seed);
        var features = new float[(long)samples * featureCount];
        for (var k = 0; k < features.Length; k++)
        {
            features[k] = (float)random.NextDouble();
        }

        var labels = new int[samples];
        for (var n = 0; n < samples; n++)
        {
            labels[n] = random.NextInt(classes);
        }

        return Dataset.ForClassification(features, featureCount, labels, classes);
    }

    /// <summary>The dense (rows x columns) copy of <paramref name="w"/> and its 0/1 mask of stored entries: what masked-dense training holds.</summary>
    public static (float[] Weights, float[] Mask) DenseWithMask(CsrMatrix w)
    {
        var weights = new float[w.Rows * w.Columns];
        var mask = new float[w.Rows * w.Columns];
        for (var r = 0; r < w.Rows; r++)
        {
            for (var k = w.RowPointers[r]; k < w.RowPointers[r + 1]; k++)
            {
                weights[(r * w.Columns) + w.ColumnIndices[k]] = w.Values[k];
                mask[(r * w.Columns) + w.ColumnIndices[k]] = 1;
            }
        }

        return (weights, mask);
    }

    public static SparseNetwork Network(ulong seed = 1) => SparseNetwork.CreateMlp(Sizes, ActivationKind.Relu, epsilon: 20, seed: seed);

    /// <summary>One SGD step of <paramref name="network"/> on the loader's next batch (rewinding at the end), recording its signals into <paramref name="signals"/> when given.</summary>
    public static void Step(SparseNetwork network, BatchLoader loader, Optimizer optimizer, float[] gradient, ILoss loss, SignalRecorder? signals = null)
    {
        if (!loader.Next())
        {
            loader.StartEpoch(0);
            loader.Next();
        }

        var output = network.Forward(loader.Batch.Features, loader.Batch.Size, training: true);
        loss.Compute(output, loader.Batch, gradient);
        network.Backward(gradient, signals);
        optimizer.Step(network.Parameters);
    }
}

/// <summary>
/// The baseline everyone else runs: W1 with dense weight matrices and a binary mask applied to the
/// gradient and again to the weights after every update, on the best dense GEMM we have
/// (<see cref="DenseGemm"/>, 220 GFLOP/s here). Same layout, batch, optimizer and data as the sparse run.
/// </summary>
internal sealed class MaskedDenseW1
{
    private readonly float[][] _weights;
    private readonly float[][] _masks;
    private readonly float[][] _velocity;
    private readonly float[][] _gradients;
    private readonly float[][] _biases;
    private readonly float[][] _transposed;
    private readonly float[][] _activations;
    private readonly float[][] _deltas;
    private readonly float[] _inputTransposed;
    private readonly int[] _sizes;

    public MaskedDenseW1(SparseNetwork sparse)
    {
        var layers = sparse.SparseLayers.ToArray();
        _sizes = W1.Sizes;
        _weights = new float[layers.Length][];
        _masks = new float[layers.Length][];
        _velocity = new float[layers.Length][];
        _gradients = new float[layers.Length][];
        _biases = new float[layers.Length][];
        _transposed = new float[layers.Length][];
        for (var l = 0; l < layers.Length; l++)
        {
            var w = layers[l].Weights;
            (_weights[l], _masks[l]) = W1.DenseWithMask(w);
            _velocity[l] = new float[w.Rows * w.Columns];
            _gradients[l] = new float[w.Rows * w.Columns];
            _transposed[l] = new float[w.Rows * w.Columns];
            _biases[l] = new float[w.Rows];
        }

        _activations = [.. _sizes.Select(s => new float[s * W1.BatchSize])];
        _deltas = [.. _sizes.Select(s => new float[s * W1.BatchSize])];
        _inputTransposed = new float[_sizes.Max() * W1.BatchSize];
    }

    /// <summary>One training step on <paramref name="batch"/> (features (784, n), labels).</summary>
    public void Step(Batch batch, SoftmaxCrossEntropy loss, float learningRate, float momentum)
    {
        var n = batch.Size;
        var layers = _weights.Length;
        batch.Features.CopyTo(_activations[0]);
        for (var l = 0; l < layers; l++)
        {
            int inputs = _sizes[l], outputs = _sizes[l + 1];
            var y = _activations[l + 1].AsSpan(0, outputs * n);
            DenseGemm.Multiply(_weights[l], _activations[l].AsSpan(0, inputs * n), y, outputs, inputs, n);
            for (var j = 0; j < outputs; j++)
            {
                var row = y.Slice(j * n, n);
                System.Numerics.Tensors.TensorPrimitives.Add(row, _biases[l][j], row);
                if (l + 1 < layers)
                {
                    System.Numerics.Tensors.TensorPrimitives.Max(row, 0f, row);
                }
            }
        }

        loss.Compute(_activations[layers].AsSpan(0, 10 * n), batch, _deltas[layers]);
        for (var l = layers - 1; l >= 0; l--)
        {
            int inputs = _sizes[l], outputs = _sizes[l + 1];
            var dy = _deltas[l + 1].AsSpan(0, outputs * n);

            // dW = dY X^T (dense), masked: a GEMM with the batch as its inner dimension.
            Transpose(_activations[l].AsSpan(0, inputs * n), _inputTransposed, inputs, n);
            DenseGemm.Multiply(dy, _inputTransposed.AsSpan(0, n * inputs), _gradients[l], outputs, n, inputs);
            System.Numerics.Tensors.TensorPrimitives.Multiply(_gradients[l], _masks[l], _gradients[l]);
            for (var j = 0; j < outputs; j++)
            {
                _biases[l][j] -= learningRate * System.Numerics.Tensors.TensorPrimitives.Sum(dy.Slice(j * n, n));
            }

            if (l > 0)
            {
                // dX = W^T dY, then the ReLU derivative of the layer below.
                Transpose(_weights[l], _transposed[l], outputs, inputs);
                var dx = _deltas[l].AsSpan(0, inputs * n);
                DenseGemm.Multiply(_transposed[l], dy, dx, inputs, outputs, n);
                var a = _activations[l].AsSpan(0, inputs * n);
                for (var k = 0; k < dx.Length; k++)
                {
                    dx[k] = a[k] > 0 ? dx[k] : 0;
                }
            }

            // SGD with momentum on the dense arrays, then the mask again.
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(_velocity[l], momentum, _gradients[l], _velocity[l]);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(_velocity[l], -learningRate, _weights[l], _weights[l]);
            System.Numerics.Tensors.TensorPrimitives.Multiply(_weights[l], _masks[l], _weights[l]);
        }
    }

    private static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int columns)
    {
        const int Tile = 32;
        for (var r0 = 0; r0 < rows; r0 += Tile)
        {
            for (var c0 = 0; c0 < columns; c0 += Tile)
            {
                for (var r = r0; r < Math.Min(rows, r0 + Tile); r++)
                {
                    for (var c = c0; c < Math.Min(columns, c0 + Tile); c++)
                    {
                        destination[(c * rows) + r] = source[(r * columns) + c];
                    }
                }
            }
        }
    }
}
