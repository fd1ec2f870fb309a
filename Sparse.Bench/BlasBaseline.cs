using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Sparse.Bench;

/// <summary>
/// <c>dense-baseline</c>: the strongest dense opponent this machine has. W1 trained with dense weights on OpenBLAS
/// (Debian <c>libopenblas0-pthread</c>, the BLAS a CPU framework links): per layer one SGEMM forward, one for the
/// weight gradient and one for the input gradient with BLAS's own transposes, and a fused momentum update; the
/// masked variant adds the mask on gradient and weights, as dense-with-mask sparsity does. Prints each epoch
/// beside the GEMM bound (6 x dense weights x samples at the measured SGEMM rate) and the truly sparse epoch
/// measured in the same run.
/// </summary>
internal static unsafe partial class BlasBaseline
{
    private const string Library = "libopenblas.so.0";
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    public static int Run(int epochs)
    {
        try
        {
            NativeLibrary.Load(Library);
        }
        catch (DllNotFoundException)
        {
            Console.Error.WriteLine($"dense-baseline: {Library} is not installed; on Debian: apt-get install libopenblas0-pthread");
            return 2;
        }

        var gemm = GemmRate();
        Console.WriteLine($"OpenBLAS SGEMM 1000x1000x128: {gemm / 1e9:F1} GFLOP/s (best of 20 calls)");
        var denseWeights = W1.Sizes.Zip(W1.Sizes.Skip(1), (a, b) => (long)a * b).Sum();
        var bound = 6.0 * denseWeights * W1.Samples / gemm;
        var sparse = SparseEpoch(epochs);
        var dense = DenseEpoch(masked: false, epochs);
        var masked = DenseEpoch(masked: true, epochs);
        Console.WriteLine($"GEMM bound of a dense W1 epoch: 6 x {denseWeights:N0} weights x {W1.Samples:N0} samples = {6.0 * denseWeights * W1.Samples / 1e9:F0} GFLOP, {bound:F3} s");
        Console.WriteLine($"dense W1 epoch (OpenBLAS):          {dense:F3} s, {bound / dense:P0} of the SGEMM rate");
        Console.WriteLine($"dense W1 epoch with mask (OpenBLAS): {masked:F3} s, {bound / masked:P0} of the SGEMM rate");
        Console.WriteLine($"truly sparse W1 epoch:               {sparse:F3} s; {dense / sparse:F1}x faster than dense, {masked / sparse:F1}x than masked, {bound / sparse:F1}x than the GEMM bound");
        return 0;
    }

