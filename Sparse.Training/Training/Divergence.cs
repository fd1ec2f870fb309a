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
        if (FirstNonFiniteParameter(network) is { } bad)
        {
            throw new TrainingDivergedException(epoch, batch, float.NaN, $"sparse layer {bad.Layer} holds NaN or infinite weights");
        }
    }

    /// <summary>The first NaN or infinity among the sparse layers' weights, then biases, layer by layer; null when all are finite.</summary>
    internal static NonFiniteParameter? FirstNonFiniteParameter(SparseNetwork network)
    {
        var layer = 0;
        foreach (var linear in network.SparseLayers)
        {
            // Scanned in the order stored; only a find puts an input-major layer back, so the index is W's.
            if (FirstNonFinite(linear.Stored.Values) >= 0 && FirstNonFinite(linear.Weights.Values) is var w and >= 0)
            {
                return new NonFiniteParameter(layer, IsBias: false, w, linear.Weights.Values[w]);
            }

            if (FirstNonFinite(linear.Bias) is var b and >= 0)
            {
                return new NonFiniteParameter(layer, IsBias: true, b, linear.Bias[b]);
            }

            layer++;
        }

        return null;
    }

    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1.</summary>
    internal static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Where a non-finite parameter is: sparse layer, weight or bias, entry (or neuron), and the value.</summary>
    internal readonly record struct NonFiniteParameter(int Layer, bool IsBias, int Index, float Value);
}
