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
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or the operands overlap.</exception>
    public static void MultiplyTransposed(CsrMatrix weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, ComputeOptions? options = null)
    {
        CheckTransposed(weights, outputGradient, inputGradient, batch);
        MultiplyTransposed(weights, outputGradient, inputGradient, batch, default(PlainStore), options ?? ComputeOptions.Default);
    }

    /// <summary>
    /// Input gradient through the ReLU that produced this layer's input, in one pass:
    /// <c>inputGradient = (W^T dY) * [gate &gt; 0]</c>, where <paramref name="gate"/> is the ReLU's output (the
    /// layer's input X), so the result is the gradient with respect to the ReLU's input. A ReLU output is above
    /// zero exactly where its input is, so the pre-activation need not be kept. Where the gate is not above zero
    /// the result is +0, even for an infinite or NaN gradient, since the derivative there is exactly zero.
    /// </summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major.</param>
    /// <param name="gate">The ReLU's output, shape (in, batch).</param>
    /// <param name="inputGradient">The gradient at the ReLU's input, shape (in, batch); overwritten.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or the result overlaps an operand.</exception>
    public static void MultiplyTransposedGated(CsrMatrix weights, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> gate, Span<float> inputGradient, int batch, ComputeOptions? options = null)
    {
        CheckTransposed(weights, outputGradient, inputGradient, batch);
        CheckGate(weights, gate, inputGradient, batch);
        fixed (float* g = gate)
        {
            MultiplyTransposed(weights, outputGradient, inputGradient, batch, new GatedStore(g), options ?? ComputeOptions.Default);
        }
    }

    /// <summary>
    /// <see cref="MultiplyTransposed(CsrMatrix, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/> gathering dY
    /// stored as <see cref="BFloat16"/>, widened to float in registers; sums in float.
    /// </summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major, in bfloat16.</param>
    /// <param name="inputGradient">dX, shape (in, batch); overwritten.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or the operands overlap.</exception>
    public static void MultiplyTransposed(CsrMatrix weights, ReadOnlySpan<BFloat16> outputGradient, Span<float> inputGradient, int batch, ComputeOptions? options = null)
    {
        CheckTransposed(weights, outputGradient, inputGradient, batch);
        MultiplyTransposed(weights, outputGradient, inputGradient, batch, default(PlainStore), options ?? ComputeOptions.Default);
    }

    /// <summary>
    /// <see cref="MultiplyTransposedGated(CsrMatrix, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/>
    /// gathering dY stored as <see cref="BFloat16"/>; the gate stays in float.
    /// </summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major, in bfloat16.</param>
    /// <param name="gate">The ReLU's output, shape (in, batch).</param>
    /// <param name="inputGradient">The gradient at the ReLU's input, shape (in, batch); overwritten.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads, SIMD level and tiling; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or the result overlaps an operand.</exception>
    public static void MultiplyTransposedGated(CsrMatrix weights, ReadOnlySpan<BFloat16> outputGradient, ReadOnlySpan<float> gate, Span<float> inputGradient, int batch, ComputeOptions? options = null)
    {
        CheckTransposed(weights, outputGradient, inputGradient, batch);
        CheckGate(weights, gate, inputGradient, batch);
        fixed (float* g = gate)
        {
            MultiplyTransposed(weights, outputGradient, inputGradient, batch, new GatedStore(g), options ?? ComputeOptions.Default);
        }
    }

    private static void CheckGate(CsrMatrix weights, ReadOnlySpan<float> gate, Span<float> inputGradient, int batch)
    {
        ThrowHelper.CheckDense(gate.Length, weights.Columns, batch, nameof(gate));

        // A column tile writes partial sums before the last one reads the gate.
        if (gate.Overlaps(inputGradient))
        {
            ThrowHelper.Argument("Input gradient must not overlap the gate.", nameof(inputGradient));
        }
    }

    private static void CheckTransposed<TX>(CsrMatrix weights, ReadOnlySpan<TX> outputGradient, Span<float> inputGradient, int batch)
        where TX : unmanaged
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ThrowHelper.CheckDense(outputGradient.Length, weights.Rows, batch, nameof(outputGradient));
        ThrowHelper.CheckDense(inputGradient.Length, weights.Columns, batch, nameof(inputGradient));
        if (System.Runtime.InteropServices.MemoryMarshal.AsBytes(outputGradient).Overlaps(System.Runtime.InteropServices.MemoryMarshal.AsBytes(inputGradient)))
        {
            ThrowHelper.Argument("Input gradient must not overlap output gradient.", nameof(inputGradient));
        }
    }

    private static void MultiplyTransposed<TX, TEpilogue>(CsrMatrix weights, ReadOnlySpan<TX> outputGradient, Span<float> inputGradient, int batch, TEpilogue epilogue, ComputeOptions options)
        where TX : unmanaged
        where TEpilogue : struct, IStoreEpilogue<TEpilogue>
    {
        if (batch == 0)
        {
            return;
        }

        var view = weights.Transposed;
        fixed (long* pointers = view.ColumnPointers)
        fixed (int* indices = view.RowIndices, permutation = view.ValueIndices)
        fixed (TX* dy = outputGradient)
        fixed (float* values = weights.Values, dx = inputGradient)
        {
            var reach = options.NeedsReach(weights.Rows, batch, sizeof(TX)) ? view.GatherReach(weights.Rows) : weights.Rows;
            RunGatherAxpy(pointers, indices, new PermutedValues(values, permutation), weights.Columns, weights.Rows, reach, dy, null, dx, batch, epilogue, options);
        }
    }
}
