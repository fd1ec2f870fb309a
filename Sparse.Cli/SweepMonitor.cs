namespace Sparse.Cli;

/// <summary>One configuration's outcome in a sweep: its last completed epoch and its best held-out epoch.</summary>
internal sealed record SweepResult(int Index, NetworkConfig Config, long Connections, int Epochs, float? TrainLoss, float? TrainAccuracy,
    float? TestLoss, float? TestAccuracy, float? BestTestLoss, float? BestTestAccuracy, int BestEpoch, string Status);

/// <summary>
/// Reads each head's scores every epoch, freezes a configuration that diverged (so the others train on), keeps each
/// configuration's history, and prints one line per epoch with the best configuration so far.
/// </summary>
internal sealed class SweepMonitor(ParallelNetworks grid, MultiHeadLoss loss, int epochs, TabularSchema schema, Action<string> say) : ITrainingHook
{
    private readonly List<EpochRecord>[] _history = [.. grid.Configs.Select(_ => new List<EpochRecord>())];
    private readonly int[] _divergedAt = [.. grid.Configs.Select(_ => -1)];
    private HeadScore[] _training = [];
    private long _epochStart = Stopwatch.GetTimestamp();

    /// <summary>The evolution hook, told which configurations stopped and each one's held-out accuracy.</summary>
    public BlockEvolutionHook? Evolution { get; set; }

    public void OnStepEnd(TrainingContext context)
    {
    }

    public void OnEpochEnd(TrainingContext context)
    {
        _training = loss.TakeTraining();
        for (var k = 0; k < grid.Configs.Count; k++)
        {
            if (_divergedAt[k] < 0 && (loss.Diverged[k] || grid.HasNonFinite(k)))
            {
                loss.MarkDiverged(k);
                grid.Freeze(k);
                Evolution?.Stopped.Add(k);
                _divergedAt[k] = context.Epoch;
                say($"configuration {k + 1} ({grid.Configs[k]}) diverged in epoch {context.Epoch + 1}; it is frozen and the others train on");
            }
        }
    }

    public void OnEvaluated(TrainingContext context, Evaluation evaluation)
    {
        var scores = loss.TakeEvaluation();
        var seconds = Stopwatch.GetElapsedTime(_epochStart).TotalSeconds;
        _epochStart = Stopwatch.GetTimestamp();
        for (var k = 0; k < scores.Length; k++)
        {
            if (_divergedAt[k] >= 0)
            {
                continue;
            }

            _history[k].Add(new EpochRecord(context.Epoch, _training[k].Loss, _training[k].Accuracy, scores[k].Loss, scores[k].Accuracy, seconds, 0,
                grid.ConnectionsOf(k), context.Optimizer.LearningRate));
        }

        Evolution?.ObserveValidationAccuracies([.. scores.Select(s => s.Accuracy)]);
        var results = Results(finished: false);
        var live = results.Where(r => r.TestLoss is not null).ToArray();
        var line = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture, $"Epoch {context.Epoch + 1}/{epochs}: "));
        if (Best(results, schema.IsClassification) is { } best)
        {
            line.Append(CultureInfo.InvariantCulture, $"best so far configuration {best + 1} ({grid.Configs[best]}), {Describe(results[best], schema)}");
            if (schema.IsClassification && live.Length > 1)
            {
                var accuracies = live.Select(r => r.TestAccuracy!.Value).Order().ToArray();
                line.Append(CultureInfo.InvariantCulture, $"; median {accuracies[accuracies.Length / 2]:P2} over {live.Length}");
            }
        }
        else
        {
            line.Append("every configuration has diverged");
        }

        var diverged = _divergedAt.Count(d => d >= 0);
        line.Append(CultureInfo.InvariantCulture, $"{(diverged > 0 ? $", {diverged} diverged" : string.Empty)}; {seconds:F2} s");
        say(line.ToString());
    }

    /// <summary>Each configuration's results after the epochs completed so far.</summary>
    public IReadOnlyList<SweepResult> Results(bool finished) => [.. grid.Configs.Select((config, k) =>
    {
        var history = _history[k];
        var last = history.Count > 0 ? history[^1] : null;
        var best = schema.IsClassification
            ? history.OrderByDescending(e => e.TestAccuracy).ThenBy(e => e.TestLoss).FirstOrDefault()
            : history.OrderBy(e => e.TestLoss).FirstOrDefault();
        var status = _divergedAt[k] >= 0 ? $"diverged in epoch {_divergedAt[k] + 1}" : finished ? "finished" : "interrupted";
        var live = _divergedAt[k] < 0;
        return new SweepResult(k, config, grid.ConnectionsOf(k), history.Count, live ? last?.TrainLoss : null, live ? last?.TrainAccuracy : null,
            live ? last?.TestLoss : null, live ? last?.TestAccuracy : null, best?.TestLoss, best?.TestAccuracy, best is null ? 0 : best.Epoch + 1, status);
    })];

    /// <summary>A configuration's history, for its saved model.</summary>
    public TrainingHistory HistoryOf(int index)
    {
        var history = new TrainingHistory();
        history.Epochs.AddRange(_history[index]);
        if (Evolution is not null)
        {
            history.TopologyChanges.AddRange(Evolution.Changes[index]);
        }

        return history;
    }

    /// <summary>
    /// The configuration with the highest final held-out accuracy (ties: the lower loss), or for regression the
    /// lowest final held-out loss; null when every configuration diverged or none finished an epoch.
    /// </summary>
    public static int? Best(IReadOnlyList<SweepResult> results, bool classification)
    {
        var live = results.Where(r => r.TestLoss is not null);
        var best = classification
            ? live.OrderByDescending(r => r.TestAccuracy).ThenBy(r => r.TestLoss).ThenBy(r => r.Index).FirstOrDefault()
            : live.OrderBy(r => r.TestLoss).ThenBy(r => r.Index).FirstOrDefault();
        return best?.Index;
    }

    /// <summary>A result's final held-out figures as the train command prints them.</summary>
    public static string Describe(SweepResult result, TabularSchema schema) => result.TestAccuracy is { } accuracy
        ? string.Create(CultureInfo.InvariantCulture, $"test accuracy {accuracy:P2}, test loss {result.TestLoss:F4}")
        : string.Create(CultureInfo.InvariantCulture, $"test RMSE {Math.Sqrt(result.TestLoss ?? double.NaN) * schema.TargetScale:G5} (in the target's units)");
}
