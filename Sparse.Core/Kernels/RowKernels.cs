using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sparse.Core;

/// <summary>Reads the value of stored entry <c>k</c>, directly or through the transposed view's permutation.</summary>
internal interface IEntryValues
{
    float this[long k] { get; }

    /// <summary>Starts loading the value of entry <paramref name="k"/> where it is not read in storage order.</summary>
    void Prefetch(long k);

    /// <summary>Starts loading what a run of entries from <paramref name="k"/> on reads its values through: the values themselves, or the permutation.</summary>
    void PrefetchRun(long k);
}

/// <summary>Values in storage order (the CSR matrix itself).</summary>
internal readonly unsafe struct DirectValues(float* values) : IEntryValues
{
    public float this[long k]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => values[k];
    }

    // Read in order: the hardware prefetcher keeps up.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(long k)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchRun(long k)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(values + k);
        }
    }
}

/// <summary>Values reached through <see cref="CscView.ValueIndices"/>.</summary>
internal readonly unsafe struct PermutedValues(float* values, int* permutation) : IEntryValues
{
    public float this[long k]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => values[permutation[k]];
    }

    // One random read per entry through the permutation: in a wide layer it misses the cache as the row gathers do.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(long k)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(values + permutation[k]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchRun(long k)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(permutation + k);
        }
    }
}

/// <summary>Whether a row kernel prefetches the dense rows it will gather a few entries ahead (a constant to the JIT).</summary>
internal interface IPrefetch
{
    static abstract bool Enabled { get; }
}

/// <summary>Gathers without software prefetch: the operand is cache-resident.</summary>
internal readonly struct NoPrefetch : IPrefetch
{
    public static bool Enabled => false;
}

/// <summary>
/// Prefetches the dense row of entry <c>k + </c><see cref="RowKernels.PrefetchDistance"/> while gathering entry k: the
/// operand is larger than the cache and every gather would otherwise wait for memory in turn.
/// </summary>
internal readonly struct AheadPrefetch : IPrefetch
{
    public static bool Enabled => true;
}

/// <summary>
/// The inner loops shared by the kernels, for one row of a compressed matrix. Dense operands are
/// feature-major: row <c>i</c> of <c>x</c> is <c>x[i * batch .. (i + 1) * batch)</c>. Each loop keeps a tile
/// of the batch in registers across the whole row, so a stored entry costs one load and one FMA per vector.
/// </summary>
internal static unsafe class RowKernels
{
    /// <summary>
    /// Entries ahead that <see cref="AheadPrefetch"/> fetches. 16 random rows in flight keep the memory system busy
    /// (a gather costs about 100 ns from memory, an entry's FMAs a few ns); across a row's end it reaches into the
    /// next row's entries, which the same thread gathers next.
    /// </summary>
    public const int PrefetchDistance = 16;

