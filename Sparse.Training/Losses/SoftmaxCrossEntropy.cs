using System.Buffers;
using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Softmax over the outputs (the logits) followed by cross-entropy with the class label:
/// <c>loss = mean_b( logsumexp(z[:, b]) - z[label_b, b] )</c>, computed after subtracting each sample's
/// largest logit so no exponential overflows. dLoss/dz = (softmax(z) - onehot(label)) / batch.
/// </summary>
public sealed class SoftmaxCrossEntropy : ILoss
{
    /// <inheritdoc/>
    public float Compute(ReadOnlySpan<float> output, Batch batch, Span<float> outputGradient, ComputeOptions? options = null) =>
        Run(output, batch, outputGradient, withGradient: true, options ?? ComputeOptions.Default);

    /// <inheritdoc/>
    public float Evaluate(ReadOnlySpan<float> output, Batch batch, ComputeOptions? options = null) =>
        Run(output, batch, [], withGradient: false, options ?? ComputeOptions.Default);

    /// <summary>
    /// Softmax of each sample's logits, feature-major: <paramref name="logits"/> and <paramref name="probabilities"/>
    /// are (classes, batch), and column <c>b</c> of the result is <c>exp(z[:, b] - max) / sum</c>. Vectorised
    /// along the batch, one class row at a time.
    /// </summary>
    /// <param name="logits">z, shape (classes, batch).</param>
    /// <param name="batch">Samples (columns).</param>
    /// <param name="probabilities">The result, same shape; may be <paramref name="logits"/> itself.</param>
    /// <param name="options">The SIMD level; <see cref="ComputeOptions.Default"/> when null.</param>
    public static void Softmax(ReadOnlySpan<float> logits, int batch, Span<float> probabilities, ComputeOptions? options = null)
    {
        options ??= ComputeOptions.Default;
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (batch == 0)
        {
            return;
        }

        if (logits.Length % batch != 0 || probabilities.Length < logits.Length)
        {
            throw new ArgumentException($"Logits ({logits.Length}) must be whole columns of {batch} samples, and the result at least as long.", nameof(logits));
        }

        var rented = ArrayPool<float>.Shared.Rent(2 * batch);
        try
        {
            var max = rented.AsSpan(0, batch);
            var sum = rented.AsSpan(batch, batch);
            Exponentials(logits, batch, probabilities, max, sum, options);
            for (var c = 0; c < logits.Length / batch; c++)
            {
                var row = probabilities.Slice(c * batch, batch);
                DenseOps.Divide(row, sum, row, options);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    // e[c, b] = exp(z[c, b] - max[b]) with max[b] the sample's largest logit, and sum[b] = sum_c e[c, b].
    private static void Exponentials(ReadOnlySpan<float> logits, int batch, Span<float> e, Span<float> max, Span<float> sum, ComputeOptions options)
    {
        var classes = logits.Length / batch;
        max.Fill(float.NegativeInfinity);
        for (var c = 0; c < classes; c++)
        {
            DenseOps.Max(max, logits.Slice(c * batch, batch), max, options);
        }

        sum.Clear();
        for (var c = 0; c < classes; c++)
        {
            var row = e.Slice(c * batch, batch);
            DenseOps.Subtract(logits.Slice(c * batch, batch), max, row, options);
            DenseOps.Exp(row, row, options);
            DenseOps.Add(sum, row, sum, options);
        }
    }

    private static float Run(ReadOnlySpan<float> logits, Batch batch, Span<float> gradient, bool withGradient, ComputeOptions options)
    {
        var n = batch.Size;
        if (n == 0)
        {
            return 0;
        }

        var labels = batch.Labels;

        // Rented scratch: the per-sample max and sum, and the exponentials when no gradient is wanted.
        var rented = ArrayPool<float>.Shared.Rent((2 * n) + (withGradient ? 0 : logits.Length));
        try
        {
            var max = rented.AsSpan(0, n);
            var sum = rented.AsSpan(n, n);
            var e = withGradient ? gradient[..logits.Length] : rented.AsSpan(2 * n, logits.Length);
            Exponentials(logits, n, e, max, sum, options);

            // loss_b = log(sum_b) - (z[label_b, b] - max_b): no probability is ever logged, so none underflows to -inf.
            double total = 0;
            for (var b = 0; b < n; b++)
            {
                total += Math.Log(sum[b]) - (logits[(labels[b] * n) + b] - max[b]);
            }

            if (withGradient)
            {
                // dz = (softmax(z) - onehot(label)) / n
                var classes = logits.Length / n;
                DenseOps.Reciprocal(sum, sum, options);
                DenseOps.Multiply(sum, 1f / n, sum, options);
                for (var c = 0; c < classes; c++)
                {
                    var row = e.Slice(c * n, n);
                    DenseOps.Multiply(row, sum, row, options);
                }

                for (var b = 0; b < n; b++)
                {
                    gradient[(labels[b] * n) + b] -= 1f / n;
                }
            }

            return (float)(total / n);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }
}
