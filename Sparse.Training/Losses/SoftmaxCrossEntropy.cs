namespace Sparse.Training;

/// <summary>
/// Softmax over the outputs (the logits) followed by cross-entropy with the class label:
/// <c>loss = mean_b( logsumexp(z[:, b]) - z[label_b, b] )</c>, computed after subtracting each sample's
/// largest logit so no exponential overflows. dLoss/dz = (softmax(z) - onehot(label)) / batch.
/// </summary>
public sealed class SoftmaxCrossEntropy : ILoss
{
    /// <inheritdoc/>
    public float Compute(ReadOnlySpan<float> output, Batch batch, Span<float> outputGradient) =>
        Run(output, batch, outputGradient, withGradient: true);

    /// <inheritdoc/>
    public float Evaluate(ReadOnlySpan<float> output, Batch batch) => Run(output, batch, [], withGradient: false);

    private static float Run(ReadOnlySpan<float> logits, Batch batch, Span<float> gradient, bool withGradient)
    {
        var n = batch.Size;
        var classes = n == 0 ? 0 : logits.Length / n;
        var labels = batch.Labels;
        double total = 0;
        for (var b = 0; b < n; b++)
        {
            var max = float.NegativeInfinity;
            for (var c = 0; c < classes; c++)
            {
                max = MathF.Max(max, logits[(c * n) + b]);
            }

            double sum = 0;
            for (var c = 0; c < classes; c++)
            {
                sum += Math.Exp(logits[(c * n) + b] - max);
            }

            var label = labels[b];
            total += Math.Log(sum) - (logits[(label * n) + b] - max);
            if (withGradient)
            {
                for (var c = 0; c < classes; c++)
                {
                    var p = Math.Exp(logits[(c * n) + b] - max) / sum;
                    gradient[(c * n) + b] = (float)((p - (c == label ? 1 : 0)) / n);
                }
            }
        }

        return (float)(total / n);
    }
}
