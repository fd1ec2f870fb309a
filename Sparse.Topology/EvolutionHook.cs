using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Runs a <see cref="TopologyEvolver"/> from the <see cref="Trainer"/> on an <see cref="EvolutionSchedule"/>
/// (by default SET's: zeta 0.3 after every epoch but the last). Gradient-based regrowth makes the network
/// retain its layer gradients. CTRE_seq hears each epoch's validation accuracy.
/// </summary>
public sealed class EvolutionHook(TopologyEvolver evolver, EvolutionSchedule? schedule = null) : ITrainingHook
{
    /// <summary>The evolver.</summary>
    public TopologyEvolver Evolver { get; } = evolver;

    /// <summary>When and how much to rewire.</summary>
    public EvolutionSchedule Schedule { get; } = schedule ?? EvolutionSchedule.EveryEpoch();

    /// <summary>Every evolution's per-layer reports, with the epoch and global step it ran at.</summary>
    public List<(int Epoch, long Step, IReadOnlyList<LayerEvolution> Layers)> History { get; } = [];

    /// <inheritdoc/>
    public void OnStepEnd(TrainingContext context)
    {
        if (Evolver.Regrower.NeedsGradients)
        {
            context.Network.RetainGradients = true;
        }

        if (Schedule.AfterStep(context) is { } fraction)
        {
            Run(context, fraction);
        }
    }

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context)
    {
        if (Evolver.Regrower is CosineRegrower cosine && context.History.Epochs.Count > 0 && context.History.Epochs[^1].TestAccuracy is { } accuracy)
        {
            cosine.ObserveValidationAccuracy(accuracy);
        }

        if (Schedule.AfterEpoch(context) is { } fraction)
        {
            Run(context, fraction);
        }
    }

    private void Run(TrainingContext context, double fraction)
    {
        var layers = Evolver.Evolve(context.Network, context.Optimizer, fraction);
        History.Add((context.Epoch, context.Step, layers));
        foreach (var l in layers)
        {
            context.History.TopologyChanges.Add(new TopologyChange(context.Epoch, context.Step, l.Layer, l.Pruned, l.Grown, l.Connections, l.Density,
                l.MinInDegree, l.MaxInDegree, l.MinOutDegree, l.MaxOutDegree));
        }
    }
}
