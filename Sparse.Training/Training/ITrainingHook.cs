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
    /// Whether this hook rewires the network, so the memory check before training makes room for the
    /// scratch of an evolution step (<see cref="MemoryEstimate.EvolutionBytesPerConnection"/>).
    /// </summary>
    bool RewiresTopology => false;

    /// <summary>
    /// Whether this hook reads the sparse layers' output gradients (RigL's regrowth): <see cref="Trainer.Fit"/> then
    /// sets <see cref="SparseNetwork.RetainGradients"/> before the first step.
    /// </summary>
    bool NeedsGradients => false;
}

/// <summary>What a hook sees.</summary>
public sealed class TrainingContext
{
    internal TrainingContext(SparseNetwork network, Optimizer optimizer, ILoss loss, int epochs)
    {
        Network = network;
        Optimizer = optimizer;
        Loss = loss;
        Epochs = epochs;
    }

    /// <summary>The network being trained.</summary>
    public SparseNetwork Network { get; }

    /// <summary>Its optimizer (whose state must follow rewired connections).</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The loss.</summary>
    public ILoss Loss { get; }

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
}
