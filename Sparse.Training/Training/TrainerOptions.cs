namespace Sparse.Training;

/// <summary>Settings of a <see cref="Trainer"/> run.</summary>
public sealed class TrainerOptions
{
    /// <summary>Epochs to train (the run may stop early).</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>Seed of the shuffles.</summary>
    public ulong Seed { get; set; } = 1;

    /// <summary>Learning rate per epoch, from the optimizer's rate at the start.</summary>
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Constant;

    /// <summary>Stop after this many epochs without a better held-out loss; 0 never stops early.</summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>When positive, gradients are scaled so that their global Euclidean norm is at most this before each step (<see cref="GradientClipping"/>).</summary>
    public float ClipNorm { get; set; }

    /// <summary>Throws when a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Names the setting and its valid range.</exception>
    public void Validate()
    {
        if (Epochs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be 1 or more.");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be 1 or more.");
        }

        if (EarlyStoppingPatience < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "The patience must be 0 (off) or more.");
        }

        if (CheckpointEverySteps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CheckpointEverySteps), CheckpointEverySteps, "Steps between checkpoints must be 0 (after epochs only) or more.");
        }

        if (!float.IsFinite(ClipNorm) || ClipNorm < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ClipNorm), ClipNorm, "The clipping norm must be 0 (off) or a positive finite number.");
        }
    }

    /// <summary>
    /// When set, a resumable checkpoint is written here (atomically) after every epoch, and every
    /// <see cref="CheckpointEverySteps"/> steps when that is positive. In data-parallel training rank 0 writes it.
    /// </summary>
    public string? CheckpointPath { get; set; }

    /// <summary>
    /// Whether a resumed run may continue on data other than those it trained on (<see cref="Trainer.DataChangeSince"/>);
    /// the change is recorded in <see cref="TrainingHistory.DataChanges"/>. Off by default: different rows (shuffled,
    /// changed, or split otherwise) would leak trained rows into the held-out set and change what the run measures.
    /// </summary>
    public bool AllowDataChange { get; set; }

    /// <summary>Steps between checkpoints within an epoch (besides the one after every epoch); 0 writes only after epochs.</summary>
    public int CheckpointEverySteps { get; set; }

}

/// <summary>Progress of a run, reported after every batch.</summary>
/// <param name="Epoch">Current epoch, 0 first.</param>
/// <param name="Batch">Batches done in the epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Loss">Mean training loss so far in the epoch.</param>
/// <param name="Accuracy">Training accuracy so far in the epoch (classification only).</param>
/// <param name="SamplesPerSecond">Throughput so far in the epoch.</param>
public readonly record struct TrainingProgress(int Epoch, int Batch, int Batches, float Loss, float? Accuracy, double SamplesPerSecond);
