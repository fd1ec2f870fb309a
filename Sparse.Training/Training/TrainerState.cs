namespace Sparse.Training;

/// <summary>
/// Where a <see cref="Trainer"/> stands in its run and the settings that run was trained with: the <c>trainer</c> section
/// of a checkpoint. <see cref="Trainer.Resume"/> continues from the position and refuses settings that would not
/// continue the same run (another batch size, seed, clipping or loss).
/// </summary>
public sealed record TrainerState
{
    /// <summary>The section's name in a checkpoint.</summary>
    public const string SectionName = "trainer";

    /// <summary>The layout this build writes and the newest it reads.</summary>
    public const int SectionVersion = 1;

    /// <summary>Epochs finished: the epoch a resumed run starts at.</summary>
    public int Epoch { get; init; }

    /// <summary>Batches of <see cref="Epoch"/> already trained when an interrupted run saved (0 at an epoch's end).</summary>
    public int Batch { get; init; }

    /// <summary>The learning rate the schedule starts from.</summary>
    public float BaseLearningRate { get; init; }

    /// <summary>The interrupted epoch's summed batch loss (times samples) so far.</summary>
    public double EpochLossSum { get; init; }

    /// <summary>The interrupted epoch's correctly classified samples so far.</summary>
    public long EpochCorrect { get; init; }

    /// <summary>The interrupted epoch's samples so far.</summary>
    public long EpochSeen { get; init; }

    /// <summary>The run's <see cref="TrainerOptions"/>, or null when the file was not written by a trainer (a model saved by hand, format versions 1 and 2).</summary>
    public TrainerOptions? Options { get; init; }

    /// <summary>The loss's type name, or null when not known.</summary>
    public string? Loss { get; init; }

    /// <summary>The training rows the run fitted on, or null when not known (a run that never fitted, format versions 1 and 2).</summary>
    public DataFingerprint? TrainData { get; init; }

    /// <summary>The held-out rows it evaluated on, or null when none or not known.</summary>
    public DataFingerprint? TestData { get; init; }

    /// <summary>The section that holds this state.</summary>
    public CheckpointSection ToSection() => CheckpointSection.Write(SectionName, SectionVersion, w =>
    {
        w.Write(Epoch);
        w.Write(Batch);
        w.Write(BaseLearningRate);
        w.Write(EpochLossSum);
        w.Write(EpochCorrect);
        w.Write(EpochSeen);
        w.Write(Loss ?? string.Empty);
        w.Write(Options is not null);
        if (Options is { } o)
        {
            w.Write(o.Epochs);
            w.Write(o.BatchSize);
            w.Write(o.Seed);
            w.Write(o.ClipNorm);
            w.Write(o.EarlyStoppingPatience);
            w.Write(o.CheckpointEverySteps);
        }

        foreach (var data in new[] { TrainData, TestData })
        {
            w.Write(data is not null);
            if (data is { } d)
            {
                w.Write(d.Rows);
                w.Write(d.Features);
                w.Write(d.Hash);
            }
        }
    });

    /// <summary>Reads a <c>trainer</c> section.</summary>
    /// <exception cref="InvalidDataException">A newer layout, or a position or setting out of range.</exception>
    public static TrainerState Read(CheckpointSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var state = section.Read(SectionVersion, (r, _) => new TrainerState
        {
            Epoch = r.ReadInt32(),
            Batch = r.ReadInt32(),
            BaseLearningRate = r.ReadSingle(),
            EpochLossSum = r.ReadDouble(),
            EpochCorrect = r.ReadInt64(),
            EpochSeen = r.ReadInt64(),
            Loss = r.ReadString() is { Length: > 0 } loss ? loss : null,
            Options = r.ReadBoolean()
                ? new TrainerOptions
                {
                    Epochs = r.ReadInt32(),
                    BatchSize = r.ReadInt32(),
                    Seed = r.ReadUInt64(),
                    ClipNorm = r.ReadSingle(),
                    EarlyStoppingPatience = r.ReadInt32(),
                    CheckpointEverySteps = r.ReadInt32(),
                }
                : null,
            TrainData = ReadFingerprint(r),
            TestData = ReadFingerprint(r),
        });
        state.Check();
        return state;
    }

    private static DataFingerprint? ReadFingerprint(BinaryReader r) => r.ReadBoolean() ? new DataFingerprint(r.ReadInt32(), r.ReadInt32(), r.ReadUInt64()) : null;

    /// <summary>Throws when a position or setting is out of range (a damaged file).</summary>
    /// <exception cref="InvalidDataException">Names the value.</exception>
    public void Check()
    {
        if (Epoch is < 0 or > Checkpoint.MaxEpoch)
        {
            throw new InvalidDataException($"epoch {Epoch} is out of range (0 to {Checkpoint.MaxEpoch})");
        }

        if (Batch < 0)
        {
            throw new InvalidDataException($"resume batch {Batch} is not a whole number of 0 or more");
        }

        if (!float.IsFinite(BaseLearningRate) || BaseLearningRate < 0)
        {
            throw new InvalidDataException($"base learning rate {BaseLearningRate} is not a finite number of 0 or more");
        }

        if (!double.IsFinite(EpochLossSum) || EpochCorrect < 0 || EpochSeen < 0 || EpochCorrect > EpochSeen)
        {
            throw new InvalidDataException($"the interrupted epoch's sums ({EpochLossSum}, {EpochCorrect} correct of {EpochSeen}) are not plausible");
        }

        try
        {
            Options?.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidDataException($"the saved trainer options are out of range ({e.Message})", e);
        }
    }
}
