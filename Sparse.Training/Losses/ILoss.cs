using Sparse.Core;

namespace Sparse.Training;

/// <summary>A loss over a batch of network outputs, shape (outputs, batch).</summary>
public interface ILoss
{
    /// <summary>
    /// Returns the mean loss over the batch and overwrites <paramref name="outputGradient"/> (shape
    /// (outputs, batch)) with dLoss/dOutput. <paramref name="options"/> sets the SIMD level
    /// (<see cref="ComputeOptions.Default"/> when null).
    /// </summary>
    float Compute(ReadOnlySpan<float> output, Batch batch, Span<float> outputGradient, ComputeOptions? options = null);

    /// <summary>The mean loss over the batch, without a gradient.</summary>
    float Evaluate(ReadOnlySpan<float> output, Batch batch, ComputeOptions? options = null);

    /// <summary>
    /// Samples of <paramref name="batch"/> whose largest output is their label (classification), as
    /// <see cref="Trainer"/> and <see cref="Metrics.Evaluate"/> count them. A loss over several heads
    /// (<see cref="MultiHeadLoss"/>) counts each head and gives the mean.
    /// </summary>
    int CountCorrect(ReadOnlySpan<float> output, Batch batch) => Metrics.CountCorrect(output, batch);
}
