using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sparse.Training;

/// <summary>
/// The training loop as a convenience: the same Forward, loss, Backward and optimizer step a user writes
/// by hand, plus seeded shuffling, per-epoch evaluation, learning-rate schedule, early stopping, hooks
/// (topology evolution), progress, logging, history and checkpoints.
/// </summary>
public sealed class Trainer
{
    private readonly ILogger _logger;

    /// <summary>Creates a trainer; <paramref name="logger"/> defaults to no logging.</summary>
    public Trainer(SparseNetwork network, ILoss loss, Optimizer optimizer, TrainerOptions options, ILogger<Trainer>? logger = null)
    {
        Network = network;
        Loss = loss;
        Optimizer = optimizer;
        Options = options;
        BaseLearningRate = optimizer.LearningRate;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The network.</summary>
    public SparseNetwork Network { get; }

    /// <summary>The loss.</summary>
    public ILoss Loss { get; }

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The rate the schedule starts from.</summary>
    public float BaseLearningRate { get; set; }

    /// <summary>
    /// The ranks this trainer shares its steps with (data parallelism over MPI: Sparse.Distributed), or null to train
    /// alone. Every rank runs the same Fit on the same data; each trains on its slice of every batch of
    /// <see cref="TrainerOptions.BatchSize"/> samples (the global batch), and only rank 0 writes checkpoints.
    /// </summary>
    public IDataParallel? DataParallel { get; set; }

    /// <summary>Hooks called after every step and epoch, in order.</summary>
    public IList<ITrainingHook> Hooks { get; } = new List<ITrainingHook>();

    /// <summary>The epoch the next <see cref="Fit"/> starts at (set by resuming from a checkpoint).</summary>
    public int StartEpoch { get; set; }

    /// <summary>
    /// Batches of <see cref="StartEpoch"/> already trained (a run interrupted mid-epoch); the next
    /// <see cref="Fit"/> skips them, so the resumed run continues exactly where it stopped.
    /// </summary>
    public int StartBatch { get; set; }

    /// <summary>The table the model reads, saved with every checkpoint; taken from the checkpoint when resuming.</summary>
    public TabularSchema? Schema { get; set; }

    /// <summary>The records so far (carried over when resuming).</summary>
    public TrainingHistory History { get; set; } = new();

    /// <summary>
    /// Components whose state goes into every checkpoint this trainer writes, each in its own section (for example the
    /// training recipe, so a checkpoint alone rebuilds the run).
    /// </summary>
    public IList<ICheckpointPart> CheckpointParts { get; } = new List<ICheckpointPart>();

    /// <summary>The name of the checkpoint section that holds hook <paramref name="index"/>'s state.</summary>
    public static string HookSection(int index) => HookPrefix + index.ToString(CultureInfo.InvariantCulture);

    private const string HookPrefix = "hook.";

    // The interrupted epoch's loss sum, correct count and samples seen, continued by the next Fit.
    private (double Loss, long Correct, long Seen) _epochSums;

    // Hook sections read by Resume, applied to the hooks when Fit starts (hooks may be added after Resume).
    private List<CheckpointSection> _pendingHookStates = [];

    // The rows the run trained and evaluated on: the checkpoint's until Fit sees its own data.
    private DataFingerprint? _trainData;
    private DataFingerprint? _testData;

    // Whether the next Fit continues a run (after Resume), so its rows must be the run's; a trainer that finished a Fit
    // may be fitted again on other rows on purpose, but not one stopped within an epoch.
    private bool _continuing;

    /// <summary>
    /// How the rows given differ from those the resumed run trained and evaluated on, or null when they are the same or
    /// the checkpoint does not say (a run that never fitted, format versions 1 and 2).
    /// </summary>
    public string? DataChangeSince(Dataset train, Dataset? test)
    {
        ArgumentNullException.ThrowIfNull(train);
        return ChangeSince(DataFingerprint.Of(train), test is null ? null : DataFingerprint.Of(test));
    }

    private string? ChangeSince(DataFingerprint train, DataFingerprint? test)
    {
        var changes = new List<string>();
        if (_trainData is { } savedTrain && train.ChangeFrom(savedTrain) is { } trainChange)
        {
            changes.Add($"training data: {trainChange}");
        }

        if (_testData is { } savedTest && test is { } current && current.ChangeFrom(savedTest) is { } testChange)
        {
            changes.Add($"test data: {testChange}");
        }

        return changes.Count == 0 ? null : string.Join("; ", changes);
    }

    /// <summary>Where this trainer stands and the settings it trains with, as <see cref="SaveCheckpoint"/> saves them.</summary>
    public TrainerState State => new()
    {
        Epoch = StartEpoch,
        Batch = StartBatch,
        BaseLearningRate = BaseLearningRate,
        EpochLossSum = StartBatch > 0 ? _epochSums.Loss : 0,
        EpochCorrect = StartBatch > 0 ? _epochSums.Correct : 0,
        EpochSeen = StartBatch > 0 ? _epochSums.Seen : 0,
        Options = Options,
        Loss = Loss.GetType().Name,
        TrainData = _trainData,
        TestData = _testData,
    };

    /// <summary>
    /// Continues from <paramref name="checkpoint"/>: its epoch (and batch), base learning rate, history and the interrupted
    /// epoch's sums; each resumable hook's state is restored when <see cref="Fit"/> starts.
    /// </summary>
    /// <exception cref="InvalidOperationException">The checkpoint was trained with another batch size, seed, gradient clipping
    /// or loss: continuing would not be the same run. The message names both values.</exception>
    public void Resume(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var saved = checkpoint.Progress ?? new TrainerState { BaseLearningRate = checkpoint.BaseLearningRate };
        if (saved.Options is { } o)
        {
            Require(o.BatchSize == Options.BatchSize, "batch size", o.BatchSize, Options.BatchSize);
            Require(o.Seed == Options.Seed, "seed", o.Seed, Options.Seed);
            Require(o.ClipNorm.Equals(Options.ClipNorm), "gradient clipping norm", o.ClipNorm, Options.ClipNorm);
        }

        if (saved.Loss is { } savedLoss)
        {
            Require(savedLoss == Loss.GetType().Name, "loss", savedLoss, Loss.GetType().Name);
        }

        StartEpoch = saved.Epoch;
        StartBatch = saved.Batch;
        BaseLearningRate = saved.BaseLearningRate;
        History = checkpoint.History;
        Schema ??= checkpoint.Schema;
        _epochSums = (saved.EpochLossSum, saved.EpochCorrect, saved.EpochSeen);
        (_trainData, _testData) = (saved.TrainData, saved.TestData);
        _continuing = true;
        _pendingHookStates = [.. checkpoint.Sections.Values.Where(s => s.Name.StartsWith(HookPrefix, StringComparison.Ordinal))];

        static void Require<T>(bool same, string what, T saved, T current)
        {
            if (!same)
            {
                throw new InvalidOperationException($"The checkpoint was trained with {what} {saved}, this trainer's is {current}; resume with the settings of the run that saved it.");
            }
        }
    }

    /// <summary>
    /// Writes a resumable checkpoint (network, optimizer state, <see cref="State"/>, history, schema, each resumable hook's
    /// state and each of <see cref="CheckpointParts"/>) atomically to <paramref name="path"/>, with <paramref name="metadata"/> beside.
    /// </summary>
    public void SaveCheckpoint(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (DataParallel is { Rank: > 0 })
        {
            return; // every rank holds the same state; rank 0 writes it
        }

        var sections = new List<CheckpointSection>();
        for (var h = 0; h < Hooks.Count; h++)
        {
            if (Hooks[h] is IResumableState state)
            {
                sections.Add(CheckpointSection.Write(HookSection(h), state.StateVersion, w =>
                {
                    w.Write(Hooks[h].GetType().Name);
                    state.WriteState(w);
                }));
            }
        }

        sections.AddRange(CheckpointParts.Select(p => p.ToCheckpointSection()));
        Checkpoint.Save(path, Network, Optimizer, history: History, metadata: metadata, schema: Schema, progress: State, sections: sections);
    }

    private void RestoreHookStates()
    {
        foreach (var section in _pendingHookStates)
        {
            var index = int.Parse(section.Name.AsSpan(HookPrefix.Length), CultureInfo.InvariantCulture);
            var hook = index < Hooks.Count ? Hooks[index] : null;
            section.Read(hook is IResumableState resumable ? resumable.StateVersion : 1, (reader, _) =>
            {
                var type = reader.ReadString();
                if (hook is not IResumableState state || hook.GetType().Name != type)
                {
                    throw new InvalidOperationException($"The checkpoint holds the state of a {type} as hook {index}, but this trainer's hook {index} is " +
                        $"{hook?.GetType().Name ?? "missing"}; add the same hooks in the same order to resume.");
                }

                state.ReadState(reader);
                return 0;
            });
        }

        _pendingHookStates = [];
    }

    /// <summary>
    /// What <see cref="Fit"/> adds to the network's parameters in batches of <paramref name="batch"/> samples (default: the
    /// options' batch size): optimizer state, gradients, activations and the largest rewiring scratch of the hooks.
    /// </summary>
    public MemoryBreakdown EstimateMemory(int? batch = null) =>
        MemoryEstimate.For(Network, batch ?? Options.BatchSize, Optimizer.StateSlots, Math.Max(
            Network.StepsActiveInputsOnly ? MemoryEstimate.OrderChangeBytesPerConnection : 0,
            Hooks.Select(h => h.RewiringBytesPerConnection(Optimizer.StateSlots)).DefaultIfEmpty(0).Max()));

    /// <summary>Reported after every batch.</summary>
    public event Action<TrainingProgress>? Progress;

    /// <summary>Trains from <see cref="StartEpoch"/> to <see cref="TrainerOptions.Epochs"/> on <paramref name="train"/>, evaluating on <paramref name="test"/> after each epoch.</summary>
    /// <param name="train">Training samples.</param>
    /// <param name="test">Held-out samples, or null.</param>
    /// <exception cref="InsufficientMemoryException">Training would not fit in the memory available; the message has the arithmetic.</exception>
    /// <exception cref="TrainingDivergedException">A batch's loss, the held-out loss or a weight became NaN or infinite. The
    /// network is left as it was at that batch; <see cref="StartEpoch"/> still names the last finished epoch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="InvalidOperationException"><see cref="StartBatch"/> is past the end of an epoch, or the data differ from those of the
    /// resumed run (<see cref="DataChangeSince"/>) and <see cref="TrainerOptions.AllowDataChange"/> is not set.</exception>
    /// <param name="cancellation">Stops after the current batch. The unfinished epoch is not recorded;
    /// <see cref="StartEpoch"/> and <see cref="StartBatch"/> then say where to resume, so saving a checkpoint
    /// with them continues the same run.</param>
    public TrainingHistory Fit(Dataset train, Dataset? test = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        Options.Validate();
        var loader = new BatchLoader(train, Options.BatchSize, Network.Normalization, shuffle: true, Options.Seed, Network.Compute);
        if (DataParallel is { } ranks)
        {
            loader.Shard(ranks.Rank, ranks.Size);

            // Ranks hold different features of a sparse batch; a lazy step of each rank's own would part their weights.
            Network.StepsActiveInputsOnly = false;
        }

        if (StartBatch < 0 || StartBatch > loader.BatchesPerEpoch)
        {
            throw new InvalidOperationException($"Resume batch {StartBatch} is out of range: an epoch of {train.Count} samples in batches of {Options.BatchSize} has {loader.BatchesPerEpoch} batches.");
        }

        RestoreHookStates();
        var trainData = DataFingerprint.Of(train);
        DataFingerprint? testData = test is null ? null : DataFingerprint.Of(test);
        if ((_continuing || StartBatch > 0) && ChangeSince(trainData, testData) is { } change)
        {
            if (!Options.AllowDataChange)
            {
                throw new InvalidOperationException($"The run this trainer resumes trained on other data ({change}). Fit on the data of the interrupted run, " +
                    "or set TrainerOptions.AllowDataChange to continue on this data on purpose (the history records it).");
            }

            History.DataChanges.Add(new DataChange(StartEpoch, StartBatch, change));
        }

        (_trainData, _testData, _continuing) = (trainData, testData, false);
        var signalKinds = Hooks.Aggregate(SignalKinds.None, (kinds, hook) => kinds | hook.Signals);

        var gradient = new float[Network.OutputSize * loader.Batch.Capacity];
        var context = new TrainingContext(Network, Optimizer, Loss, Options.Epochs)
        {
            Step = Optimizer.StepCount,
            StepsPerEpoch = loader.BatchesPerEpoch,
            History = History,
            Signals = (signalKinds & SignalRecorder.StepKinds) == SignalKinds.None ? null : new SignalRecorder(signalKinds),
            TrainingData = train,
            Seed = Options.Seed,
        };
        var memory = EstimateMemory(loader.Batch.Capacity);
        TrainerLog.Starting(_logger, Network.ConnectionCount, Options.Epochs, train.Count, memory);

        // The weights exist already; what training adds (state, gradients, activations) must still fit.
        MemoryEstimate.EnsureFits(memory, Network.ParameterBytes);
        var chance = ChanceLoss(train);
        var warnedExploding = false;
        var bestLoss = History.Epochs.Where(e => e.TestLoss is not null).Select(e => e.TestLoss!.Value).DefaultIfEmpty(float.PositiveInfinity).Min();
        var sinceBest = 0;
        for (var epoch = StartEpoch; epoch < Options.Epochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            double hookSeconds = 0;
            Optimizer.LearningRate = Options.Schedule.RateAt(BaseLearningRate, epoch, Options.Epochs);
            Optimizer.ScheduleRowGroups(epoch, Options.Epochs);
            context.Epoch = epoch;
            loader.StartEpoch(epoch);
            double lossSum = 0;
            long correct = 0, seen = 0;
            var batchIndex = 0;
            var skip = epoch == StartEpoch ? StartBatch : 0;
            if (skip > 0 && DataParallel is not { Rank: > 0 })
            {
                // The interrupted epoch's record averages all of its batches, those before the interrupt included. In
                // data-parallel training the saved sums are over all ranks: rank 0 carries them, the others start at 0.
                (lossSum, correct, seen) = _epochSums;
            }

            for (var b = 0; b < skip && loader.Next(); b++)
            {
                batchIndex++;
            }

            while (loader.Next())
            {
                var stop = cancellation.IsCancellationRequested;
                if (DataParallel is { } parallel)
                {
                    stop = parallel.AnyStops(stop);
                }

                if (stop)
                {
                    MarkPosition(epoch, batchIndex, lossSum, correct, seen);
                    return History;
                }

                if (Options.Schedule.ChangesWithinEpochs)
                {
                    Optimizer.LearningRate = Options.Schedule.RateAt(BaseLearningRate, epoch, Options.Epochs, batchIndex, loader.BatchesPerEpoch);
                }

                var batch = loader.Batch;
                var endsEpoch = batchIndex + 1 == loader.BatchesPerEpoch;
                var signals = RecordsStep(context, endsEpoch) ? context.Signals : null;
                if (batch.Size > 0)
                {
                    var output = Network.Forward(batch, training: true);
                    var outputGradient = gradient.AsSpan(0, output.Length);
                    var batchLoss = Loss.Compute(output, batch, outputGradient, Network.Compute);
                    Divergence.CheckLoss(batchLoss, epoch, batchIndex + 1);
                    lossSum += (double)batchLoss * batch.Size;
                    if (train.IsClassification)
                    {
                        correct += Loss.CountCorrect(output, batch);
                    }

                    Network.Backward(outputGradient, signals);
                }
                else
                {
                    // A rank whose slice of a short last batch is empty adds nothing to the step.
                    foreach (var parameter in Network.Parameters)
                    {
                        Array.Clear(parameter.Gradient);
                    }
                }

                DataParallel?.AfterBackward(Network, batch.Size, loader.GlobalBatchSize, signals);
                if (Options.ClipNorm > 0)
                {
                    GradientClipping.ClipByGlobalNorm(Network.Parameters, Options.ClipNorm, Network.Compute);
                }

                Optimizer.Step(Network.Parameters, Network.Compute);
                seen += batch.Size;
                context.Step++;
                context.Batch = batch;
                DataParallel?.AfterStep(Network, context.Step);
                if (Hooks.Count > 0)
                {
                    var hookStart = Stopwatch.GetTimestamp();
                    var changes = History.TopologyChanges.Count;
                    if (DataParallel is not null && MayRewire(context, endsEpoch))
                    {
                        DataParallel.BeforeRewiring(Network);
                    }

                    for (var h = 0; h < Hooks.Count; h++)
                    {
                        Hooks[h].OnStepEnd(context);
                    }

                    if (History.TopologyChanges.Count != changes)
                    {
                        DataParallel?.AfterRewiring(Network, $"step {context.Step}");
                    }

                    hookSeconds += Stopwatch.GetElapsedTime(hookStart).TotalSeconds;
                }

                batchIndex++;
                if (Options.CheckpointPath is { } stepCheckpoint && Options.CheckpointEverySteps > 0 && context.Step % Options.CheckpointEverySteps == 0 && batchIndex < loader.BatchesPerEpoch)
                {
                    MarkPosition(epoch, batchIndex, lossSum, correct, seen);
                    SaveCheckpoint(stepCheckpoint);
                }

                Progress?.Invoke(new TrainingProgress(epoch, batchIndex, loader.BatchesPerEpoch, (float)(lossSum / seen),
                    train.IsClassification ? (float)correct / seen : null, seen / watch.Elapsed.TotalSeconds));
            }

            context.Batch = null;
            var hooksStart = Stopwatch.GetTimestamp();
            var changesBefore = History.TopologyChanges.Count;
            DataParallel?.BeforeRewiring(Network);
            foreach (var hook in Hooks)
            {
                hook.OnEpochEnd(context);
            }

            if (DataParallel is not null)
            {
                // Every epoch ends with the ranks compared, rewired or not: a divergence is caught within an epoch.
                DataParallel.AfterRewiring(Network, History.TopologyChanges.Count != changesBefore ? $"the rewiring after epoch {epoch + 1}" : $"epoch {epoch + 1}");
                (lossSum, correct, seen) = DataParallel.SumOverRanks(lossSum, correct, seen);
            }

            hookSeconds += Stopwatch.GetElapsedTime(hooksStart).TotalSeconds;
            Divergence.CheckWeights(Network, epoch);
            var evaluationStart = Stopwatch.GetTimestamp();
            Evaluation? evaluation = test is null ? null : Metrics.Evaluate(Network, test, Loss, Options.BatchSize);
            var evaluationSeconds = Stopwatch.GetElapsedTime(evaluationStart).TotalSeconds;
            if (evaluation is { } held)
            {
                Divergence.CheckLoss(held.Loss, epoch, 0);
            }

            var record = new EpochRecord(
                epoch,
                (float)(lossSum / Math.Max(1, seen)),
                train.IsClassification ? (float)correct / Math.Max(1, seen) : null,
                evaluation?.Loss,
                evaluation?.Accuracy,
                watch.Elapsed.TotalSeconds,
                hookSeconds,
                Network.ConnectionCount,
                Optimizer.LearningRate)
            {
                LayerConnections = [.. Network.SparseLayers.Select(l => l.ConnectionCount)],
                LayerPruned = ChangesOf(epoch, c => c.Pruned),
                LayerGrown = ChangesOf(epoch, c => c.Grown),
                EvaluationSeconds = evaluationSeconds,
                Steps = context.Step,
            };
            History.Epochs.Add(record);
            if (_logger.IsEnabled(LogLevel.Information))
            {
                TrainerLog.EpochDone(_logger, record, Options.Epochs);
            }

            warnedExploding = warnedExploding || (_logger.IsEnabled(LogLevel.Warning) && WarnIfExploding(record, chance, History.Epochs[0]));
            if (evaluation is { } evaluated)
            {
                for (var h = 0; h < Hooks.Count; h++)
                {
                    Hooks[h].OnEvaluated(context, evaluated);
                }
            }

            StartEpoch = epoch + 1;
            StartBatch = 0;
            if (Options.CheckpointPath is not null)
            {
                SaveCheckpoint(Options.CheckpointPath);
            }

            if (Options.EarlyStoppingPatience > 0 && evaluation is { } e)
            {
                if (e.Loss < bestLoss)
                {
                    bestLoss = e.Loss;
                    sinceBest = 0;
                }
                else if (++sinceBest >= Options.EarlyStoppingPatience)
                {
                    History.StoppedEarly = true;
                    TrainerLog.StoppedEarly(_logger, epoch, Options.EarlyStoppingPatience);
                    break;
                }
            }
        }

        return History;
    }

    /// <summary>How many times the loss of a guess without features (<see cref="ChanceLoss"/>) or of the first epoch an epoch's loss may be before a warning.</summary>
    public const double ExplodingLossFactor = 10;

    // The loss of predicting without the features: ln(classes) for softmax cross-entropy (the uniform guess), the
    // targets' mean variance for mean squared error (the mean); null for other losses.
    private double? ChanceLoss(Dataset train)
    {
        if (Loss is SoftmaxCrossEntropy && train.IsClassification && train.ClassCount > 1)
        {
            return Math.Log(train.ClassCount);
        }

        if (Loss is MeanSquaredError && !train.IsClassification && train.Count > 1)
        {
            var targets = train.Targets!;
            double variance = 0;
            for (var t = 0; t < train.TargetCount; t++)
            {
                double sum = 0, squares = 0;
                for (var n = 0; n < train.Count; n++)
                {
                    var y = targets[(n * train.TargetCount) + t];
                    sum += y;
                    squares += (double)y * y;
                }

                variance += (squares / train.Count) - ((sum / train.Count) * (sum / train.Count));
            }

            return variance > 0 ? variance / train.TargetCount : null;
        }

        return null;
    }

    // A loss far above a guess without features, or a training loss far above the first epoch's, means the steps are too large: warned
    // once, while the values are still finite (a non-finite one ends the run with TrainingDivergedException).
    private bool WarnIfExploding(EpochRecord record, double? chance, EpochRecord first)
    {
        (string Which, float Loss)[] losses = record.TestLoss is { } test ? [("training", record.TrainLoss), ("test", test)] : [("training", record.TrainLoss)];
        foreach (var (which, loss) in losses)
        {
            if (chance is { } guess && loss > ExplodingLossFactor * guess)
            {
                TrainerLog.LossExploding(_logger, record.Epoch + 1, which, loss, loss / guess, "that of a guess without the features", guess, record.LearningRate);
                return true;
            }

            // Against the first epoch only the training loss: a test loss that rises is also what overfitting looks like.
            if (which == "training" && record.Epoch > first.Epoch && loss > ExplodingLossFactor * first.TrainLoss)
            {
                TrainerLog.LossExploding(_logger, record.Epoch + 1, which, loss, loss / first.TrainLoss, $"that of epoch {first.Epoch + 1}", first.TrainLoss, record.LearningRate);
                return true;
            }
        }

        return false;
    }

    // Whether the step about to run back-propagates into the recorder: some hook reads its signals.
    // Per sparse layer, the sum of one count over the topology changes made in the epoch; empty when there were none.
    private long[] ChangesOf(int epoch, Func<TopologyChange, int> count)
    {
        var changes = History.TopologyChanges.Where(c => c.Epoch == epoch).ToList();
        if (changes.Count == 0)
        {
            return [];
        }

        var sums = new long[Network.SparseLayers.Count()];
        foreach (var change in changes)
        {
            sums[change.Layer] += count(change);
        }

        return sums;
    }

    // Where a checkpoint resumes: epoch, batches done and the epoch's sums so far (over all ranks, a collective in
    // data-parallel training, which every rank reaches at the same step).
    private void MarkPosition(int epoch, int batchIndex, double lossSum, long correct, long seen)
    {
        StartEpoch = epoch;
        StartBatch = batchIndex;
        _epochSums = DataParallel is { } ranks ? ranks.SumOverRanks(lossSum, correct, seen) : (lossSum, correct, seen);
    }

    // Whether a hook may rewire after the step about to end (its schedule's evolution points).
    private bool MayRewire(TrainingContext context, bool endsEpoch)
    {
        for (var h = 0; h < Hooks.Count; h++)
        {
            if (Hooks[h].ReadsSignalsOf(context.Step, endsEpoch, context))
            {
                return true;
            }
        }

        return false;
    }

    private bool RecordsStep(TrainingContext context, bool endsEpoch)
    {
        if (context.Signals is null)
        {
            return false;
        }

        for (var h = 0; h < Hooks.Count; h++)
        {
            if ((Hooks[h].Signals & SignalRecorder.StepKinds) != SignalKinds.None && Hooks[h].ReadsSignalsOf(context.Step + 1, endsEpoch, context))
            {
                return true;
            }
        }

        return false;
    }

}