    /// <summary>
    /// Starts loading <paramref name="lines"/> cache lines from <paramref name="p"/> into the cache, where the
    /// platform has a prefetch instruction (x86); elsewhere nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchLines(void* p, int lines)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            for (var line = 0; line < lines; line++)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0((byte*)p + (line * 64));
            }
        }
    }

    // The gathered row of the entry PrefetchDistance ahead, up to the last valid entry (limit).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TX* Ahead<TX>(int* indices, long k, long limit, TX* x, int batch, int b)
        where TX : unmanaged =>
        x + ((long)indices[Math.Min(k + PrefetchDistance, limit)] * batch) + b;

    // Cache lines (64 bytes) that a loop reading `vectors` vectors of `width` elements of TX per gathered row touches.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Lines<TX>(int vectors, int width)
        where TX : unmanaged => Math.Max(1, vectors * width * sizeof(TX) / 64);

    /// <summary>
    /// <c>y[0..batch) = init + sum_k values[k] * x[indices[k], 0..batch)</c> for k in [start, end), x of floats or
    /// <see cref="BFloat16"/> (widened in registers, summed in float); overwrites y,
    /// or with <paramref name="accumulate"/> adds the sum to y instead (init unused): a column tile's share.
    /// Each result passes through <paramref name="epilogue"/> (rebased to this row) on its way to y. With
    /// <see cref="AheadPrefetch"/>, entries up to <paramref name="limit"/> (the last valid one) are prefetched.
    /// </summary>
    // Compiled once, fully optimised and never inlined: dynamic PGO inlining it into the caller measured 2x slower.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void GatherAxpy<TV, TX, TValues, TEpilogue, TPrefetch>(int* indices, TValues values, long start, long end, TX* x, int batch, float* y, float init, bool accumulate, TEpilogue epilogue, long limit)
        where TV : struct
        where TX : unmanaged
        where TValues : struct, IEntryValues
        where TEpilogue : struct, IStoreEpilogue<TEpilogue>
        where TPrefetch : struct, IPrefetch
    {
        var width = Simd.Count<TV>();

        // Cache lines of one gathered row per loop below: 8, 4, 2 and 1 vectors.
        var lines8 = Lines<TX>(8, width);
        var lines4 = Lines<TX>(4, width);
        var lines2 = Lines<TX>(2, width);
        var b = 0;
        for (; b + (8 * width) <= batch; b += 8 * width)
        {
            var q = y + b;
            TV a0, a1, a2, a3, a4, a5, a6, a7;
            if (accumulate)
            {
                a0 = Simd.Load<TV>(q);
                a1 = Simd.Load<TV>(q + width);
                a2 = Simd.Load<TV>(q + (2 * width));
                a3 = Simd.Load<TV>(q + (3 * width));
                a4 = Simd.Load<TV>(q + (4 * width));
                a5 = Simd.Load<TV>(q + (5 * width));
                a6 = Simd.Load<TV>(q + (6 * width));
                a7 = Simd.Load<TV>(q + (7 * width));
            }
            else
            {
                a0 = Simd.Broadcast<TV>(init);
                a1 = a0;
                a2 = a0;
                a3 = a0;
                a4 = a0;
                a5 = a0;
                a6 = a0;
                a7 = a0;
            }

            for (var k = start; k < end; k++)
            {
                if (TPrefetch.Enabled)
                {
                    PrefetchLines(Ahead(indices, k, limit, x, batch, b), lines8);
                    values.Prefetch(Math.Min(k + PrefetchDistance, limit));
                }

                var w = Simd.Broadcast<TV>(values[k]);
                var p = x + ((long)indices[k] * batch) + b;
                a0 = Simd.Fma(Simd.Load<TV, TX>(p), w, a0);
                a1 = Simd.Fma(Simd.Load<TV, TX>(p + width), w, a1);
                a2 = Simd.Fma(Simd.Load<TV, TX>(p + (2 * width)), w, a2);
                a3 = Simd.Fma(Simd.Load<TV, TX>(p + (3 * width)), w, a3);
                a4 = Simd.Fma(Simd.Load<TV, TX>(p + (4 * width)), w, a4);
                a5 = Simd.Fma(Simd.Load<TV, TX>(p + (5 * width)), w, a5);
                a6 = Simd.Fma(Simd.Load<TV, TX>(p + (6 * width)), w, a6);
                a7 = Simd.Fma(Simd.Load<TV, TX>(p + (7 * width)), w, a7);
            }

            Simd.Store(epilogue.Apply(a0, b), q);
            Simd.Store(epilogue.Apply(a1, b + width), q + width);
            Simd.Store(epilogue.Apply(a2, b + (2 * width)), q + (2 * width));
            Simd.Store(epilogue.Apply(a3, b + (3 * width)), q + (3 * width));
            Simd.Store(epilogue.Apply(a4, b + (4 * width)), q + (4 * width));
            Simd.Store(epilogue.Apply(a5, b + (5 * width)), q + (5 * width));
            Simd.Store(epilogue.Apply(a6, b + (6 * width)), q + (6 * width));
            Simd.Store(epilogue.Apply(a7, b + (7 * width)), q + (7 * width));
        }

        // Four vectors: a batch of 32 floats on AVX2 (64 on AVX-512), or what a block of eight leaves over, would otherwise
        // take two passes of two accumulators each, every entry's FMAs waiting on the previous entry's.
        for (; b + (4 * width) <= batch; b += 4 * width)
        {
            var q = y + b;
            TV a0, a1, a2, a3;
            if (accumulate)
            {
                a0 = Simd.Load<TV>(q);
                a1 = Simd.Load<TV>(q + width);
                a2 = Simd.Load<TV>(q + (2 * width));
                a3 = Simd.Load<TV>(q + (3 * width));
            }
            else
            {
                a0 = Simd.Broadcast<TV>(init);
                a1 = a0;
                a2 = a0;
                a3 = a0;
            }

            for (var k = start; k < end; k++)
            {
                if (TPrefetch.Enabled)
                {
                    PrefetchLines(Ahead(indices, k, limit, x, batch, b), lines4);
                    values.Prefetch(Math.Min(k + PrefetchDistance, limit));
                }

                var w = Simd.Broadcast<TV>(values[k]);
                var p = x + ((long)indices[k] * batch) + b;
                a0 = Simd.Fma(Simd.Load<TV, TX>(p), w, a0);
                a1 = Simd.Fma(Simd.Load<TV, TX>(p + width), w, a1);
                a2 = Simd.Fma(Simd.Load<TV, TX>(p + (2 * width)), w, a2);
                a3 = Simd.Fma(Simd.Load<TV, TX>(p + (3 * width)), w, a3);
            }

            Simd.Store(epilogue.Apply(a0, b), q);
            Simd.Store(epilogue.Apply(a1, b + width), q + width);
            Simd.Store(epilogue.Apply(a2, b + (2 * width)), q + (2 * width));
            Simd.Store(epilogue.Apply(a3, b + (3 * width)), q + (3 * width));
        }

        for (; b + (2 * width) <= batch; b += 2 * width)
        {
            TV a0 = accumulate ? Simd.Load<TV>(y + b) : Simd.Broadcast<TV>(init);
            TV a1 = accumulate ? Simd.Load<TV>(y + b + width) : a0;
            for (var k = start; k < end; k++)
            {
                if (TPrefetch.Enabled)
                {
                    PrefetchLines(Ahead(indices, k, limit, x, batch, b), lines2);
                    values.Prefetch(Math.Min(k + PrefetchDistance, limit));
                }

                var w = Simd.Broadcast<TV>(values[k]);
                var p = x + ((long)indices[k] * batch) + b;
                a0 = Simd.Fma(Simd.Load<TV, TX>(p), w, a0);
                a1 = Simd.Fma(Simd.Load<TV, TX>(p + width), w, a1);
            }

            Simd.Store(epilogue.Apply(a0, b), y + b);
            Simd.Store(epilogue.Apply(a1, b + width), y + b + width);
        }

        for (; b + width <= batch; b += width)
        {
            var a0 = accumulate ? Simd.Load<TV>(y + b) : Simd.Broadcast<TV>(init);
            for (var k = start; k < end; k++)
            {
                if (TPrefetch.Enabled)
                {
                    PrefetchLines(Ahead(indices, k, limit, x, batch, b), 1);
                    values.Prefetch(Math.Min(k + PrefetchDistance, limit));
                }

                a0 = Simd.Fma(Simd.Load<TV, TX>(x + ((long)indices[k] * batch) + b), Simd.Broadcast<TV>(values[k]), a0);
            }

            Simd.Store(epilogue.Apply(a0, b), y + b);
        }

        if (b < batch)
        {
            GatherAxpyScalar(indices, values, start, end, x, batch, y, init, accumulate, epilogue, b);
        }
    }

    /// <summary>The scalar form of <see cref="GatherAxpy{TV, TX, TValues, TEpilogue, TPrefetch}"/> for batch columns <c>[from, batch)</c>.</summary>
    public static void GatherAxpyScalar<TX, TValues, TEpilogue>(int* indices, TValues values, long start, long end, TX* x, int batch, float* y, float init, bool accumulate, TEpilogue epilogue, int from)
        where TX : unmanaged
        where TValues : struct, IEntryValues
        where TEpilogue : struct, IStoreEpilogue<TEpilogue>
    {
        for (var b = from; b < batch; b++)
        {
            var sum = accumulate ? y[b] : init;
            for (var k = start; k < end; k++)
            {
                sum += values[k] * Simd.ToSingle(x[((long)indices[k] * batch) + b]);
            }

            y[b] = epilogue.Apply(sum, b);
        }
    }

    /// <summary>
    /// <c>output[k] = dot(d[0..batch), x[indices[k], 0..batch))</c> for k in [start, end), x of floats or
    /// <see cref="BFloat16"/> (widened in registers, summed in float); overwrites output. With
    /// <see cref="AheadPrefetch"/>, entries up to <paramref name="limit"/> (the last valid one) are prefetched.
    /// </summary>
    // Compiled once, fully optimised and never inlined: dynamic PGO inlining it into the caller measured 2x slower.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void GatherDot<TV, TX, TPrefetch>(int* indices, long start, long end, float* d, TX* x, int batch, float* output, long limit)
        where TV : struct
        where TX : unmanaged
        where TPrefetch : struct, IPrefetch
    {
        var width = Simd.Count<TV>();
        var lines8 = Lines<TX>(8, width);
        var lines4 = Lines<TX>(4, width);
        var lines2 = Lines<TX>(2, width);
        var b = 0;

        // The first block of columns stores, later ones add; with no whole block, start from zero.
        var stored = false;
        if (batch < 4 * width)
        {
            new Span<float>(output + start, (int)(end - start)).Clear();
            stored = true;
        }

        for (; b + (8 * width) <= batch; b += 8 * width)
        {
            var q = d + b;
            TV d0 = Simd.Load<TV>(q), d1 = Simd.Load<TV>(q + width), d2 = Simd.Load<TV>(q + (2 * width)), d3 = Simd.Load<TV>(q + (3 * width));
            TV d4 = Simd.Load<TV>(q + (4 * width)), d5 = Simd.Load<TV>(q + (5 * width)), d6 = Simd.Load<TV>(q + (6 * width)), d7 = Simd.Load<TV>(q + (7 * width));
            var k = start;

            // Four entries at a time share one horizontal reduction (Simd.Sum4): reducing each dot on its own
            // cost about as many instructions as its multiplies.
            for (; k + 4 <= end; k += 4)
            {
                if (TPrefetch.Enabled)
                {
                    PrefetchLines(Ahead(indices, k, limit, x, batch, b), lines8);
                    PrefetchLines(Ahead(indices, k + 1, limit, x, batch, b), lines8);
                    PrefetchLines(Ahead(indices, k + 2, limit, x, batch, b), lines8);
                    PrefetchLines(Ahead(indices, k + 3, limit, x, batch, b), lines8);
                }

                var r0 = Dot8(x + ((long)indices[k] * batch) + b, width, d0, d1, d2, d3, d4, d5, d6, d7);
                var r1 = Dot8(x + ((long)indices[k + 1] * batch) + b, width, d0, d1, d2, d3, d4, d5, d6, d7);
                var r2 = Dot8(x + ((long)indices[k + 2] * batch) + b, width, d0, d1, d2, d3, d4, d5, d6, d7);
                var r3 = Dot8(x + ((long)indices[k + 3] * batch) + b, width, d0, d1, d2, d3, d4, d5, d6, d7);
                var sums = Simd.Sum4(r0, r1, r2, r3);
                if (stored)
                {
                    sums += Vector128.Load(output + k);
                }

                sums.Store(output + k);
            }

            for (; k < end; k++)
            {
                var sum = Simd.SumOfBoth(Dot8(x + ((long)indices[k] * batch) + b, width, d0, d1, d2, d3, d4, d5, d6, d7), default);
                output[k] = stored ? output[k] + sum : sum;
            }

            stored = true;
        }

        // Four vectors, as in GatherAxpy: four entries still share one reduction.
        for (; b + (4 * width) <= batch; b += 4 * width)
        {
            var q = d + b;
            TV d0 = Simd.Load<TV>(q), d1 = Simd.Load<TV>(q + width), d2 = Simd.Load<TV>(q + (2 * width)), d3 = Simd.Load<TV>(q + (3 * width));
            var k = start;
            for (; k + 4 <= end; k += 4)
            {
                if (TPrefetch.Enabled)
                {
                    PrefetchLines(Ahead(indices, k, limit, x, batch, b), lines4);
                    PrefetchLines(Ahead(indices, k + 1, limit, x, batch, b), lines4);
                    PrefetchLines(Ahead(indices, k + 2, limit, x, batch, b), lines4);
                    PrefetchLines(Ahead(indices, k + 3, limit, x, batch, b), lines4);
                }

                var r0 = Dot4(x + ((long)indices[k] * batch) + b, width, d0, d1, d2, d3);
                var r1 = Dot4(x + ((long)indices[k + 1] * batch) + b, width, d0, d1, d2, d3);
                var r2 = Dot4(x + ((long)indices[k + 2] * batch) + b, width, d0, d1, d2, d3);
                var r3 = Dot4(x + ((long)indices[k + 3] * batch) + b, width, d0, d1, d2, d3);
                var sums = Simd.Sum4(r0, r1, r2, r3);
                if (stored)
                {
                    sums += Vector128.Load(output + k);
                }

                sums.Store(output + k);
            }

            for (; k < end; k++)
            {
                var sum = Simd.SumOfBoth(Dot4(x + ((long)indices[k] * batch) + b, width, d0, d1, d2, d3), default);
                output[k] = stored ? output[k] + sum : sum;
            }

            stored = true;
        }

        for (; b + (2 * width) <= batch; b += 2 * width)
        {
            TV d0 = Simd.Load<TV>(d + b), d1 = Simd.Load<TV>(d + b + width);
            for (var k = start; k < end; k++)
            {
                if (TPrefetch.Enabled)
                {
                    PrefetchLines(Ahead(indices, k, limit, x, batch, b), lines2);
                }

                var p = x + ((long)indices[k] * batch) + b;
                output[k] += Simd.SumOfBoth(Simd.Multiply(Simd.Load<TV, TX>(p), d0), Simd.Multiply(Simd.Load<TV, TX>(p + width), d1));
            }
        }

        for (; b + width <= batch; b += width)
        {
            var d0 = Simd.Load<TV>(d + b);
            var zero = default(TV);
            for (var k = start; k < end; k++)
            {
                if (TPrefetch.Enabled)
                {
                    PrefetchLines(Ahead(indices, k, limit, x, batch, b), 1);
                }

                output[k] += Simd.SumOfBoth(Simd.Multiply(Simd.Load<TV, TX>(x + ((long)indices[k] * batch) + b), d0), zero);
            }
        }

        if (b < batch)
        {
            GatherDotScalar(indices, start, end, d, x, batch, output, b);
        }
    }

    /// <summary>The sum of <c>d[0..batch)</c>: whole vectors lane-wise, then their lanes, then the tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum<TV>(float* d, int batch)
        where TV : struct
    {
        var width = Simd.Count<TV>();
        var b = 0;
        var sum = 0f;
        if (batch >= width)
        {
            var s = Simd.Load<TV>(d);
            for (b = width; b + width <= batch; b += width)
            {
                s = Simd.Add(s, Simd.Load<TV>(d + b));
            }

            sum = Simd.SumOfBoth(s, default);
        }

        return SumScalar(d, batch, b, sum);
    }

    /// <summary><c>sum</c> plus <c>d[from..batch)</c>, in order.</summary>
    public static float SumScalar(float* d, int batch, int from, float sum)
    {
        for (var b = from; b < batch; b++)
        {
            sum += d[b];
        }

        return sum;
    }

    // The lane-wise partial dot of eight vectors of one gathered row with d0..d7, in four chains of two, so that an
    // entry's FMAs do not wait on one another's latency (Sparse.Bench cache-gather: the weight gradient at 73-89 % of
    // its gathers' bound).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Dot8<TV, TX>(TX* p, int width, TV d0, TV d1, TV d2, TV d3, TV d4, TV d5, TV d6, TV d7)
        where TV : struct
        where TX : unmanaged
    {
        var s0 = Simd.Multiply(Simd.Load<TV, TX>(p), d0);
        var s1 = Simd.Multiply(Simd.Load<TV, TX>(p + width), d1);
        var s2 = Simd.Multiply(Simd.Load<TV, TX>(p + (2 * width)), d2);
        var s3 = Simd.Multiply(Simd.Load<TV, TX>(p + (3 * width)), d3);
        s0 = Simd.Fma(Simd.Load<TV, TX>(p + (4 * width)), d4, s0);
        s1 = Simd.Fma(Simd.Load<TV, TX>(p + (5 * width)), d5, s1);
        s2 = Simd.Fma(Simd.Load<TV, TX>(p + (6 * width)), d6, s2);
        s3 = Simd.Fma(Simd.Load<TV, TX>(p + (7 * width)), d7, s3);
        return Simd.Add(Simd.Add(s0, s1), Simd.Add(s2, s3));
    }

    // Dot8 over four vectors, in two chains.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Dot4<TV, TX>(TX* p, int width, TV d0, TV d1, TV d2, TV d3)
        where TV : struct
        where TX : unmanaged
    {
        var s0 = Simd.Multiply(Simd.Load<TV, TX>(p), d0);
        var s1 = Simd.Multiply(Simd.Load<TV, TX>(p + width), d1);
        s0 = Simd.Fma(Simd.Load<TV, TX>(p + (2 * width)), d2, s0);
        s1 = Simd.Fma(Simd.Load<TV, TX>(p + (3 * width)), d3, s1);
        return Simd.Add(s0, s1);
    }

    /// <summary>Adds the batch columns <c>[from, batch)</c> of <see cref="GatherDot{TV, TX, TPrefetch}"/> to output.</summary>
    public static void GatherDotScalar<TX>(int* indices, long start, long end, float* d, TX* x, int batch, float* output, int from)
        where TX : unmanaged
    {
        for (var k = start; k < end; k++)
        {
            var p = x + ((long)indices[k] * batch);
            var sum = 0f;
            for (var b = from; b < batch; b++)
            {
                sum += d[b] * Simd.ToSingle(p[b]);
            }

            output[k] += sum;
        }
    }
}
