namespace Sparse.Training;

/// <summary>What one epoch did.</summary>
/// <param name="Epoch">0 first.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch's batches (classification only).</param>
/// <param name="TestLoss">Loss on the held-out set, if one was given.</param>
/// <param name="TestAccuracy">Accuracy on the held-out set (classification only).</param>
/// <param name="Seconds">Wall time of the epoch, evaluation and hooks included.</param>
/// <param name="EvolutionSeconds">Part of <paramref name="Seconds"/> spent in all training hooks (topology evolution and any others).</param>
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
    float LearningRate)
{
    /// <summary>Connections of each sparse layer at the end of the epoch.</summary>
    public IReadOnlyList<long> LayerConnections { get; init; } = [];

    /// <summary>Connections each sparse layer lost to topology changes in the epoch (empty when nothing changed it).</summary>
    public IReadOnlyList<long> LayerPruned { get; init; } = [];

    /// <summary>Connections each sparse layer gained from topology changes in the epoch (empty when nothing changed it).</summary>
    public IReadOnlyList<long> LayerGrown { get; init; } = [];

    /// <summary>Optimizer steps taken from the start of the run to the end of the epoch (0 in histories saved before it was kept).</summary>
    public long Steps { get; init; }

    /// <summary>Part of <see cref="Seconds"/> spent evaluating the held-out set.</summary>
    public double EvaluationSeconds { get; init; }

    /// <summary>Part of <see cref="Seconds"/> spent in the batches' forward, backward and optimizer steps: the rest once evaluation and hooks are taken out.</summary>
    public double TrainSeconds => Math.Max(0, Seconds - EvaluationSeconds - EvolutionSeconds);
}

/// <summary>What one topology change did to one sparse layer (written by Sparse.Topology's hooks).</summary>
/// <param name="Epoch">Epoch it ran in.</param>
/// <param name="Step">Optimizer steps taken when it ran.</param>
/// <param name="Layer">Index among the network's sparse layers.</param>
/// <param name="Pruned">Connections removed.</param>
/// <param name="Grown">Connections added.</param>
/// <param name="Connections">Connections of the layer afterwards.</param>
/// <param name="Density">Connections over rows x columns afterwards.</param>
/// <param name="MinInDegree">Fewest inputs of an output neuron.</param>
/// <param name="MaxInDegree">Most inputs of an output neuron.</param>
/// <param name="MinOutDegree">Fewest outputs of an input neuron.</param>
/// <param name="MaxOutDegree">Most outputs of an input neuron.</param>
public sealed record TopologyChange(
    int Epoch,
    long Step,
    int Layer,
    int Pruned,
    int Grown,
    long Connections,
    double Density,
    int MinInDegree,
    int MaxInDegree,
    int MinOutDegree,
    int MaxOutDegree);

/// <summary>A resumed run continued on data other than those it had trained on (<see cref="TrainerOptions.AllowDataChange"/>).</summary>
/// <param name="Epoch">The epoch it resumed at (0 first).</param>
/// <param name="Batch">Batches of that epoch already trained.</param>
/// <param name="Change">What differed (<see cref="Trainer.DataChangeSince"/>).</param>
public sealed record DataChange(int Epoch, int Batch, string Change);

/// <summary>The per-epoch records of a training run.</summary>
public sealed class TrainingHistory
{
    /// <summary>One record per finished epoch.</summary>
    public List<EpochRecord> Epochs { get; } = [];

    /// <summary>Every topology change, per layer, in order (not saved in checkpoints).</summary>
    public List<TopologyChange> TopologyChanges { get; } = [];

    /// <summary>Whether early stopping ended the run.</summary>
    public bool StoppedEarly { get; set; }

    /// <summary>Where a resumed run continued on other data, on purpose.</summary>
    public List<DataChange> DataChanges { get; } = [];

    /// <summary>
    /// The stored connections the run's steps trained with: at the first step, at their most, and on average over the
    /// steps, which is what a denser start (gradual pruning, EarlyCroP) or a grown phase (GaP) costs against the final
    /// count. Rebuilt from each epoch's per-layer counts and the topology changes by step: the counts of the first epoch
    /// with its changes undone, then every change applied at its step and the counts taken again from each epoch's end.
    /// </summary>
    /// <returns>The profile, or null when no epoch has finished, the history does not start at the first epoch, or it does
    /// not hold its epochs' steps (histories saved before they were kept).</returns>
    public ConnectionProfile? Connections()
    {
        if (Epochs.Count == 0 || Epochs[0].Epoch != 0 || Epochs.Any(e => e.Steps <= 0) || Epochs[0].LayerConnections.Count == 0)
        {
            return null;
        }

        var counts = Epochs[0].LayerConnections.ToArray();
        foreach (var change in TopologyChanges.Where(c => c.Epoch == 0 && c.Layer < counts.Length))
        {
            counts[change.Layer] -= change.Grown - change.Pruned;
        }

        var start = counts.Sum();
        long peak = start, step = 0;
        var next = 0;
        double connectionSteps = 0;
        foreach (var epoch in Epochs)
        {
            // Each change from the step after it on, then the epoch's own end counts (which also hold any change a hook
            // made without recording it).
            for (; next < TopologyChanges.Count && TopologyChanges[next].Step <= epoch.Steps; next++)
            {
                var change = TopologyChanges[next];
                Train(change.Step);
                if (change.Layer < counts.Length)
                {
                    counts[change.Layer] = change.Connections;
                }
            }

            Train(epoch.Steps);
            counts = [.. epoch.LayerConnections];
        }

        return new ConnectionProfile(start, peak, connectionSteps / Epochs[^1].Steps);

        // Steps (step, until] trained with the counts as they are.
        void Train(long until)
        {
            if (until > step)
            {
                var total = counts.Sum();
                peak = Math.Max(peak, total);
                connectionSteps += (double)total * (until - step);
                step = until;
            }
        }
    }
}

/// <summary>The stored connections over a run's steps (<see cref="TrainingHistory.Connections"/>).</summary>
/// <param name="Start">Connections at the first step.</param>
/// <param name="Peak">The most connections any step trained with.</param>
/// <param name="Mean">Connections averaged over the steps: the run's cost in connection-steps over its steps.</param>
public sealed record ConnectionProfile(long Start, long Peak, double Mean);
