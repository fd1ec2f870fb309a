namespace Sparse.Training;

/// <summary>The learning rate of each epoch, from a base rate.</summary>
public abstract class LearningRateSchedule
{
    /// <summary>The rate for epoch <paramref name="epoch"/> (0 first) of <paramref name="epochs"/>.</summary>
    public abstract float RateAt(float baseRate, int epoch, int epochs);

    /// <summary>
    /// Whether the rate moves within an epoch (a cyclic schedule): <see cref="Trainer"/> then sets it before every step
    /// from <see cref="RateAt(float, int, int, int, int)"/>.
    /// </summary>
    public virtual bool ChangesWithinEpochs => false;

    /// <summary>The rate for batch <paramref name="batch"/> (0 first) of <paramref name="batches"/> in epoch <paramref name="epoch"/>; by default the epoch's.</summary>
    public virtual float RateAt(float baseRate, int epoch, int epochs, int batch, int batches) => RateAt(baseRate, epoch, epochs);

    /// <summary>The base rate throughout.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>The base rate times <paramref name="gamma"/> after every <paramref name="stepEpochs"/> epochs.</summary>
    public static LearningRateSchedule Step(int stepEpochs, float gamma) => new StepSchedule(stepEpochs, gamma);

    /// <summary>Cosine annealing from the base rate down to <paramref name="minimum"/> at the last epoch.</summary>
    public static LearningRateSchedule Cosine(float minimum = 0) => new CosineSchedule(minimum);

    /// <summary>
    /// The base rate times <paramref name="gamma"/> once for each milestone passed, a milestone being epoch
    /// <c>(int)(fraction * epochs)</c> for each of <paramref name="fractions"/>: PyTorch's <c>MultiStepLR</c> with milestones
    /// given as fractions of training, so the same schedule serves any length. <c>Milestones(0.1f, 0.5, 0.75)</c> is the
    /// step decay of GraNet's and Sup-tickets' CIFAR recipes
    /// (0.1, 0.01 from half of training, 0.001 from three quarters).
    /// </summary>
    /// <param name="gamma">The factor at each milestone, in (0, 1].</param>
    /// <param name="fractions">The milestones as fractions of the epochs, each in [0, 1].</param>
    public static LearningRateSchedule Milestones(float gamma, params double[] fractions)
    {
        if (!(gamma is > 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "The factor at a milestone is in (0, 1].");
        }

        foreach (var fraction in fractions)
        {
            if (!(fraction is >= 0 and <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(fractions), fraction, "A milestone is a fraction of training, in [0, 1].");
            }
        }

        return new MilestoneSchedule(gamma, [.. fractions]);
    }

    private sealed class ConstantSchedule : LearningRateSchedule
    {
        public override float RateAt(float baseRate, int epoch, int epochs) => baseRate;
    }

    private sealed class StepSchedule(int stepEpochs, float gamma) : LearningRateSchedule
    {
        public override float RateAt(float baseRate, int epoch, int epochs) => baseRate * MathF.Pow(gamma, epoch / Math.Max(1, stepEpochs));
    }

    private sealed class MilestoneSchedule(float gamma, double[] fractions) : LearningRateSchedule
    {
        public override float RateAt(float baseRate, int epoch, int epochs)
        {
            var passed = 0;
            foreach (var fraction in fractions)
            {
                passed += epoch >= (int)(fraction * epochs) ? 1 : 0;
            }

            return baseRate * MathF.Pow(gamma, passed);
        }
    }

    private sealed class CosineSchedule(float minimum) : LearningRateSchedule
    {
        public override float RateAt(float baseRate, int epoch, int epochs) =>
            epochs <= 1 ? baseRate : minimum + ((baseRate - minimum) * 0.5f * (1 + MathF.Cos(MathF.PI * epoch / (epochs - 1))));
    }
}
