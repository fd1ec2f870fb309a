using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Runs a <see cref="TopologyEvolver"/> from the <see cref="Trainer"/>: after each epoch but the last
/// (SET's schedule), or every <see cref="EverySteps"/> optimizer steps when that is set.
/// </summary>
public sealed class EvolutionHook(TopologyEvolver evolver) : ITrainingHook
{
    /// <summary>The evolver.</summary>
    public TopologyEvolver Evolver { get; } = evolver;

    /// <summary>Evolve every this many steps instead of after epochs; 0 for after epochs.</summary>
    public int EverySteps { get; init; }

    /// <summary>Every step's per-layer reports, with the epoch and global step they ran at.</summary>
    public List<(int Epoch, long Step, IReadOnlyList<LayerEvolution> Layers)> History { get; } = [];

    /// <inheritdoc/>
    public void OnStepEnd(TrainingContext context)
    {
        if (EverySteps > 0 && context.Step % EverySteps == 0)
        {
            Run(context);
        }
    }

    /// <inheritdoc/>
    public void OnEpochEnd(TrainingContext context)
    {
        if (EverySteps == 0 && context.Epoch < context.Epochs - 1)
        {
            Run(context);
        }
    }

    private void Run(TrainingContext context) =>
        History.Add((context.Epoch, context.Step, Evolver.Evolve(context.Network, context.Optimizer)));
}
