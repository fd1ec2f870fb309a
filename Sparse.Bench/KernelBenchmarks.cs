using BenchmarkDotNet.Attributes;
using Sparse.Core;

namespace Sparse.Bench;

/// <summary>
/// The three training kernels of one sparse layer at Erdos-Renyi epsilon 20, batch 128, against a dense
/// GEMM of the same shape (the baseline). GFLOP/s counts 2 x nnz x batch for a sparse kernel and
/// 2 x out x in x batch for the dense one.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(KernelConfig))]
public class KernelBenchmarks
{
    private KernelWorkload _w = null!;
    private float[] _dense = null!;

    /// <summary>Layer shape as <c>in->out</c>.</summary>
    [Params("784->1000", "1000->1000")]
    public string Shape { get; set; } = "1000->1000";

    [GlobalSetup]
    public void Setup()
    {
        _w = KernelWorkload.Get(Shape);
        _dense = _w.DenseWeights();
    }

    [Benchmark(Baseline = true)]
    public float DenseGemm()
    {
        Bench.DenseGemm.Multiply(_dense, _w.X.Span, _w.Y.Span, _w.Weights.Rows, _w.Weights.Columns, KernelWorkload.Batch);
        return _w.Y.Span[0];
    }

    [Benchmark]
    public float Forward()
    {
        SparseOps.Multiply(_w.Weights, _w.X.Span, _w.Bias, _w.Y.Span, KernelWorkload.Batch);
        return _w.Y.Span[0];
    }

    [Benchmark]
    public float InputGradient()
    {
        SparseOps.MultiplyTransposed(_w.Weights, _w.Dy.Span, _w.Dx.Span, KernelWorkload.Batch);
        return _w.Dx.Span[0];
    }

    [Benchmark]
    public float WeightGradient()
    {
        SparseOps.WeightGradient(_w.Weights, _w.Dy.Span, _w.X.Span, _w.Dw, KernelWorkload.Batch);
        return _w.Dw[0];
    }
}

/// <summary>The kernels on a wide 100,000 -> 100,000 layer at epsilon 20 (4 million connections).</summary>
[MemoryDiagnoser]
[Config(typeof(KernelConfig))]
public class WideKernelBenchmarks
{
    private KernelWorkload _w = null!;

    /// <summary>Layer shape as <c>in->out</c>.</summary>
    [Params("100000->100000")]
    public string Shape { get; set; } = "100000->100000";

    [GlobalSetup]
    public void Setup() => _w = KernelWorkload.Get(Shape);

    [Benchmark(Baseline = true)]
    public float Forward()
    {
        SparseOps.Multiply(_w.Weights, _w.X.Span, _w.Bias, _w.Y.Span, KernelWorkload.Batch);
        return _w.Y.Span[0];
    }

    [Benchmark]
    public float InputGradient()
    {
        SparseOps.MultiplyTransposed(_w.Weights, _w.Dy.Span, _w.Dx.Span, KernelWorkload.Batch);
        return _w.Dx.Span[0];
    }

    [Benchmark]
    public float WeightGradient()
    {
        SparseOps.WeightGradient(_w.Weights, _w.Dy.Span, _w.X.Span, _w.Dw, KernelWorkload.Batch);
        return _w.Dw[0];
    }
}
