using Microsoft.Extensions.Logging;

namespace Sparse.Training;

internal static partial class TrainerLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Training {Connections} connections for {Epochs} epochs on {Samples} samples; memory: {Memory}")]
    public static partial void Starting(ILogger logger, long connections, int epochs, int samples, MemoryBreakdown memory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Epoch}: train loss {TrainLoss:F4}, accuracy {TrainAccuracy:P2}, test loss {TestLoss:F4}, accuracy {TestAccuracy:P2}, {Seconds:F2} s ({EvolutionSeconds:F3} s evolving), {Connections} connections")]
    public static partial void EpochDone(ILogger logger, int epoch, float trainLoss, float trainAccuracy, float testLoss, float testAccuracy, double seconds, double evolutionSeconds, long connections);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Epoch}: train loss {TrainLoss:F4}, test loss {TestLoss:F4}, {Seconds:F2} s ({EvolutionSeconds:F3} s evolving), {Connections} connections")]
    public static partial void EpochDoneRegression(ILogger logger, int epoch, float trainLoss, float testLoss, double seconds, double evolutionSeconds, long connections);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Epoch}: train loss {TrainLoss:F4}, {Seconds:F2} s ({EvolutionSeconds:F3} s evolving), {Connections} connections")]
    public static partial void EpochDoneTrainOnly(ILogger logger, int epoch, float trainLoss, double seconds, double evolutionSeconds, long connections);

    public static void EpochDone(ILogger logger, EpochRecord r)
    {
        if (r.TestLoss is not { } testLoss)
        {
            EpochDoneTrainOnly(logger, r.Epoch, r.TrainLoss, r.Seconds, r.EvolutionSeconds, r.Connections);
        }
        else if (r.TrainAccuracy is { } trainAccuracy && r.TestAccuracy is { } testAccuracy)
        {
            EpochDone(logger, r.Epoch, r.TrainLoss, trainAccuracy, testLoss, testAccuracy, r.Seconds, r.EvolutionSeconds, r.Connections);
        }
        else
        {
            EpochDoneRegression(logger, r.Epoch, r.TrainLoss, testLoss, r.Seconds, r.EvolutionSeconds, r.Connections);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping early after epoch {Epoch}: no better test loss for {Patience} epochs")]
    public static partial void StoppedEarly(ILogger logger, int epoch, int patience);
}
