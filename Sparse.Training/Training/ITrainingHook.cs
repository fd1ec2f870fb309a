namespace Sparse.Training;

/// <summary>
/// Called by <see cref="Trainer"/> after each optimizer step and after each epoch; topology evolution
/// plugs in here. Time spent in hooks is reported as <see cref="EpochRecord.EvolutionSeconds"/>.
/// </summary>
public interface ITrainingHook
{
    /// <summary>After the optimizer step of a batch.</summary>
    void OnStepEnd(TrainingContext context);

    /// <summary>After an epoch's training batches, before its evaluation.</summary>
    void OnEpochEnd(TrainingContext context);

    /// <summary>After an epoch's evaluation on the held-out set (not called without one); the epoch's record is in <see cref="TrainingContext.History"/>.</summary>
    void OnEvaluated(TrainingContext context, Evaluation evaluation)
    {
    }

    /// <summary>
    /// The scratch a rewiring by this hook needs, in bytes per connection of the layer it rewires (0 for a hook that
    /// leaves the topology alone), so the memory check before training makes room for it on the largest layer.
    /// </summary>
    /// <param name="optimizerSlots">State arrays per parameter that move with the connections.</param>
    long RewiringBytesPerConnection(int optimizerSlots) => 0;

    /// <summary>
    /// What this hook reads of each training step (CTRE's activations, RigL's output gradients): <see cref="Trainer.Fit"/>
    /// records that into <see cref="TrainingContext.Signals"/> during every backward pass.
    /// </summary>
    SignalKinds Signals => SignalKinds.None;

    /// <summary>
    /// Whether this hook reads the signals of training step <paramref name="stepNumber"/> (counted over the run, from 1;
    /// <paramref name="endsEpoch"/> when it is an epoch's last), asked before that step's backward pass, so that
    /// steps nobody reads are not recorded. The default, true, records every step.
    /// </summary>
    bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context) => true;
}

/// <summary>What a hook sees.</summary>
public sealed class TrainingContext
{
    internal TrainingContext(SparseNetwork network, Optimizer optimizer, ILoss loss, int epochs)
    {
        (Network, Optimizer, Loss, Epochs) = (network, optimizer, loss, epochs);
    }

    /// <summary>The network being trained.</summary>
    public SparseNetwork Network { get; }

    /// <summary>Its optimizer (whose state must follow rewired connections).</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The loss.</summary>
    public ILoss Loss { get; }

    /// <summary>The run's seed (<see cref="TrainerOptions.Seed"/>), from which a hook derives its own streams (<see cref="Sparse.Core.RandomStreams"/>).</summary>
    public ulong Seed { get; internal set; }

    /// <summary>Total epochs of the run.</summary>
    public int Epochs { get; }

    /// <summary>Current epoch, 0 first.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Optimizer steps taken in the whole run.</summary>
    public long Step { get; internal set; }

    /// <summary>Batches per epoch.</summary>
    public int StepsPerEpoch { get; internal set; }

    /// <summary>The run's records so far (the current epoch is added after its hooks).</summary>
    public TrainingHistory History { get; internal set; } = new();

    /// <summary>The batch just trained on (valid during <see cref="ITrainingHook.OnStepEnd"/>).</summary>
    public Batch? Batch { get; internal set; }

    /// <summary>
    /// The last training step's signals, when a hook asked for them (<see cref="ITrainingHook.Signals"/>); current
    /// during <see cref="ITrainingHook.OnStepEnd"/> and <see cref="ITrainingHook.OnEpochEnd"/>, stale after the epoch's evaluation.
    /// </summary>
    public SignalRecorder? Signals { get; internal set; }

    /// <summary>
    /// The rows being trained on (every rank's whole set in data-parallel training), for a hook that records an
    /// <see cref="ActivationSample"/> of them; null when the hook is driven outside <see cref="Trainer.Fit"/>.
    /// </summary>
    public Dataset? TrainingData { get; internal set; }
}
