using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sparse.Bench;

/// <summary>
/// <c>memory [MiB]</c>: what the memory system allows, measured the way the kernels touch it, on all cores. Streaming
/// read bandwidth (a sum over the buffer), and random gathers of 128-byte rows (a 1M-wide layer's activation row at
/// batch 32) over the same buffer: plain, with a software prefetch 16 rows ahead, and 64-byte rows (the same row in
/// bfloat16) prefetched; each again with the buffer in transparent huge pages. These are the bounds a wide layer's kernels are measured against in docs/performance.md.
/// </summary>
internal static unsafe class MemoryProbe
{
    private const int RowFloats = 32;
    private const int Distance = 16;

    public static void Run(int mebibytes)
    {
        var floats = (int)Math.Min((long)mebibytes << 18, int.MaxValue - 1024);
        var rows = floats / RowFloats;
        var order = new int[16 << 20];
        var random = new SparseRandom(5);
        for (var k = 0; k < order.Length; k++)
        {
            order[k] = random.NextInt(rows);
        }

        Console.WriteLine($"buffer {(long)floats * 4 >> 20} MiB, {rows:N0} rows of 128 B, {Environment.ProcessorCount} threads, {order.Length:N0} gathers per pass; best of 3 passes");
        foreach (var huge in new[] { false, true })
        {
            var buffer = AlignedMemory.Allocate(floats, hugePages: huge);
            var span = buffer.Span;
            for (var k = 0; k < span.Length; k += 1024)
            {
                span[k] = 1;
            }

            fixed (float* x = span)
            fixed (int* indices = order)
            {
                var bytes = (long)floats * sizeof(float);
                nint data = (nint)x, rowsToGather = (nint)indices; // fixed locals cannot enter the lambdas
                var stream = Best(() => Stream((float*)data, floats));
                var plain = Best(() => Gather((float*)data, (int*)rowsToGather, order.Length, prefetch: false));
                var ahead = Best(() => Gather((float*)data, (int*)rowsToGather, order.Length, prefetch: true));
                var half = Best(() => GatherHalfRows((float*)data, (int*)rowsToGather, order.Length));
                var pages = huge ? "huge pages" : "4 KiB pages";
                Console.WriteLine($"{pages,-12} streaming read {bytes / stream / 1e9:F1} GB/s; gathers {order.Length / plain / 1e6:F0}M rows/s plain, {order.Length / ahead / 1e6:F0}M rows/s prefetching {Distance} ahead, {order.Length / half / 1e6:F0}M rows/s of 64 B prefetching");
            }
        }
    }

    private static double Best(Func<double> pass) => Enumerable.Range(0, 3).Min(_ => pass());

    // Seconds to sum the buffer, split across the cores.
    private static double Stream(float* pointer, int floats)
    {
        var x = (nint)pointer;
        return OnAllCores(floats, (first, last) =>
        {
            var sum = Vector256<float>.Zero;
            for (var k = first; k + 8 <= last; k += 8)
            {
                sum += Vector256.Load((float*)x + k);
            }

            return Vector256.Sum(sum);
        });
    }

    // Seconds to gather (and sum) the rows named by indices, split across the cores.
    internal static double Gather(float* data, int* rowIndices, int count, bool prefetch)
    {
        nint x = (nint)data, indices = (nint)rowIndices;
        return OnAllCores(count, (first, last) =>
        {
            var sum = Vector256<float>.Zero;
            for (var k = first; k < last; k++)
            {
                if (prefetch && Sse.IsSupported)
                {
                    var ahead = (float*)x + ((long)((int*)indices)[Math.Min(k + Distance, last - 1)] * RowFloats);
                    Sse.Prefetch0(ahead);
                    Sse.Prefetch0(ahead + 16);
                }

                var row = (float*)x + ((long)((int*)indices)[k] * RowFloats);
                sum += Vector256.Load(row) + Vector256.Load(row + 8) + Vector256.Load(row + 16) + Vector256.Load(row + 24);
            }

            return Vector256.Sum(sum);
        });
    }

    // Seconds to gather (and sum) 64-byte rows (a row of 32 bfloat16 values) at the same random places, prefetching.
    internal static double GatherHalfRows(float* data, int* rowIndices, int count)
    {
        nint x = (nint)data, indices = (nint)rowIndices;
        return OnAllCores(count, (first, last) =>
        {
            var sum = Vector256<float>.Zero;
            for (var k = first; k < last; k++)
            {
                if (Sse.IsSupported)
                {
                    Sse.Prefetch0((float*)x + ((long)((int*)indices)[Math.Min(k + Distance, last - 1)] * RowFloats));
                }

                var row = (float*)x + ((long)((int*)indices)[k] * RowFloats);
                sum += Vector256.Load(row) + Vector256.Load(row + 8);
            }

            return Vector256.Sum(sum);
        });
    }

    // Seconds for one share of [0, count) per core, each summing its share; the sums are kept so no load is elided.
    private static double OnAllCores(long count, Func<long, long, float> share)
    {
        var threads = Environment.ProcessorCount;
        var sums = new float[threads];
        var watch = Stopwatch.StartNew();
        Parallel.For(0, threads, t => sums[t] = share(count * t / threads, count * (t + 1) / threads));
        var seconds = watch.Elapsed.TotalSeconds;
        GC.KeepAlive(sums);
        return seconds;
    }
}
