using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sparse.Core;

/// <summary>Software prefetch for code that knows where it will read next and the hardware prefetcher cannot.</summary>
internal static unsafe class Prefetch
{
    /// <summary>
    /// Starts loading the cache line of <c>array[index]</c> into all cache levels. A hint: a moved array (the GC may
    /// compact) or an index past the end costs nothing but the hint, as x86 prefetches never fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Line<T>(T[] array, int index)
        where T : unmanaged
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), (nint)index)));
        }
    }
}

/// <summary>Moves arrays aligned with a matrix's entries when the entries change order.</summary>
internal static unsafe class Permutation
{
    // Entries per parallel chunk.
    private const int ChunkEntries = 1 << 16;

    // How far ahead the gather asks for the entry it will read: the reads land anywhere in the source.
    private const int Ahead = 32;

    /// <summary>
    /// <c>to[k] = from[index[k]]</c> for every k, on the worker threads: the reads are random, so each thread keeps
    /// several in flight by prefetching the one <see cref="Ahead"/> places on. Internal: every index must lie in
    /// <paramref name="from"/> (a permutation the caller built), as a worker thread cannot report a bad one.
    /// </summary>
    public static void Gather(ReadOnlySpan<float> from, ReadOnlySpan<int> index, Span<float> to, ComputeOptions? options = null)
    {
        if (to.Length != index.Length)
        {
            throw new ArgumentException($"{index.Length} indices for {to.Length} entries.", nameof(to));
        }

        fixed (float* source = from, destination = to)
        fixed (int* indices = index)
        {
            var action = new GatherAction(source, from.Length, indices, destination, index.Length);
            SparseParallel.Run(ref action, (index.Length + ChunkEntries - 1) / ChunkEntries, options);
        }
    }

    private readonly struct GatherAction(float* from, int length, int* index, float* to, int count) : IChunkAction
    {
        public void Execute(int chunk)
        {
            var end = Math.Min(count, (chunk + 1) * ChunkEntries);
            for (var k = chunk * ChunkEntries; k < end; k++)
            {
                if (k + Ahead < end && System.Runtime.Intrinsics.X86.Sse.IsSupported)
                {
                    System.Runtime.Intrinsics.X86.Sse.Prefetch0(from + index[k + Ahead]);
                }

                System.Diagnostics.Debug.Assert((uint)index[k] < (uint)length, "an index outside the source");
                to[k] = from[index[k]];
            }
        }
    }
}
