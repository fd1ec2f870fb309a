namespace Sparse.Training;

/// <summary>What one epoch did.</summary>
/// <param name="Epoch">0 first.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch's batches (classification only).</param>
/// <param name="TestLoss">Loss on the held-out set, if one was given.</param>
/// <param name="TestAccuracy">Accuracy on the held-out set (classification only).</param>
/// <param name="Seconds">Wall time of the epoch, evaluation and hooks included.</param>
/// <param name="EvolutionSeconds">Part of <paramref name="Seconds"/> spent in hooks (topology evolution).</param>
/// <param name="Connections">Stored connections at the end of the epoch.</param>
/// <param name="LearningRate">The rate used in the epoch.</param>
public sealed record EpochRecord(
    int Epoch,
    float TrainLoss,
    float? TrainAccuracy,
    float? TestLoss,
    float? TestAccuracy,
    double Seconds,
    double EvolutionSeconds,
    long Connections,
    float LearningRate);

/// <summary>The per-epoch records of a training run.</summary>
public sealed class TrainingHistory
{
    /// <summary>One record per finished epoch.</summary>
    public List<EpochRecord> Epochs { get; } = [];

    /// <summary>Whether early stopping ended the run.</summary>
    public bool StoppedEarly { get; set; }
}
