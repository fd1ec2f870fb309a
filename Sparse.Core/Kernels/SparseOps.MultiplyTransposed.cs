namespace Sparse.Core;

public static unsafe partial class SparseOps
{
    /// <summary>
    /// Input gradient <c>dX = W^T dY</c>: <c>inputGradient[i, :] = sum_j W[j, i] * outputGradient[j, :]</c>,
    /// through the matrix's transposed view (<see cref="CsrMatrix.Transposed"/>, rebuilt here if the
    /// structure changed), so each input row is owned by one thread and no atomics are needed.
    /// </summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major.</param>
    /// <param name="inputGradient">dX, shape (in, batch); overwritten.</param>
    /// <param name="batch">Number of samples.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or the operands overlap.</exception>
    public static void MultiplyTransposed(CsrMatrix weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ThrowHelper.CheckDense(outputGradient.Length, weights.Rows, batch, nameof(outputGradient));
        ThrowHelper.CheckDense(inputGradient.Length, weights.Columns, batch, nameof(inputGradient));
        if (outputGradient.Overlaps(inputGradient))
        {
            ThrowHelper.Argument("Input gradient must not overlap output gradient.", nameof(inputGradient));
        }

        if (batch == 0)
        {
            return;
        }

        var view = weights.Transposed;
        fixed (long* pointers = view.ColumnPointers)
        fixed (int* indices = view.RowIndices, permutation = view.ValueIndices)
        fixed (float* values = weights.Values, dy = outputGradient, dx = inputGradient)
        {
            RunGatherAxpy(pointers, indices, new PermutedValues(values, permutation), weights.Columns, weights.Rows, dy, null, dx, batch);
        }
    }
}
