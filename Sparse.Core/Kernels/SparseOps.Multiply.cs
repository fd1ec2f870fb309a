using System.Runtime.Intrinsics;

namespace Sparse.Core;

/// <summary>
/// The training kernels of a sparse layer. Dense operands are feature-major, shape (features, batch):
/// row <c>i</c> holds feature <c>i</c> of every sample, contiguous, so every kernel vectorises along the
/// batch. Work is split across <see cref="ComputeOptions.Threads"/> threads by stored
/// entries; every output element is computed by one thread in a fixed order, so results are bitwise
/// identical for any thread count. No call allocates.
/// </summary>
public static unsafe partial class SparseOps
{
    /// <summary>
    /// Forward product <c>Y = W X + b</c>: <c>output[j, :] = bias[j] + sum_i W[j, i] * input[i, :]</c>.
    /// </summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="input">X, shape (in, batch), feature-major.</param>
    /// <param name="bias">b, <c>out</c> entries, or empty for no bias.</param>
    /// <param name="output">Y, shape (out, batch); overwritten.</param>
    /// <param name="batch">Number of samples (columns of X and Y).</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or output overlaps input.</exception>
    public static void Multiply(CsrMatrix weights, ReadOnlySpan<float> input, ReadOnlySpan<float> bias, Span<float> output, int batch, ComputeOptions? options = null) =>
        Multiply(weights, input, bias, output, batch, default(PlainStore), options ?? ComputeOptions.Default);

    /// <summary>
    /// Forward product and ReLU in one pass, <c>Y = max(W X + b, 0)</c>: the same sums as
    /// <see cref="Multiply(CsrMatrix, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/>, clamped in
    /// registers before they are stored, bitwise equal to that product followed by <c>TensorPrimitives.Max(y, 0)</c>
    /// and without the separate pass over the output. The pre-activation is not kept: the ReLU's derivative
    /// follows from its output (<see cref="MultiplyTransposedGated(CsrMatrix, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/>).
    /// </summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="input">X, shape (in, batch), feature-major.</param>
    /// <param name="bias">b, <c>out</c> entries, or empty for no bias.</param>
    /// <param name="output">Y, shape (out, batch); overwritten.</param>
    /// <param name="batch">Number of samples (columns of X and Y).</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or output overlaps input.</exception>
    public static void MultiplyRelu(CsrMatrix weights, ReadOnlySpan<float> input, ReadOnlySpan<float> bias, Span<float> output, int batch, ComputeOptions? options = null) =>
        Multiply(weights, input, bias, output, batch, default(ReluStore), options ?? ComputeOptions.Default);

    /// <summary>
    /// <see cref="Multiply(CsrMatrix, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/> gathering
    /// X stored as <see cref="BFloat16"/>: each gathered value is widened to float in a register, sums are in float.
    /// </summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="input">X, shape (in, batch), feature-major, in bfloat16.</param>
    /// <param name="bias">b, <c>out</c> entries, or empty for no bias.</param>
    /// <param name="output">Y, shape (out, batch); overwritten.</param>
    /// <param name="batch">Number of samples (columns of X and Y).</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or output overlaps input.</exception>
    public static void Multiply(CsrMatrix weights, ReadOnlySpan<BFloat16> input, ReadOnlySpan<float> bias, Span<float> output, int batch, ComputeOptions? options = null) =>
        Multiply(weights, input, bias, output, batch, default(PlainStore), options ?? ComputeOptions.Default);

    /// <summary>
    /// <see cref="MultiplyRelu(CsrMatrix, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/> gathering
    /// X stored as <see cref="BFloat16"/>, widened to float in registers.
    /// </summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="input">X, shape (in, batch), feature-major, in bfloat16.</param>
    /// <param name="bias">b, <c>out</c> entries, or empty for no bias.</param>
    /// <param name="output">Y, shape (out, batch); overwritten.</param>
    /// <param name="batch">Number of samples (columns of X and Y).</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or output overlaps input.</exception>
    public static void MultiplyRelu(CsrMatrix weights, ReadOnlySpan<BFloat16> input, ReadOnlySpan<float> bias, Span<float> output, int batch, ComputeOptions? options = null) =>
        Multiply(weights, input, bias, output, batch, default(ReluStore), options ?? ComputeOptions.Default);

    private static void Multiply<TX, TEpilogue>(CsrMatrix weights, ReadOnlySpan<TX> input, ReadOnlySpan<float> bias, Span<float> output, int batch, TEpilogue epilogue, ComputeOptions options)
        where TX : unmanaged
        where TEpilogue : struct, IStoreEpilogue<TEpilogue>
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ThrowHelper.CheckDense(input.Length, weights.Columns, batch, nameof(input));
        ThrowHelper.CheckDense(output.Length, weights.Rows, batch, nameof(output));
        if (!bias.IsEmpty && bias.Length != weights.Rows)
        {
            ThrowHelper.Argument($"Bias must have {weights.Rows} entries (one per output) or none, has {bias.Length}.", nameof(bias));
        }

        if (System.Runtime.InteropServices.MemoryMarshal.AsBytes(input).Overlaps(System.Runtime.InteropServices.MemoryMarshal.AsBytes(output)))
        {
            ThrowHelper.Argument("Output must not overlap input.", nameof(output));
        }

        if (batch == 0)
        {
            return;
        }

