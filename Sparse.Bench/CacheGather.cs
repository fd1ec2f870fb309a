using System.Runtime.Intrinsics;

namespace Sparse.Bench;

/// <summary>
/// <c>cache-gather [BATCH]</c>: the rate at which the cores can gather random rows of BATCH floats (default 128, a
/// 512-byte activation row) and fold them into accumulators with one FMA per vector, as the sparse kernels' inner loop
/// does (<c>RowKernels.GatherAxpy</c>: eight AVX2 accumulators over 64 floats of the row), from buffers sized for each
/// cache level: 16 KiB (L1), 256 KiB (L2), the 1000-wide layer's operand (1000 rows), 4 MiB and 64 MiB (L3) and
/// 1 GiB (memory). Prints gathered GB/s and the GFLOP/s that rate allows (2 flops per float), on all cores, best of 5
/// passes: with every block of the batch of every gather at random, and in rows of 40 gathers whose blocks are taken
/// in turn, as a kernel takes them; then the 1000 -> 1000 kernels (<c>quick</c>'s workload: forward, input gradient,
/// weight gradient) alternating with the probe on their operand's size, so each reads against the bound of its own
/// gathers. Without the index and value loads, the stores and the row ends of a
/// kernel, the probe is the most the gathers allow.
/// </summary>
internal static unsafe class CacheGather
{
    private const int Gathers = 1 << 22;

    // Entries of a row of the 1000 -> 1000 layer at epsilon 20 (40 on average): a kernel takes each 64-float block of
    // the batch over a row's entries in turn, so the blocks of a gathered row are read close together.
    private const int Entries = 40;

    public static void Run(int batch)
    {
        if (batch % 64 != 0)
        {
            throw new ArgumentException($"The batch must be a multiple of 64 floats; got {batch}.");
        }

        var rowBytes = batch * sizeof(float);
        var random = new SparseRandom(9);
        Console.WriteLine($"random gathers of {rowBytes}-byte rows, {Environment.ProcessorCount} threads, {Gathers:N0} a pass, best of 5 ({ComputeOptions.BestSimd})");
        foreach (var (label, bytes) in new (string, long)[] { ("16 KiB", 16 << 10), ("256 KiB", 256 << 10), ($"1000 rows ({1000L * rowBytes >> 10} KiB)", 1000L * rowBytes), ("4 MiB", 4 << 20), ("64 MiB", 64 << 20), ("1 GiB", 1L << 30) })
        {
            var rows = (int)(bytes / rowBytes);
            var order = new int[Gathers];
            for (var k = 0; k < order.Length; k++)
            {
                order[k] = random.NextInt(rows);
            }

            var buffer = AlignedMemory.Allocate((int)(rows * (long)batch), hugePages: true);
            buffer.Span.Fill(1);
            double seconds, grouped;
            fixed (float* x = buffer.Span)
            fixed (int* indices = order)
            {
                nint data = (nint)x, at = (nint)indices;
                seconds = Enumerable.Range(0, 5).Min(_ => Pass((float*)data, (int*)at, batch, Gathers));
                grouped = Enumerable.Range(0, 5).Min(_ => Pass((float*)data, (int*)at, batch, Entries));
            }

            var gathered = (double)Gathers * rowBytes;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label,-20} each block of every row at random: {gathered / seconds / 1e9,6:F1} GB/s {gathered / sizeof(float) * 2 / seconds / 1e9,5:F1} GFLOP/s; " +
                $"rows of {Entries} entries: {gathered / grouped / 1e9,6:F1} GB/s {gathered / sizeof(float) * 2 / grouped / 1e9,5:F1} GFLOP/s"));
        }

        // The kernel against the probe on its own operand's size, alternating so that both see the same load on a shared
        // host: the best of 15 of each.
        var w = KernelWorkload.Get("1000->1000");
        var options = ComputeOptions.Default;
        var operandRows = w.Weights.Columns;
        var operand = AlignedMemory.Allocate(operandRows * batch, hugePages: true);
        operand.Span.Fill(1);
        var gathers = new int[Gathers];
        for (var k = 0; k < gathers.Length; k++)
        {
            gathers[k] = random.NextInt(operandRows);
        }

        // Each kernel gathers a 512-byte row of its operand per entry: X for the forward product and the weight
        // gradient, dY for the input gradient (through the transposed view, rows of 40 entries as well).
        var kernels = new (string Name, Action Call)[]
        {
            ("forward", () => SparseOps.Multiply(w.Weights, w.X.Span, w.Bias, w.Y.Span, w.Batch, options)),
            ("input gradient", () => SparseOps.MultiplyTransposed(w.Weights, w.Dy.Span, w.Dx.Span, w.Batch, options)),
            ("weight gradient", () => SparseOps.WeightGradient(w.Weights, w.Dy.Span, w.X.Span, w.Dw, w.Batch, options)),
        };
        var best = new double[kernels.Length];
        Array.Fill(best, double.MaxValue);
        var probe = double.MaxValue;
        foreach (var kernel in kernels)
        {
            kernel.Call();
        }

        for (var r = 0; r < 15; r++)
        {
            for (var n = 0; n < kernels.Length; n++)
            {
                best[n] = Math.Min(best[n], QuickKernels.SecondsPerCall(kernels[n].Call));
            }

            fixed (float* x = operand.Span)
            fixed (int* indices = gathers)
            {
                probe = Math.Min(probe, Pass(x, indices, batch, Entries));
            }
        }

        var probeFlops = (double)Gathers * batch * 2 / probe / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"1000->1000, batch {w.Batch}, {w.Weights.NonZeroCount / (double)w.Weights.Rows:F1} entries a row, alternating with the probe over {operandRows} rows (best of 15 each): probe {probeFlops:F1} GFLOP/s"));
        for (var n = 0; n < kernels.Length; n++)
        {
            var flops = w.Flops("Forward") / best[n] / 1e9;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {kernels[n].Name,-16} {flops,5:F1} GFLOP/s, {flops / probeFlops,4:P0} of the probe"));
        }
    }

    // Seconds for one pass of the gathers, split across the cores, in rows of `entries` gathers: each core folds each
    // 64-float block of a row's gathers into eight accumulators, one FMA per vector, as GatherAxpy does; with one row
    // of all the gathers, each block is read over the whole pass at random.
    private static double Pass(float* data, int* indices, int batch, int entries)
    {
        nint x = (nint)data, at = (nint)indices;
        var threads = Environment.ProcessorCount;
        var sums = new float[threads];
        var watch = Stopwatch.StartNew();
        Parallel.For(0, threads, t =>
        {
            var (first, last) = ((long)Gathers * t / threads, (long)Gathers * (t + 1) / threads);
            var w = Vector256.Create(0.5f);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (var row = first; row < last; row += entries)
            {
                var end = Math.Min(last, row + entries);
                for (var b = 0; b < batch; b += 64)
                {
                    for (var k = row; k < end; k++)
                    {
                    var p = (float*)x + ((long)((int*)at)[k] * batch) + b;
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Load(p), w, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 8), w, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 16), w, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 24), w, a3);
                    a4 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 32), w, a4);
                    a5 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 40), w, a5);
                    a6 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 48), w, a6);
                    a7 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 56), w, a7);
                    }
                }
            }

            sums[t] = Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        });
        var seconds = watch.Elapsed.TotalSeconds;
        GC.KeepAlive(sums);
        return seconds;
    }
}