    private static double GemmRate()
    {
        const int M = 1000, K = 1000, N = 128;
        var a = Random(M * K, 1);
        var b = Random(K * N, 2);
        var c = new float[M * N];
        var best = double.MaxValue;
        fixed (float* pa = a, pb = b, pc = c)
        {
            for (var r = 0; r < 20; r++)
            {
                var start = Stopwatch.GetTimestamp();
                Sgemm(RowMajor, NoTrans, NoTrans, M, N, K, 1, pa, K, pb, N, 0, pc, N);
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }

        return 2.0 * M * K * N / best;
    }

    // The median epoch after the first, of the sparse network through the library's Trainer (SGD momentum, batch 128).
    private static double SparseEpoch(int epochs)
    {
        var network = W1.Network();
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.01f, momentum: 0.9f), new TrainerOptions { Epochs = epochs, BatchSize = W1.BatchSize });
        var history = trainer.Fit(W1.Data);
        return PerfCheck.Median([.. history.Epochs.Skip(1).Select(e => e.TrainSeconds)]);
    }

    private static double DenseEpoch(bool masked, int epochs)
    {
        var sizes = W1.Sizes;
        var layers = sizes.Length - 1;
        var sparse = W1.Network().SparseLayers.ToArray();
        var weights = new float[layers][];
        var masks = new float[layers][];
        var velocity = new float[layers][];
        var gradients = new float[layers][];
        var biases = new float[layers][];
        for (var l = 0; l < layers; l++)
        {
            (weights[l], masks[l]) = W1.DenseWithMask(sparse[l].Weights);
            velocity[l] = new float[weights[l].Length];
            gradients[l] = new float[weights[l].Length];
            biases[l] = new float[sparse[l].Weights.Rows];
        }

        var activations = sizes.Select(s => new float[s * W1.BatchSize]).ToArray();
        var deltas = sizes.Select(s => new float[s * W1.BatchSize]).ToArray();
        var loss = new SoftmaxCrossEntropy();
        var loader = new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: true, seed: 1);
        var seconds = new List<double>();
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            loader.StartEpoch(epoch);
            var start = Stopwatch.GetTimestamp();
            while (loader.Next())
            {
                Step(loader.Batch, sizes, weights, masked ? masks : null, velocity, gradients, biases, activations, deltas, loss, 0.01f, 0.9f);
            }

            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        return PerfCheck.Median([.. seconds.Skip(1)]);
    }

    private static void Step(Batch batch, int[] sizes, float[][] weights, float[][]? masks, float[][] velocity, float[][] gradients, float[][] biases,
        float[][] activations, float[][] deltas, SoftmaxCrossEntropy loss, float learningRate, float momentum)
    {
        var n = batch.Size;
        var layers = weights.Length;
        batch.Features.CopyTo(activations[0]);
        for (var l = 0; l < layers; l++)
        {
            int inputs = sizes[l], outputs = sizes[l + 1];
            fixed (float* w = weights[l], x = activations[l], y = activations[l + 1])
            {
                Sgemm(RowMajor, NoTrans, NoTrans, outputs, n, inputs, 1, w, inputs, x, n, 0, y, n);
            }

            for (var j = 0; j < outputs; j++)
            {
                var row = activations[l + 1].AsSpan(j * n, n);
                TensorPrimitives.Add(row, biases[l][j], row);
                if (l + 1 < layers)
                {
                    TensorPrimitives.Max(row, 0f, row);
                }
            }
        }

        loss.Compute(activations[layers].AsSpan(0, sizes[layers] * n), batch, deltas[layers]);
        for (var l = layers - 1; l >= 0; l--)
        {
            int inputs = sizes[l], outputs = sizes[l + 1];
            fixed (float* w = weights[l], x = activations[l], dy = deltas[l + 1], dw = gradients[l], dx = deltas[l])
            {
                // dW = dY X^T and dX = W^T dY, BLAS transposing in its packing.
                Sgemm(RowMajor, NoTrans, Trans, outputs, inputs, n, 1, dy, n, x, n, 0, dw, inputs);
                if (l > 0)
                {
                    Sgemm(RowMajor, Trans, NoTrans, inputs, n, outputs, 1, w, inputs, dy, n, 0, dx, n);
                }
            }

            for (var j = 0; j < outputs; j++)
            {
                biases[l][j] -= learningRate * TensorPrimitives.Sum(deltas[l + 1].AsSpan(j * n, n));
            }

            if (l > 0)
            {
                var dx = deltas[l].AsSpan(0, inputs * n);
                var a = activations[l].AsSpan(0, inputs * n);
                for (var k = 0; k < dx.Length; k++)
                {
                    dx[k] = a[k] > 0 ? dx[k] : 0;
                }
            }

            if (masks is not null)
            {
                TensorPrimitives.Multiply(gradients[l], masks[l], gradients[l]);
            }

            TensorPrimitives.MultiplyAdd(velocity[l], momentum, gradients[l], velocity[l]);
            TensorPrimitives.MultiplyAdd(velocity[l], -learningRate, weights[l], weights[l]);
            if (masks is not null)
            {
                TensorPrimitives.Multiply(weights[l], masks[l], weights[l]);
            }
        }
    }

    private static float[] Random(int length, ulong seed)
    {
        var random = new SparseRandom(seed);
        var values = new float[length];
        for (var k = 0; k < length; k++)
        {
            values[k] = (float)random.NextDouble();
        }

        return values;
    }

    [LibraryImport(Library, EntryPoint = "cblas_sgemm")]
    private static partial void Sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);
}
