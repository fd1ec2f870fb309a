using CommunityToolkit.HighPerformance.Helpers;

namespace Sparse.Bench;

/// <summary>
/// <c>dispatch [CHUNKS] [ENTRIES]</c>: what it costs to run one kernel call's chunks on the cores, by our
/// <see cref="SparseParallel"/> (long-lived workers, the action on the caller's stack), CommunityToolkit's
/// <see cref="ParallelHelper"/> (over Parallel.For) and Parallel.For itself: microseconds and bytes allocated per
/// call, for an AXPY over ENTRIES floats cut into CHUNKS chunks (the size of an optimizer step or a small kernel).
/// </summary>
internal static class Dispatch
{
    public static void Run(int chunks, int entries)
    {
        var x = new float[entries];
        var y = new float[entries];
        Array.Fill(x, 1f);
        var options = ComputeOptions.Default;
        var ours = new Axpy(x, y, chunks);
        var toolkit = new ToolkitAxpy(x, y, chunks);
        Console.WriteLine($"{chunks} chunks over {entries:N0} floats, {options.Threads} threads; per call: microseconds, bytes allocated");
        for (var round = 0; round < 3; round++)
        {
            var (a, aBytes) = Time(() => SparseParallel.Run(ref ours, chunks, options));
            var (b, bBytes) = Time(() => ParallelHelper.For(0, chunks, toolkit));
            var (c, cBytes) = Time(() => Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = options.Threads }, ours.Execute));
            var (d, _) = Time(() =>
            {
                for (var k = 0; k < chunks; k++)
                {
                    ours.Execute(k);
                }
            });
            Console.WriteLine($"SparseParallel.Run {a:F2} us {aBytes} B | ParallelHelper.For {b:F2} us {bBytes} B | Parallel.For {c:F2} us {cBytes} B | one thread {d:F2} us");
        }
    }

    private static (double Microseconds, long Bytes) Time(Action call)
    {
        for (var k = 0; k < 2000; k++)
        {
            call();
        }

        const int Calls = 20000;
        var bytes = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        for (var k = 0; k < Calls; k++)
        {
            call();
        }

        var seconds = watch.Elapsed.TotalSeconds;
        return (seconds / Calls * 1e6, (GC.GetTotalAllocatedBytes(precise: true) - bytes) / Calls);
    }

    private readonly struct Axpy(float[] x, float[] y, int chunks) : IChunkAction
    {
        public void Execute(int chunk)
        {
            var length = x.Length / chunks;
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x.AsSpan(chunk * length, length), 0.5f, y.AsSpan(chunk * length, length), y.AsSpan(chunk * length, length));
        }
    }

    private readonly struct ToolkitAxpy(float[] x, float[] y, int chunks) : IAction
    {
        public void Invoke(int i) => new Axpy(x, y, chunks).Execute(i);
    }
}
