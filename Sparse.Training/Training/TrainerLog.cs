using Microsoft.Extensions.Logging;

namespace Sparse.Training;

internal static partial class TrainerLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Training {Connections} connections for {Epochs} epochs on {Samples} samples; memory: {Memory}")]
    public static partial void Starting(ILogger logger, long connections, int epochs, int samples, MemoryBreakdown memory);

    // One line per epoch, numbered from 1 as a person counts: losses and accuracies, the learning rate, the connections
    // and how many were rewired in the epoch, and the time.
    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Number}/{Epochs}: train loss {TrainLoss:F4}, accuracy {TrainAccuracy:P2}; test loss {TestLoss:F4}, accuracy {TestAccuracy:P2}; lr {LearningRate:G3}; {Connections} connections, {Rewired} rewired; {Seconds:F2} s ({EvolutionSeconds:F3} s evolving)")]
    public static partial void EpochDone(ILogger logger, int number, int epochs, float trainLoss, float trainAccuracy, float testLoss, float testAccuracy, float learningRate, long connections, long rewired, double seconds, double evolutionSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Number}/{Epochs}: train loss {TrainLoss:F4}; test loss {TestLoss:F4}; lr {LearningRate:G3}; {Connections} connections, {Rewired} rewired; {Seconds:F2} s ({EvolutionSeconds:F3} s evolving)")]
    public static partial void EpochDoneRegression(ILogger logger, int number, int epochs, float trainLoss, float testLoss, float learningRate, long connections, long rewired, double seconds, double evolutionSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Number}/{Epochs}: train loss {TrainLoss:F4}; lr {LearningRate:G3}; {Connections} connections, {Rewired} rewired; {Seconds:F2} s ({EvolutionSeconds:F3} s evolving)")]
    public static partial void EpochDoneTrainOnly(ILogger logger, int number, int epochs, float trainLoss, float learningRate, long connections, long rewired, double seconds, double evolutionSeconds);

    public static void EpochDone(ILogger logger, EpochRecord r, int epochs)
    {
        // Rewired: connections grown in the epoch, all layers.
        var rewired = r.LayerGrown.Sum();
        if (r.TestLoss is not { } testLoss)
        {
            EpochDoneTrainOnly(logger, r.Epoch + 1, epochs, r.TrainLoss, r.LearningRate, r.Connections, rewired, r.Seconds, r.EvolutionSeconds);
        }
        else if (r.TrainAccuracy is { } trainAccuracy && r.TestAccuracy is { } testAccuracy)
        {
            EpochDone(logger, r.Epoch + 1, epochs, r.TrainLoss, trainAccuracy, testLoss, testAccuracy, r.LearningRate, r.Connections, rewired, r.Seconds, r.EvolutionSeconds);
        }
        else
        {
            EpochDoneRegression(logger, r.Epoch + 1, epochs, r.TrainLoss, testLoss, r.LearningRate, r.Connections, rewired, r.Seconds, r.EvolutionSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping early after epoch {Epoch}: no better test loss for {Patience} epochs")]
    public static partial void StoppedEarly(ILogger logger, int epoch, int patience);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Epoch {Epoch}: the {Which} loss {Loss:G4} is {Ratio:F0} times {Reference} ({ReferenceLoss:G4}): training is not converging at learning rate {LearningRate:G3}. " +
        "A lower learning rate (--learning-rate on the command line) or gradient clipping (--clip-norm) should train")]
    public static partial void LossExploding(ILogger logger, int epoch, string which, float loss, double ratio, string reference, double referenceLoss, float learningRate);
}
