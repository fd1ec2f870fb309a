using System.Runtime.Intrinsics;

namespace Sparse.Core;

public static unsafe partial class SparseOps
{
    /// <summary>
    /// Weight gradient at stored connections only (a sampled dense-dense product, SDDMM):
    /// <c>weightGradient[k] = dot(outputGradient[j, :], input[i, :])</c> for each stored entry <c>k</c> at
    /// (j, i). The dense <c>dY X^T</c> is never formed.
    /// </summary>
    /// <param name="weights">W, shape (out, in); only its structure is read.</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major.</param>
    /// <param name="input">X, shape (in, batch), feature-major.</param>
    /// <param name="weightGradient">dW, aligned with <see cref="CsrMatrix.Values"/>; overwritten.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or the gradient overlaps an operand.</exception>
    public static void WeightGradient(CsrMatrix weights, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> input, Span<float> weightGradient, int batch, ComputeOptions? options = null) =>
        WeightGradient(weights, outputGradient, input, weightGradient, [], batch, options);

    /// <summary>
    /// The weight gradient of <see cref="WeightGradient(CsrMatrix, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/>
    /// and the bias gradient <c>biasGradient[j] = sum_b outputGradient[j, b]</c> in the same pass over the rows
    /// of dY (each row's sum is taken while it is in cache, by the thread that owns the row).
    /// </summary>
    /// <param name="weights">W, shape (out, in); only its structure is read.</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major.</param>
    /// <param name="input">X, shape (in, batch), feature-major.</param>
    /// <param name="weightGradient">dW, aligned with <see cref="CsrMatrix.Values"/>; overwritten.</param>
    /// <param name="biasGradient">db, <c>out</c> entries, overwritten; or empty for none.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or a gradient overlaps an operand.</exception>
    public static void WeightGradient(CsrMatrix weights, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> input, Span<float> weightGradient, Span<float> biasGradient, int batch, ComputeOptions? options = null) =>
        WeightGradient<float>(weights, outputGradient, input, weightGradient, biasGradient, batch, options);

    /// <summary>
    /// <see cref="WeightGradient(CsrMatrix, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, int, ComputeOptions)"/>
    /// gathering X stored as <see cref="BFloat16"/>, widened to float in registers; dY, the sums and both gradients in float.
    /// </summary>
    /// <param name="weights">W, shape (out, in); only its structure is read.</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major.</param>
    /// <param name="input">X, shape (in, batch), feature-major, in bfloat16.</param>
    /// <param name="weightGradient">dW, aligned with <see cref="CsrMatrix.Values"/>; overwritten.</param>
    /// <param name="biasGradient">db, <c>out</c> entries, overwritten; or empty for none.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or a gradient overlaps an operand.</exception>
    public static void WeightGradient(CsrMatrix weights, ReadOnlySpan<float> outputGradient, ReadOnlySpan<BFloat16> input, Span<float> weightGradient, Span<float> biasGradient, int batch, ComputeOptions? options = null) =>
        WeightGradient<BFloat16>(weights, outputGradient, input, weightGradient, biasGradient, batch, options);

