namespace Sparse.Training;

/// <summary>Loss and, for classification, accuracy of a network on a dataset.</summary>
/// <param name="Loss">Mean loss per sample.</param>
/// <param name="Accuracy">Fraction of samples whose largest output is their label; null for regression.</param>
public readonly record struct Evaluation(float Loss, float? Accuracy);

/// <summary>Evaluation helpers.</summary>
public static class Metrics
{
    /// <summary>Runs <paramref name="network"/> over <paramref name="data"/> in evaluation mode (no dropout).</summary>
    public static Evaluation Evaluate(SparseNetwork network, Dataset data, ILoss loss, int batchSize = 256)
    {
        var loader = new BatchLoader(data, batchSize, network.Normalization, shuffle: false, seed: 0, network.Compute);
        double totalLoss = 0;
        long correct = 0;
        while (loader.Next())
        {
            var batch = loader.Batch;
            var output = network.Forward(batch, training: false);
            totalLoss += (double)loss.Evaluate(output, batch, network.Compute) * batch.Size;
            if (data.IsClassification)
            {
                correct += loss.CountCorrect(output, batch);
            }
        }

        var count = Math.Max(1, data.Count);
        return new Evaluation((float)(totalLoss / count), data.IsClassification ? (float)correct / count : null);
    }

    /// <summary>Samples of <paramref name="batch"/> whose largest output (shape (classes, batch)) is their label.</summary>
    public static int CountCorrect(ReadOnlySpan<float> output, Batch batch)
    {
        var n = batch.Size;
        var classes = output.Length / Math.Max(1, n);
        var correct = 0;
        for (var b = 0; b < n; b++)
        {
            if (ArgMax(output, b, n, classes) == batch.Labels[b])
            {
                correct++;
            }
        }

        return correct;
    }

    /// <summary>The class with the largest output for sample <paramref name="sample"/>; ties go to the lower class.</summary>
    public static int ArgMax(ReadOnlySpan<float> output, int sample, int batch, int classes)
    {
        var best = 0;
        for (var c = 1; c < classes; c++)
        {
            if (output[(c * batch) + sample] > output[(best * batch) + sample])
            {
                best = c;
            }
        }

        return best;
    }
}
