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
        var options = ComputeOptions.Default;
        if (int.TryParse(Environment.GetEnvironmentVariable("SPARSE_THREADS"), out var threads))
        {
            options = options with { Threads = threads };
        }

        if (long.TryParse(Environment.GetEnvironmentVariable("SPARSE_TILE_BYTES"), out var tileBytes))
        {
            options = options with { ColumnTileBytes = tileBytes };
        }

        if (long.TryParse(Environment.GetEnvironmentVariable("SPARSE_PREFETCH_ABOVE"), out var prefetchAbove))
        {
            options = options with { PrefetchAboveBytes = prefetchAbove };
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("SPARSE_FORCE_TILES"), out var forcedTiles))
        {
            options = options with { ForcedTiles = forcedTiles };
        }

        foreach (var shape in shapes)
        {

            var w = KernelWorkload.Get(shape);

            var dense = w.Weights.Rows * (long)w.Weights.Columns <= 4_000_000 ? w.DenseWeights() : null;
            foreach (var level in Enum.GetValues<SimdLevel>().Where(l => l <= ComputeOptions.BestSimd && (Level is null || l.ToString() == Level)))
            {
                var o = options with { Simd = level };
                Report(shape, level, "Forward", w.Flops("Forward"), () => SparseOps.Multiply(w.Weights, w.X.Span, w.Bias, w.Y.Span, w.Batch, o));
                Report(shape, level, "InputGradient", w.Flops("Forward"), () => SparseOps.MultiplyTransposed(w.Weights, w.Dy.Span, w.Dx.Span, w.Batch, o));
                Report(shape, level, "ForwardRelu", w.Flops("Forward"), () => SparseOps.MultiplyRelu(w.Weights, w.X.Span, w.Bias, w.Y.Span, w.Batch, o));
                Report(shape, level, "InputGradientGated", w.Flops("Forward"), () => SparseOps.MultiplyTransposedGated(w.Weights, w.Dy.Span, w.X.Span, w.Dx.Span, w.Batch, o));
                Report(shape, level, "WeightGradient", w.Flops("Forward"), () => SparseOps.WeightGradient(w.Weights, w.Dy.Span, w.X.Span, w.Dw, w.Batch, o));
                Report(shape, level, "ForwardBf16", w.Flops("Forward"), () => SparseOps.Multiply(w.Weights, w.XHalf.Span, w.Bias, w.Y.Span, w.Batch, o));
                Report(shape, level, "InputGradientBf16", w.Flops("Forward"), () => SparseOps.MultiplyTransposed(w.Weights, w.DyHalf.Span, w.Dx.Span, w.Batch, o));
                Report(shape, level, "WeightGradientBf16", w.Flops("Forward"), () => SparseOps.WeightGradient(w.Weights, w.Dy.Span, w.XHalf.Span, w.Dw, [], w.Batch, o));
                if (dense is not null)
                {
                    Report(shape, level, "DenseGemm", w.Flops("DenseGemm"), () => DenseGemm.Multiply(dense, w.X.Span, w.Y.Span, w.Weights.Rows, w.Weights.Columns, w.Batch, o));
                }
            }
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
            times[r] = SecondsPerCall(call);
        }

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var calls = 0;
        for (var watch = Stopwatch.StartNew(); calls < 1000 && watch.Elapsed.TotalMilliseconds < 300; calls++)
        {
            call();
        }

        var allocatedPerCall = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (double)calls;
        Array.Sort(times);
        var median = times[times.Length / 2];
        Console.WriteLine($"{shape,-16} {level,-10} {name,-18} {median * 1e6,10:F1} us {flops / median / 1e9,8:F1} GFLOP/s {allocatedPerCall,8:F1} B/call (all threads)");
    }

    /// <summary>Seconds a call of <paramref name="call"/> takes: as many calls as fill 20 ms, averaged.</summary>
    internal static double SecondsPerCall(Action call)
    {
        var repeats = 0;
        var watch = Stopwatch.StartNew();
        do
        {
            call();
            repeats++;
        }
        while (watch.Elapsed.TotalMilliseconds < 20);
        return watch.Elapsed.TotalSeconds / repeats;
    }
}
