using System.Diagnostics;
using Sparse.Core;

namespace Sparse.Bench;

/// <summary>
/// <c>quick</c>: a fast stopwatch run of every kernel at every SIMD level, median of repeats, for
/// iterating on a kernel; BenchmarkDotNet gives the figures that count.
/// </summary>
internal static class QuickKernels
{
    /// <summary>Only kernels whose name contains this run (environment variable SPARSE_QUICK_ONLY).</summary>
    private static readonly string? Only = Environment.GetEnvironmentVariable("SPARSE_QUICK_ONLY");

    /// <summary>Only this SIMD level runs (environment variable SPARSE_QUICK_LEVEL).</summary>
    private static readonly string? Level = Environment.GetEnvironmentVariable("SPARSE_QUICK_LEVEL");

    public static void Run(string[] shapes)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("SPARSE_THREADS"), out var threads))
        {
            SparseParallel.MaxDegreeOfParallelism = threads;
        }

        foreach (var shape in shapes)
        {

            var w = KernelWorkload.Get(shape);

            var dense = w.Weights.Rows * (long)w.Weights.Columns <= 4_000_000 ? w.DenseWeights() : null;
            foreach (var level in Enum.GetValues<SimdLevel>().Where(l => l <= KernelDispatch.Best && (Level is null || l.ToString() == Level)))
            {
                KernelDispatch.Level = level;
                Report(shape, level, "Forward", w.Flops("Forward"), () => SparseOps.Multiply(w.Weights, w.X.Span, w.Bias, w.Y.Span, KernelWorkload.Batch));
                Report(shape, level, "InputGradient", w.Flops("Forward"), () => SparseOps.MultiplyTransposed(w.Weights, w.Dy.Span, w.Dx.Span, KernelWorkload.Batch));
                Report(shape, level, "WeightGradient", w.Flops("Forward"), () => SparseOps.WeightGradient(w.Weights, w.Dy.Span, w.X.Span, w.Dw, KernelWorkload.Batch));
                if (dense is not null)
                {
                    Report(shape, level, "DenseGemm", w.Flops("DenseGemm"), () => DenseGemm.Multiply(dense, w.X.Span, w.Y.Span, w.Weights.Rows, w.Weights.Columns, KernelWorkload.Batch));
                }
            }

            KernelDispatch.Level = KernelDispatch.Best;
        }
    }

    private static void Report(string shape, SimdLevel level, string name, double flops, Action call)
    {
        if (Only is not null && !name.Contains(Only, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        call();
        var times = new double[15];
        for (var r = 0; r < times.Length; r++)
        {
            var repeats = 0;
            var watch = Stopwatch.StartNew();
            do
            {
                call();
                repeats++;
            }
            while (watch.Elapsed.TotalMilliseconds < 20);
            times[r] = watch.Elapsed.TotalSeconds / repeats;
        }

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (var n = 0; n < 1000; n++)
        {
            call();
        }

        var allocatedPerCall = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / 1000.0;
        Array.Sort(times);
        var median = times[times.Length / 2];
        Console.WriteLine($"{shape,-16} {level,-10} {name,-15} {median * 1e6,10:F1} us {flops / median / 1e9,8:F1} GFLOP/s {allocatedPerCall,8:F1} B/call (all threads)");
    }
}
