using System.Runtime.Intrinsics;

namespace Sparse.Core;

/// <summary>
/// The training kernels of a sparse layer. Dense operands are feature-major, shape (features, batch):
/// row <c>i</c> holds feature <c>i</c> of every sample, contiguous, so every kernel vectorises along the
/// batch. Work is split across <see cref="SparseParallel.MaxDegreeOfParallelism"/> threads by stored
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
    /// <exception cref="ArgumentException">A length does not match the shapes, or output overlaps input.</exception>
    public static void Multiply(CsrMatrix weights, ReadOnlySpan<float> input, ReadOnlySpan<float> bias, Span<float> output, int batch)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ThrowHelper.CheckDense(input.Length, weights.Columns, batch, nameof(input));
        ThrowHelper.CheckDense(output.Length, weights.Rows, batch, nameof(output));
        if (!bias.IsEmpty && bias.Length != weights.Rows)
        {
            ThrowHelper.Argument($"Bias must have {weights.Rows} entries (one per output) or none, has {bias.Length}.", nameof(bias));
        }

        if (input.Overlaps(output))
        {
            ThrowHelper.Argument("Output must not overlap input.", nameof(output));
        }

        if (batch == 0)
        {
            return;
        }

        fixed (long* pointers = weights.RowPointers)
        fixed (int* indices = weights.ColumnIndices)
        fixed (float* values = weights.Values, x = input, b = bias, y = output)
        {
            var action = new GatherAxpyAction<DirectValues>(
                new WorkPartition(pointers, weights.Rows, batch, SparseParallel.MaxDegreeOfParallelism),
                pointers, indices, new DirectValues(values), x, b, y, batch, KernelDispatch.Level);
            WorkerPool.Shared.Run(ref action, action.Partition.ChunkCount, action.Partition.Threads);
        }
    }

    /// <summary>
    /// For each row <c>j</c> of a compressed structure: <c>y[j, :] = bias[j] + sum_k values[k] * x[indices[k], :]</c>.
    /// Shared by the forward product (CSR) and the input gradient (the transposed view).
    /// </summary>
    private readonly struct GatherAxpyAction<TValues>(
        WorkPartition partition, long* pointers, int* indices, TValues values, float* x, float* bias, float* y, int batch, SimdLevel level)
        : IChunkAction
        where TValues : struct, IEntryValues
    {
        public WorkPartition Partition => partition;

        public void Execute(int chunk)
        {
            var (first, last) = partition.Rows(chunk);
            for (var row = first; row < last; row++)
            {
                var init = bias is null ? 0f : bias[row];
                long start = pointers[row], end = pointers[row + 1];
                var destination = y + ((long)row * batch);
                switch (level)
                {
                    case SimdLevel.Vector512:
                        RowKernels.GatherAxpy<Vector512<float>, TValues>(indices, values, start, end, x, batch, destination, init);
                        break;
                    case SimdLevel.Vector256:
                        RowKernels.GatherAxpy<Vector256<float>, TValues>(indices, values, start, end, x, batch, destination, init);
                        break;
                    default:
                        RowKernels.GatherAxpyScalar(indices, values, start, end, x, batch, destination, init, 0);
                        break;
                }
            }
        }
    }
}
