using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// One step of a network. Activations are feature-major, shape (features, batch): row <c>i</c> holds
/// feature <c>i</c> of every sample of the batch.
/// </summary>
/// <remarks>
/// The hierarchy is closed: <see cref="SparseLinear"/>, <see cref="Activation"/> and <see cref="Dropout"/> are the
/// layers, and the constructor is internal. Everything that walks a network switches over exactly these
/// three (the checkpoint format, the memory estimate, the fused sparse-then-ReLU steps of
/// <see cref="SparseNetwork"/>), so a new kind of layer is added here, with its serialization, its memory
/// and its fusion, not by a subclass elsewhere that those switches would not know.
/// </remarks>
public abstract class Layer
{
    /// <summary>For the layers of this assembly (and test doubles).</summary>
    internal Layer()
    {
    }

    /// <summary>Features in.</summary>
    public abstract int InputSize { get; }

    /// <summary>Features out.</summary>
    public abstract int OutputSize { get; }

    /// <summary>The trainable parameters (none for an activation).</summary>
    public virtual IReadOnlyList<Parameter> Parameters => [];

    /// <summary>
    /// <c>output = f(input)</c>. input: (InputSize, batch); output: (OutputSize, batch), overwritten.
    /// <paramref name="training"/> switches dropout on; <paramref name="options"/> (threads and SIMD level) defaults
    /// to <see cref="ComputeOptions.Default"/>.
    /// </summary>
    public abstract void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training, ComputeOptions? options = null);

    /// <summary>
    /// Back-propagates: given the <paramref name="input"/> and <paramref name="output"/> of the last forward
    /// pass and dLoss/dOutput, overwrites the parameter gradients and <paramref name="inputGradient"/>
    /// (dLoss/dInput, (InputSize, batch)); an empty <paramref name="inputGradient"/> skips it.
    /// </summary>
    public abstract void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, ComputeOptions? options = null);
}