        fixed (long* pointers = weights.RowPointers)
        fixed (int* indices = weights.ColumnIndices)
        fixed (TX* x = input)
        fixed (float* values = weights.Values, b = bias, y = output)
        {
            var reach = options.NeedsReach(weights.Columns, batch, sizeof(TX)) ? weights.GatherReach : weights.Columns;
            RunGatherAxpy(pointers, indices, new DirectValues(values), weights.Rows, weights.Columns, reach, x, b, y, batch, epilogue, options);
        }
    }

    // One pass over all rows, or one per column tile (ColumnTiling.Run); the epilogue applies once, on the last.
    // Prefetching and tiling follow the smaller of the operand and the structure's reach (GatherReach): a banded
    // layer's gathers stay in cache however wide its operand.
    private static void RunGatherAxpy<TX, TValues, TEpilogue>(long* pointers, int* indices, TValues values, int rows, int gathered, int reach, TX* x, float* bias, float* y, int batch, TEpilogue epilogue, ComputeOptions options)
        where TX : unmanaged
        where TValues : struct, IEntryValues
        where TEpilogue : struct, IStoreEpilogue<TEpilogue>
    {
        var partition = new WorkPartition(pointers, rows, batch, options.Threads);
        ColumnTiling.Run(
            new GatherAxpyAction<TX, TValues, TEpilogue>(partition, pointers, indices, values, x, bias, y, batch, options.Simd, epilogue, null, 0, false, true,
                options.Prefetches(Math.Min(gathered, reach), batch, sizeof(TX)), pointers[rows] - 1),
            partition, pointers, rows, gathered, batch, options, sizeof(TX), reach);
    }

    /// <summary>
    /// For each row <c>j</c> of a compressed structure: <c>y[j, :] = epilogue(bias[j] + sum_k values[k] * x[indices[k], :])</c>.
    /// Shared by the forward product (CSR) and the input gradient (the transposed view). With
    /// <paramref name="cursors"/>, only each row's entries from its cursor up to column <paramref name="tileEnd"/>,
    /// added to y when <paramref name="accumulate"/>; the epilogue waits for the <paramref name="lastTile"/>.
    /// </summary>
    private readonly struct GatherAxpyAction<TX, TValues, TEpilogue>(
        WorkPartition partition, long* pointers, int* indices, TValues values, TX* x, float* bias, float* y, int batch, SimdLevel level,
        TEpilogue epilogue, long* cursors, int tileEnd, bool accumulate, bool lastTile, bool prefetch, long limit)
        : ITileableAction<GatherAxpyAction<TX, TValues, TEpilogue>>
        where TX : unmanaged
        where TValues : struct, IEntryValues
        where TEpilogue : struct, IStoreEpilogue<TEpilogue>
    {
        // Tiles after the first add to the rows the first one wrote. A tile's rows are cached, and the entries ahead of
        // a row's tile end gather other tiles: prefetching them would evict the tile, so tiles never prefetch.
        public GatherAxpyAction<TX, TValues, TEpilogue> ForTile(long* tileCursors, int end, bool later, bool last) =>
            new(partition, pointers, indices, values, x, bias, y, batch, level, epilogue, tileCursors, end, later, last, false, limit);

        public void Execute(int chunk)
        {
            var (first, last) = partition.Rows(chunk);

            // The untiled loop has no per-row tile branch: it is the common case at every width that fits the
            // cache, and a shared branch costs about 6 % on the 1000-wide forward.
            if (cursors is null)
            {
                for (var row = first; row < last; row++)
                {
                    Row(row, pointers[row], pointers[row + 1], epilogue.ForRow((long)row * batch));
                }

                return;
            }

            // A row with no entries in a later tile is already complete, unless its epilogue is still due.
            var mustVisit = !accumulate || (lastTile && typeof(TEpilogue) != typeof(PlainStore));
            for (var row = first; row < last; row++)
            {
                var (start, end) = ColumnTiling.Advance(cursors, row, pointers[row + 1], indices, tileEnd);
                if (mustVisit || start != end)
                {
                    if (lastTile)
                    {
                        Row(row, start, end, epilogue.ForRow((long)row * batch));
                    }
                    else
                    {
                        Row(row, start, end, default(PlainStore));
                    }
                }
            }
        }

        private void Row<TStore>(int row, long start, long end, TStore store)
            where TStore : struct, IStoreEpilogue<TStore>
        {
            var init = bias is null ? 0f : bias[row];
            var destination = y + ((long)row * batch);
            switch (level)
            {
                case SimdLevel.Vector512 when prefetch:
                    RowKernels.GatherAxpy<Vector512<float>, TX, TValues, TStore, AheadPrefetch>(indices, values, start, end, x, batch, destination, init, accumulate, store, limit);
                    break;
                case SimdLevel.Vector512:
                    RowKernels.GatherAxpy<Vector512<float>, TX, TValues, TStore, NoPrefetch>(indices, values, start, end, x, batch, destination, init, accumulate, store, limit);
                    break;
                case SimdLevel.Vector256 when prefetch:
                    RowKernels.GatherAxpy<Vector256<float>, TX, TValues, TStore, AheadPrefetch>(indices, values, start, end, x, batch, destination, init, accumulate, store, limit);
                    break;
                case SimdLevel.Vector256:
                    RowKernels.GatherAxpy<Vector256<float>, TX, TValues, TStore, NoPrefetch>(indices, values, start, end, x, batch, destination, init, accumulate, store, limit);
                    break;
                default:
                    RowKernels.GatherAxpyScalar(indices, values, start, end, x, batch, destination, init, accumulate, store, 0);
                    break;
            }
        }
    }
}
