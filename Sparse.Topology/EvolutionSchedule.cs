using Sparse.Training;

namespace Sparse.Topology;

/// <summary>When the topology evolves, and which fraction of each layer it rewires.</summary>
public abstract class EvolutionSchedule
{
    /// <summary>The fraction to rewire after the step just taken, or null for no evolution now.</summary>
    public virtual double? AfterStep(TrainingContext context) => null;

    /// <summary>The fraction to rewire at the end of the epoch just trained, or null.</summary>
    public virtual double? AfterEpoch(TrainingContext context) => null;

    /// <summary>
    /// Whether an evolution may follow training step <paramref name="stepNumber"/> (counted from 1; <paramref name="endsEpoch"/>
    /// when it is an epoch's last), so its signals must be recorded. The default, true, is right for any rule.
    /// </summary>
    public virtual bool MayEvolveAfter(long stepNumber, bool endsEpoch, TrainingContext context) => true;

    /// <summary>
    /// <paramref name="inner"/> over the first <paramref name="epochs"/> epochs, and no evolution after: its steps within
    /// them, its epoch ends before the last of them (at that one, <see cref="SupTicketsHook"/> rewires instead).
    /// </summary>
    public static EvolutionSchedule Before(EvolutionSchedule inner, int epochs)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return new BeforeSchedule(inner, epochs);
    }

    private sealed class BeforeSchedule(EvolutionSchedule inner, int epochs) : EvolutionSchedule
    {
        public override double? AfterStep(TrainingContext context) => context.Epoch < epochs ? inner.AfterStep(context) : null;

        public override double? AfterEpoch(TrainingContext context) => context.Epoch + 1 < epochs ? inner.AfterEpoch(context) : null;

        public override bool MayEvolveAfter(long stepNumber, bool endsEpoch, TrainingContext context) =>
            context.Epoch < epochs && inner.MayEvolveAfter(stepNumber, endsEpoch, context);
    }

    /// <summary>SET: rewire <paramref name="zeta"/> after every epoch but the last.</summary>
    public static EvolutionSchedule EveryEpoch(double zeta = 0.3) => new EpochSchedule(zeta);

    /// <summary>
    /// RigL: every <paramref name="deltaT"/> steps until <paramref name="endFraction"/> of all training steps,
    /// rewire <c>alpha / 2 x (1 + cos(pi x t / T_end))</c>.
    /// </summary>
    public static EvolutionSchedule CosineDecay(double alpha = 0.3, int deltaT = 100, double endFraction = 0.75)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(deltaT, 1);
        return new CosineSchedule(alpha, deltaT, endFraction, 0);
    }

    /// <summary>
    /// RigL's cosine-decayed fraction (<see cref="CosineDecay"/>) <paramref name="timesPerEpoch"/> times an epoch, whatever
    /// the epoch's length: every <c>max(1, steps per epoch / timesPerEpoch)</c> steps until <paramref name="endFraction"/>
    /// of training. The schedule <c>sparse train</c> uses by default (docs/topology.md has the comparison).
    /// </summary>
    public static EvolutionSchedule CosineDecayPerEpoch(double alpha = 0.3, int timesPerEpoch = 2, double endFraction = 0.75)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timesPerEpoch, 1);
        return new CosineSchedule(alpha, 0, endFraction, timesPerEpoch);
    }

    /// <summary>Any rule: <paramref name="afterStep"/> and <paramref name="afterEpoch"/> return the fraction or null.</summary>
    public static EvolutionSchedule Custom(Func<TrainingContext, double?>? afterStep = null, Func<TrainingContext, double?>? afterEpoch = null) =>
        new CustomSchedule(afterStep, afterEpoch);

    /// <summary>RigL's drop fraction at step <paramref name="step"/> of <paramref name="endStep"/>.</summary>
    public static double CosineFraction(double alpha, long step, long endStep) => alpha / 2 * (1 + Math.Cos(Math.PI * step / endStep));

    private sealed class EpochSchedule(double zeta) : EvolutionSchedule
    {
        public override double? AfterEpoch(TrainingContext context) => context.Epoch < context.Epochs - 1 ? zeta : null;

        public override bool MayEvolveAfter(long stepNumber, bool endsEpoch, TrainingContext context) => endsEpoch;
    }

    // Every deltaT steps, or (deltaT 0) timesPerEpoch times an epoch.
    private sealed class CosineSchedule(double alpha, int deltaT, double endFraction, int timesPerEpoch) : EvolutionSchedule
    {
        public override double? AfterStep(TrainingContext context) =>
            Evolves(context.Step, context, out var end) ? CosineFraction(alpha, context.Step, end) : null;

        public override bool MayEvolveAfter(long stepNumber, bool endsEpoch, TrainingContext context) => Evolves(stepNumber, context, out _);

        private bool Evolves(long step, TrainingContext context, out long end)
        {
            var every = deltaT > 0 ? deltaT : Math.Max(1, context.StepsPerEpoch / timesPerEpoch);
            end = (long)(endFraction * context.Epochs * context.StepsPerEpoch);
            return step % every == 0 && step < end;
        }
    }

    private sealed class CustomSchedule(Func<TrainingContext, double?>? afterStep, Func<TrainingContext, double?>? afterEpoch) : EvolutionSchedule
    {
        public override double? AfterStep(TrainingContext context) => afterStep?.Invoke(context);

        public override double? AfterEpoch(TrainingContext context) => afterEpoch?.Invoke(context);
    }
}
