using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>Cancels a run after optimizer step <paramref name="step"/>, as Ctrl+C would at that point.</summary>
internal sealed class CancelAtStep(long step, CancellationTokenSource source) : ITrainingHook
{
    public void OnStepEnd(TrainingContext context)
    {
        if (context.Step == step)
        {
            source.Cancel();
        }
    }

    public void OnEpochEnd(TrainingContext context)
    {
    }
}
