using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Mean squared error against regression targets: <c>loss = mean over outputs and samples of (y - t)^2</c>;
/// dLoss/dy = 2 (y - t) / (outputs x batch).
/// </summary>
public sealed class MeanSquaredError : ILoss
{
    /// <inheritdoc/>
    public float Compute(ReadOnlySpan<float> output, Batch batch, Span<float> outputGradient, ComputeOptions? options = null) => Run(output, batch, outputGradient, true);

    /// <inheritdoc/>
    public float Evaluate(ReadOnlySpan<float> output, Batch batch, ComputeOptions? options = null) => Run(output, batch, [], false);

    private static float Run(ReadOnlySpan<float> output, Batch batch, Span<float> gradient, bool withGradient)
    {
        var count = batch.Size * batch.TargetCount;
        var targets = batch.Targets;
        double total = 0;
        for (var k = 0; k < count; k++)
        {
            var difference = output[k] - targets[k];
            total += (double)difference * difference;
            if (withGradient)
            {
                gradient[k] = 2 * difference / count;
            }
        }

        return count == 0 ? 0 : (float)(total / count);
    }
}
