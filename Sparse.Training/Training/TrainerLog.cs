using Microsoft.Extensions.Logging;

namespace Sparse.Training;

internal static partial class TrainerLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Training {Connections} connections for {Epochs} epochs on {Samples} samples; memory: {Memory}")]
    public static partial void Starting(ILogger logger, long connections, int epochs, int samples, MemoryBreakdown memory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Epoch}: train loss {TrainLoss:F4}, accuracy {TrainAccuracy}, test loss {TestLoss}, accuracy {TestAccuracy}, {Seconds:F2} s ({EvolutionSeconds:F3} s evolving), {Connections} connections")]
    public static partial void EpochDone(ILogger logger, int epoch, float trainLoss, float? trainAccuracy, float? testLoss, float? testAccuracy, double seconds, double evolutionSeconds, long connections);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping early after epoch {Epoch}: no better test loss for {Patience} epochs")]
    public static partial void StoppedEarly(ILogger logger, int epoch, int patience);
}
