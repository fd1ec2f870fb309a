namespace Sparse.Training;

/// <summary>The dense signals around one sparse layer in the last step, all feature-major.</summary>
/// <param name="Input">X, shape (in, batch).</param>
/// <param name="Activation">The layer's output after its activation, shape (out, batch).</param>
/// <param name="OutputGradient">dLoss/dY, shape (out, batch), or empty when not retained.</param>
/// <param name="Batch">Samples.</param>
public readonly record struct LayerSignals(ReadOnlyMemory<float> Input, ReadOnlyMemory<float> Activation, ReadOnlyMemory<float> OutputGradient, int Batch);
