using BenchmarkDotNet.Attributes;

namespace Sparse.Bench;

/// <summary>
/// The three training kernels of one sparse layer at Erdos-Renyi epsilon 20, batch 128. GFLOP/s counts
/// 2 x nnz x batch for a sparse kernel and 2 x out x in x batch for the dense one.
/// </summary>
public abstract class SparseKernelBenchmarks
{
    /// <summary>The layer and its operands.</summary>
    private protected KernelWorkload W { get; private set; } = null!;

    /// <summary>Layer shape as <c>in->out</c>.</summary>
    public abstract string Shape { get; set; }

    /// <summary>The threads, SIMD level and tiling every call runs with.</summary>
    private protected ComputeOptions Options { get; set; } = ComputeOptions.Default;

    [GlobalSetup]
    public virtual void Setup() => W = KernelWorkload.Get(Shape);

    [Benchmark]
    public float Forward()
    {
        SparseOps.Multiply(W.Weights, W.X.Span, W.Bias, W.Y.Span, W.Batch, Options);
        return W.Y.Span[0];
    }

    /// <summary>The forward product with the ReLU applied as the sums are stored.</summary>
    [Benchmark]
    public float ForwardRelu()
    {
        SparseOps.MultiplyRelu(W.Weights, W.X.Span, W.Bias, W.Y.Span, W.Batch, Options);
        return W.Y.Span[0];
    }

    /// <summary>What <see cref="ForwardRelu"/> replaces: the product, then a separate ReLU pass over the output.</summary>
    [Benchmark]
    public float ForwardThenRelu()
    {
        SparseOps.Multiply(W.Weights, W.X.Span, W.Bias, W.Y.Span, W.Batch, Options);
        DenseOps.Max(W.Y.Span, 0f, W.Y.Span, Options);
        return W.Y.Span[0];
    }

    [Benchmark]
    public float InputGradient()
    {
        SparseOps.MultiplyTransposed(W.Weights, W.Dy.Span, W.Dx.Span, W.Batch, Options);
        return W.Dx.Span[0];
    }

    /// <summary>The input gradient through the ReLU that produced the input (X as the gate).</summary>
    [Benchmark]
    public float InputGradientGated()
    {
        SparseOps.MultiplyTransposedGated(W.Weights, W.Dy.Span, W.X.Span, W.Dx.Span, W.Batch, Options);
        return W.Dx.Span[0];
    }

    [Benchmark]
    public float WeightGradient()
    {
        SparseOps.WeightGradient(W.Weights, W.Dy.Span, W.X.Span, W.Dw, W.Batch, Options);
        return W.Dw[0];
    }
}

/// <summary>The kernels on 784->1000 and 1000->1000 against a dense GEMM of the same shape (the baseline).</summary>
[MemoryDiagnoser]
[Config(typeof(KernelConfig))]
public class KernelBenchmarks : SparseKernelBenchmarks
{
    private float[] _dense = null!;

    /// <inheritdoc/>
    [Params("784->1000", "1000->1000")]
    public override string Shape { get; set; } = "1000->1000";

    // The base's [GlobalSetup] dispatches here (BenchmarkDotNet allows one per class).
    public override void Setup()
    {
        base.Setup();
        _dense = W.DenseWeights();
    }

    [Benchmark(Baseline = true)]
    public float DenseGemm()
    {
        Bench.DenseGemm.Multiply(_dense, W.X.Span, W.Y.Span, W.Weights.Rows, W.Weights.Columns, W.Batch, Options);
        return W.Y.Span[0];
    }
}

/// <summary>
/// The kernels on a wide 100,000 -> 100,000 layer at epsilon 20 (4 million connections). No dense
/// baseline: its weights alone would be 40 GB; compare with the 1000 -> 1000 figures of the same run.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(KernelConfig))]
public class WideKernelBenchmarks : SparseKernelBenchmarks
{
    /// <inheritdoc/>
    [Params("100000->100000")]
    public override string Shape { get; set; } = "100000->100000";

    /// <summary>Column tile size: untiled (0) against the default 8 MiB tiles.</summary>
    [Params(0L, 8L << 20)]
    public long TileBytes { get; set; } = 8L << 20;

    // The base's [GlobalSetup] dispatches here (BenchmarkDotNet allows one per class).
    public override void Setup()
    {
        base.Setup();
        Options = new ComputeOptions { ColumnTileBytes = TileBytes };
    }
}
