namespace Sparse.Training;

/// <summary>
/// Training produced a NaN or infinite loss or weight. Raised by <see cref="Trainer.Fit"/> and by
/// <see cref="Divergence"/>'s checks at the batch where it was seen; nothing was saved after that batch.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for epoch <paramref name="epoch"/> (0 first) and batch <paramref name="batch"/> (1 first; 0 when seen at the epoch's end).</summary>
    public TrainingDivergedException(int epoch, int batch, float loss, string what)
        : base($"training diverged in epoch {epoch + 1}{(batch > 0 ? $", batch {batch}" : string.Empty)}: {what}. " +
            "A lower learning rate, gradient-norm clipping or Adam usually trains.")
    {
        (Epoch, Batch, Loss) = (epoch, batch, loss);
    }

    /// <summary>The epoch (0 first).</summary>
    public int Epoch { get; }

    /// <summary>The batch within the epoch (1 first), or 0 when the weights were found non-finite at the epoch's end.</summary>
    public int Batch { get; }

    /// <summary>The batch's loss (NaN when not known).</summary>
    public float Loss { get; }
}
