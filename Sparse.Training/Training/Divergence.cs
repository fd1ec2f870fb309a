namespace Sparse.Training;

/// <summary>Checks a custom training loop can call to stop at the first NaN or infinity, as <see cref="Trainer.Fit"/> does.</summary>
public static class Divergence
{
    /// <summary>Throws when <paramref name="loss"/> is NaN or infinite.</summary>
    /// <exception cref="TrainingDivergedException">The loss is not finite.</exception>
    public static void CheckLoss(float loss, int epoch, int batch)
    {
        if (!float.IsFinite(loss))
        {
            throw new TrainingDivergedException(epoch, batch, loss, $"the loss is {loss}");
        }
    }

    /// <summary>Throws when a weight or bias of <paramref name="network"/> is NaN or infinite (one pass over the connections).</summary>
    /// <exception cref="TrainingDivergedException">A parameter is not finite; the message names the layer.</exception>
    public static void CheckWeights(SparseNetwork network, int epoch, int batch = 0)
    {
        ArgumentNullException.ThrowIfNull(network);
        var index = 0;
        foreach (var layer in network.SparseLayers)
        {
            if (Checkpoint.FirstNonFinite(layer.Weights.Values) >= 0 || Checkpoint.FirstNonFinite(layer.Bias) >= 0)
            {
                throw new TrainingDivergedException(epoch, batch, float.NaN, $"sparse layer {index} holds NaN or infinite weights");
            }

            index++;
        }
    }
}
