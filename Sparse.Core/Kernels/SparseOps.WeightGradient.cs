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
    /// <exception cref="ArgumentException">A length does not match the shapes, or the gradient overlaps an operand.</exception>
    public static void WeightGradient(CsrMatrix weights, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> input, Span<float> weightGradient, int batch)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ThrowHelper.CheckDense(outputGradient.Length, weights.Rows, batch, nameof(outputGradient));
        ThrowHelper.CheckDense(input.Length, weights.Columns, batch, nameof(input));
        if (weightGradient.Length != weights.NonZeroCount)
        {
            ThrowHelper.Argument($"Weight gradient must have one entry per stored connection ({weights.NonZeroCount}), has {weightGradient.Length}.", nameof(weightGradient));
        }

        if (weightGradient.Overlaps(input) || weightGradient.Overlaps(outputGradient))
        {
            ThrowHelper.Argument("Weight gradient must not overlap the dense operands.", nameof(weightGradient));
        }

        fixed (long* pointers = weights.RowPointers)
        fixed (int* indices = weights.ColumnIndices)
        fixed (float* dy = outputGradient, x = input, dw = weightGradient)
        {
            var partition = new WorkPartition(pointers, weights.Rows, batch, SparseParallel.MaxDegreeOfParallelism);
            ColumnTiling.Run(
                new GatherDotAction(partition, pointers, indices, dy, x, dw, batch, KernelDispatch.Level, null, 0),
                partition, pointers, weights.Rows, weights.Columns, batch);
        }
    }

    private readonly struct GatherDotAction(
        WorkPartition partition, long* pointers, int* indices, float* dy, float* x, float* dw, int batch, SimdLevel level, long* cursors, int tileEnd)
        : ITileableAction<GatherDotAction>
    {
        // Each entry lies in one tile, so tiles write disjoint outputs: nothing is accumulated across them.
        public GatherDotAction ForTile(long* tileCursors, int end, bool later, bool last) =>
            new(partition, pointers, indices, dy, x, dw, batch, level, tileCursors, end);

        public void Execute(int chunk)
        {
            var (first, last) = partition.Rows(chunk);

            // The untiled loop stays as lean as it was before tiling existed: the common case at every width
            // that fits the cache.
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
            if (start == end)
            {
                return;
            }

            var d = dy + ((long)row * batch);
            switch (level)
            {
                case SimdLevel.Vector512:
                    RowKernels.GatherDot<Vector512<float>>(indices, start, end, d, x, batch, dw);
                    break;
                case SimdLevel.Vector256:
                    RowKernels.GatherDot<Vector256<float>>(indices, start, end, d, x, batch, dw);
                    break;
                default:
                    new Span<float>(dw + start, (int)(end - start)).Clear();
                    RowKernels.GatherDotScalar(indices, start, end, d, x, batch, dw, 0);
                    break;
            }
        }
    }
}