    private static void WeightGradient<TX>(CsrMatrix weights, ReadOnlySpan<float> outputGradient, ReadOnlySpan<TX> input, Span<float> weightGradient, Span<float> biasGradient, int batch, ComputeOptions? options)
        where TX : unmanaged
    {
        options ??= ComputeOptions.Default;
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ThrowHelper.CheckDense(outputGradient.Length, weights.Rows, batch, nameof(outputGradient));
        ThrowHelper.CheckDense(input.Length, weights.Columns, batch, nameof(input));
        if (weightGradient.Length != weights.NonZeroCount)
        {
            ThrowHelper.Argument($"Weight gradient must have one entry per stored connection ({weights.NonZeroCount}), has {weightGradient.Length}.", nameof(weightGradient));
        }

        var inputBytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(input);
        if (System.Runtime.InteropServices.MemoryMarshal.AsBytes(weightGradient).Overlaps(inputBytes) || weightGradient.Overlaps(outputGradient))
        {
            ThrowHelper.Argument("Weight gradient must not overlap the dense operands.", nameof(weightGradient));
        }

        if (!biasGradient.IsEmpty && biasGradient.Length != weights.Rows)
        {
            ThrowHelper.Argument($"Bias gradient must have {weights.Rows} entries (one per output) or none, has {biasGradient.Length}.", nameof(biasGradient));
        }

        if (System.Runtime.InteropServices.MemoryMarshal.AsBytes(biasGradient).Overlaps(inputBytes) || biasGradient.Overlaps(outputGradient) || biasGradient.Overlaps(weightGradient))
        {
            ThrowHelper.Argument("Bias gradient must not overlap the other operands.", nameof(biasGradient));
        }

        fixed (long* pointers = weights.RowPointers)
        fixed (int* indices = weights.ColumnIndices)
        fixed (TX* x = input)
        fixed (float* dy = outputGradient, dw = weightGradient, db = biasGradient)
        {
            var partition = new WorkPartition(pointers, weights.Rows, batch, options.Threads);
            var reach = options.NeedsReach(weights.Columns, batch, sizeof(TX)) ? weights.GatherReach : weights.Columns;
            ColumnTiling.Run(
                new GatherDotAction<TX>(partition, pointers, indices, dy, x, dw, db, batch, options.Simd, null, 0, false, options.Prefetches(Math.Min(weights.Columns, reach), batch, sizeof(TX)), pointers[weights.Rows] - 1),
                partition, pointers, weights.Rows, weights.Columns, batch, options, sizeof(TX), reach);
        }
    }

    private readonly struct GatherDotAction<TX>(
        WorkPartition partition, long* pointers, int* indices, float* dy, TX* x, float* dw, float* db, int batch, SimdLevel level,
        long* cursors, int tileEnd, bool later, bool prefetch, long limit)
        : ITileableAction<GatherDotAction<TX>>
        where TX : unmanaged
    {
        // Each entry lies in one tile, so tiles write disjoint outputs: nothing is accumulated across them. The
        // bias gradient is taken in the first tile.
        public GatherDotAction<TX> ForTile(long* tileCursors, int end, bool laterTile, bool last) =>
            new(partition, pointers, indices, dy, x, dw, db, batch, level, tileCursors, end, laterTile, false, limit); // tiles never prefetch: see GatherAxpyAction

        public void Execute(int chunk)
        {
            var (first, last) = partition.Rows(chunk);

            // The untiled loop has no per-row tile branch: it is the common case at every width that fits the
            // cache.
            if (cursors is null)
            {
                for (var row = first; row < last; row++)
                {
                    Row(row, pointers[row], pointers[row + 1]);
                }

                return;
            }

            for (var row = first; row < last; row++)
            {
                var (start, end) = ColumnTiling.Advance(cursors, row, pointers[row + 1], indices, tileEnd);
                Row(row, start, end);
            }
        }

        private void Row(int row, long start, long end)
        {
            var d = dy + ((long)row * batch);
            if (db is not null && !later)
            {
                db[row] = level switch
                {
                    SimdLevel.Vector512 => RowKernels.Sum<Vector512<float>>(d, batch),
                    SimdLevel.Vector256 => RowKernels.Sum<Vector256<float>>(d, batch),
                    _ => RowKernels.SumScalar(d, batch, 0, 0f),
                };
            }

            if (start == end)
            {
                return;
            }

            switch (level)
            {
                case SimdLevel.Vector512 when prefetch:
                    RowKernels.GatherDot<Vector512<float>, TX, AheadPrefetch>(indices, start, end, d, x, batch, dw, limit);
                    break;
                case SimdLevel.Vector512:
                    RowKernels.GatherDot<Vector512<float>, TX, NoPrefetch>(indices, start, end, d, x, batch, dw, limit);
                    break;
                case SimdLevel.Vector256 when prefetch:
                    RowKernels.GatherDot<Vector256<float>, TX, AheadPrefetch>(indices, start, end, d, x, batch, dw, limit);
                    break;
                case SimdLevel.Vector256:
                    RowKernels.GatherDot<Vector256<float>, TX, NoPrefetch>(indices, start, end, d, x, batch, dw, limit);
                    break;
                default:
                    new Span<float>(dw + start, (int)(end - start)).Clear();
                    RowKernels.GatherDotScalar(indices, start, end, d, x, batch, dw, 0);
                    break;
            }
        }
    }
}
