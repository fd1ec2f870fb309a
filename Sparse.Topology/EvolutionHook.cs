using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Runs a <see cref="TopologyEvolver"/> from the <see cref="Trainer"/> on an <see cref="EvolutionSchedule"/>
/// (by default RigL's: twice an epoch, a fraction cosine-decayed from 0.3, until 75 % of training; the schedule that
/// won the comparison in docs/topology.md). The trainer records the signals the pruner and
/// regrower read (<see cref="ITrainingHook.Signals"/>) and passes them in <see cref="TrainingContext.Signals"/>; the
/// regrower hears each epoch's validation accuracy after the evaluation (CTRE_seq follows it).
/// </summary>
public sealed class EvolutionHook(TopologyEvolver evolver, EvolutionSchedule? schedule = null) : ITrainingHook, IResumableState
{
    /// <summary>The evolver.</summary>
    public TopologyEvolver Evolver { get; } = evolver;

    /// <summary>When and how much to rewire.</summary>
    public EvolutionSchedule Schedule { get; } = schedule ?? EvolutionSchedule.CosineDecayPerEpoch();

    /// <summary>
    /// For rules that read <see cref="SignalKinds.TrainingSample"/> (CTRE): the most training rows an evolution's
    /// <see cref="ActivationSample"/> holds; 0 (the default) takes every row that fits in <see cref="SampleBytes"/>.
    /// Below the training set's size, each evolution draws its own subset.
    /// </summary>
    public int SampleRows { get; init; }

    /// <summary>The byte budget of an evolution's <see cref="ActivationSample"/> (default <see cref="ActivationSample.DefaultBytes"/>).</summary>
    public long SampleBytes { get; init; } = ActivationSample.DefaultBytes;

    /// <summary>Rows of the last evolution's <see cref="ActivationSample"/>, 0 before any.</summary>
    public int LastSampleRows { get; private set; }

    /// <summary>Every evolution's per-layer records (also added to the trainer's <see cref="TrainingHistory.TopologyChanges"/>).</summary>
    public List<IReadOnlyList<TopologyChange>> History { get; } = [];

    /// <inheritdoc/>
    public long RewiringBytesPerConnection(int optimizerSlots) => Evolver.ScratchBytesPerConnection(optimizerSlots);

    /// <inheritdoc/>
    public SignalKinds Signals => Evolver.Signals;

    /// <inheritdoc/>
    public bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context) => Schedule.MayEvolveAfter(stepNumber, endsEpoch, context);

    /// <inheritdoc/>
    public void OnStepEnd(TrainingContext context)
    {
        if (Schedule.AfterStep(context) is { } fraction)
        {
            Run(context, fraction);
        }
    }

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context)
    {
        if (Schedule.AfterEpoch(context) is { } fraction)
        {
            Run(context, fraction);
        }
    }

    /// <summary>
    /// Evolves now, off the schedule, rewiring <paramref name="fraction"/> of each layer with the step's signals in
    /// <paramref name="context"/> (recorded when another hook asked for them) and a sample when the rules read one: what
    /// <see cref="SupTicketsHook"/> does at the start of each cycle.
    /// </summary>
    public void EvolveNow(TrainingContext context, double fraction)
    {
        ArgumentNullException.ThrowIfNull(context);
        Run(context, fraction);
    }

    /// <summary>Reports the epoch's validation accuracy to a regrower that follows it (CTRE_seq), for its next evolution.</summary>
    public void OnEvaluated(TrainingContext context, Evaluation evaluation)
    {
        if (evaluation.Accuracy is { } accuracy)
        {
            Evolver.Regrower.ObserveValidationAccuracy(accuracy);
        }
    }

    /// <summary>Writes the pruner's and the regrower's state (random streams, CTRE_seq's phase), where they have one.</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var part in new object[] { Evolver.Pruner, Evolver.Regrower })
        {
            writer.Write(part.GetType().Name);
            if (part is IResumableState state)
            {
                state.WriteState(writer);
            }
        }
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        foreach (var part in new object[] { Evolver.Pruner, Evolver.Regrower })
        {
            var saved = reader.ReadString();
            if (saved != part.GetType().Name)
            {
                throw new InvalidDataException($"the checkpoint's evolver used {saved} where this one uses {part.GetType().Name}");
            }

            (part as IResumableState)?.ReadState(reader);
        }
    }

    private void Run(TrainingContext context, double fraction)
    {
        ActivationSample? sample = null;
        if ((Evolver.Signals & SignalKinds.TrainingSample) != 0)
        {
            // A rule that reads the step (gradient regrowth) beside one that reads the sample (cosine pruning): the
            // sample's inference pass would overwrite the step's activations.
            if ((Evolver.Signals & SignalRecorder.StepKinds) != 0 && context.Signals is { IsCurrent: true } step)
            {
                step.KeepAcrossPasses();
            }

            sample = RecordSample(context);
        }

        var changes = Evolver.Evolve(context.Network, context.Optimizer, fraction, context.Signals, context.Epoch, context.Step, sample);
        History.Add(changes);
        context.History.TopologyChanges.AddRange(changes);
    }

    // One inference pass over the training rows, as CTRE's reference does after each epoch.
    private ActivationSample? RecordSample(TrainingContext context)
    {
        var sample = ActivationSample.Record(context, SampleBytes, SampleRows, context.Loss is SoftmaxCrossEntropy);
        LastSampleRows = sample?.Rows ?? LastSampleRows;
        return sample;
    }
}
