using Sparse.Training;

namespace Sparse.Tests.Training;

[TestFixture]
public class CheckpointTests
{
    private string _directory = null!;

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("sparse-checkpoint-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Save_then_load_gives_identical_predictions()
    {
        var (network, trainer) = LearningTests.DigitsSetup(epochs: 2);
        trainer.Fit(DigitsData.Train);
        var path = Path.Combine(_directory, "model.sparse");
        Checkpoint.Save(path, network);
        var loaded = Checkpoint.Load(path);
        Assert.Multiple(() =>
        {
            Assert.That(loaded.Optimizer, Is.Null);
            Assert.That(loaded.Network.ConnectionCount, Is.EqualTo(network.ConnectionCount));
            Assert.That(loaded.Network.Normalization!.Scale, Is.EqualTo(network.Normalization!.Scale));
        });

        var loader = new BatchLoader(DigitsData.Test, 100, network.Normalization, shuffle: false, seed: 0);
        loader.Next();
        var expected = network.Forward(loader.Batch.Features, loader.Batch.Size, training: false).ToArray();
        var actual = loaded.Network.Forward(loader.Batch.Features, loader.Batch.Size, training: false).ToArray();
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(Directory.GetFiles(_directory), Has.Length.EqualTo(1), "no temporary file left behind");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Resuming_from_a_checkpoint_matches_an_uninterrupted_run(bool adam)
    {
        SparseNetwork Build() => SparseNetwork.CreateMlp([64, 128, 128, 10], ActivationKind.AllRelu, epsilon: 6, seed: 9, dropout: 0.2f,
            normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.MinMax));
        Optimizer MakeOptimizer() => adam ? new Adam(2e-3f, weightDecay: 1e-4f) : new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 1e-4f);
        TrainerOptions Options(string? checkpoint) => new() { Epochs = 4, BatchSize = 64, Seed = 5, Schedule = LearningRateSchedule.Cosine(), CheckpointPath = checkpoint };

        var straight = Build();
        new Trainer(straight, new SoftmaxCrossEntropy(), MakeOptimizer(), Options(null)).Fit(DigitsData.Train, DigitsData.Test);

        var path = Path.Combine(_directory, "resume.sparse");
        // Interrupt the first run after two of its four epochs, as Ctrl+C would.
        var first = new Trainer(Build(), new SoftmaxCrossEntropy(), MakeOptimizer(), Options(path));
        using var interrupt = new CancellationTokenSource();
        first.Hooks.Add(new StopAfter(2, interrupt));
        first.Fit(DigitsData.Train, DigitsData.Test, interrupt.Token);

        var checkpoint = Checkpoint.Load(path);
        Assert.That(checkpoint.Epoch, Is.EqualTo(2));
        var second = new Trainer(checkpoint.Network, new SoftmaxCrossEntropy(), checkpoint.Optimizer!, Options(path));
        second.Resume(checkpoint);
        var history = second.Fit(DigitsData.Train, DigitsData.Test);

        Assert.That(history.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        for (var n = 0; n < straight.Parameters.Count; n++)
        {
            Assert.That(checkpoint.Network.Parameters[n].Values, Is.EqualTo(straight.Parameters[n].Values).AsCollection, straight.Parameters[n].Name);
        }
    }

    [Test]
    public void Resuming_mid_epoch_after_an_interrupt_matches_an_uninterrupted_run()
    {
        SparseNetwork Build() => SparseNetwork.CreateMlp([64, 96, 10], ActivationKind.Relu, epsilon: 6, seed: 3, dropout: 0.1f,
            normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));
        TrainerOptions Options() => new() { Epochs = 3, BatchSize = 50, Seed = 8, Schedule = LearningRateSchedule.Cosine() };

        var straight = Build();
        new Trainer(straight, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), Options()).Fit(DigitsData.Train);

        // Stop after step 40: epoch 1 (29 batches an epoch), batch 11.
        var first = new Trainer(Build(), new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), Options());
        using var interrupt = new CancellationTokenSource();
        first.Hooks.Add(new CancelAtStep(40, interrupt));
        first.Fit(DigitsData.Train, cancellation: interrupt.Token);
        Assert.That((first.StartEpoch, first.StartBatch), Is.EqualTo((1, 11)));
        var path = Path.Combine(_directory, "mid.sparse");
        first.SaveCheckpoint(path);

        var checkpoint = Checkpoint.Load(path);
        var second = new Trainer(checkpoint.Network, new SoftmaxCrossEntropy(), checkpoint.Optimizer!, Options());
        second.Resume(checkpoint);
        second.Fit(DigitsData.Train);
        for (var n = 0; n < straight.Parameters.Count; n++)
        {
            Assert.That(checkpoint.Network.Parameters[n].Values, Is.EqualTo(straight.Parameters[n].Values).AsCollection, straight.Parameters[n].Name);
        }
    }

    [Test]
    public void A_trainer_refuses_a_checkpoint_of_another_batch_size_seed_or_loss()
    {
        var network = SparseNetwork.CreateMlp([64, 32, 10], ActivationKind.Relu, epsilon: 4, seed: 3);
        var path = Path.Combine(_directory, "settings.sparse");
        var first = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.05f), new TrainerOptions { Epochs = 1, BatchSize = 50, Seed = 8 });
        first.Fit(DigitsData.Train);
        first.SaveCheckpoint(path);
        var checkpoint = Checkpoint.Load(path);
        Assert.That(checkpoint.Progress!.Options!.BatchSize, Is.EqualTo(50));

        Trainer With(TrainerOptions options, ILoss? loss = null) => new(checkpoint.Network, loss ?? new SoftmaxCrossEntropy(), checkpoint.Optimizer!, options);
        Assert.Multiple(() =>
        {
            Assert.That(() => With(new TrainerOptions { Epochs = 2, BatchSize = 64, Seed = 8 }).Resume(checkpoint),
                Throws.InvalidOperationException.With.Message.Contains("batch size 50, this trainer's is 64"));
            Assert.That(() => With(new TrainerOptions { Epochs = 2, BatchSize = 50, Seed = 9 }).Resume(checkpoint),
                Throws.InvalidOperationException.With.Message.Contains("seed 8, this trainer's is 9"));
            Assert.That(() => With(new TrainerOptions { Epochs = 2, BatchSize = 50, Seed = 8 }, new MeanSquaredError()).Resume(checkpoint),
                Throws.InvalidOperationException.With.Message.Contains("loss SoftmaxCrossEntropy, this trainer's is MeanSquaredError"));
            Assert.That(() => With(new TrainerOptions { Epochs = 2, BatchSize = 50, Seed = 8 }).Resume(checkpoint), Throws.Nothing, "more epochs extend the run");
        });
    }

    [Test]
    public void A_resumed_run_refuses_other_data_unless_allowed_and_then_records_the_change()
    {
        TrainerOptions Options(bool allow = false) => new() { Epochs = 2, BatchSize = 50, Seed = 8, AllowDataChange = allow };
        var first = new Trainer(SparseNetwork.CreateMlp([64, 32, 10], ActivationKind.Relu, epsilon: 4, seed: 3), new SoftmaxCrossEntropy(), new Sgd(0.05f), Options());
        using var interrupt = new CancellationTokenSource();
        first.Hooks.Add(new CancelAtStep(10, interrupt));
        first.Fit(DigitsData.Train, DigitsData.Test, interrupt.Token);
        var path = Path.Combine(_directory, "data.sparse");
        first.SaveCheckpoint(path);
        var checkpoint = Checkpoint.Load(path);
        Assert.That(checkpoint.Progress!.TrainData, Is.EqualTo(DataFingerprint.Of(DigitsData.Train)));

        var order = Enumerable.Range(0, DigitsData.Train.Count).Reverse().ToArray();
        var reversed = DigitsData.Train.Subset(order);
        var changedValue = DigitsData.Train.Subset(Enumerable.Range(0, DigitsData.Train.Count).ToArray());
        changedValue.Features[5] += 1;
        var fewer = DigitsData.Train.Subset(Enumerable.Range(0, 100).ToArray());
        Trainer Resumed(bool allow = false)
        {
            var trainer = new Trainer(checkpoint.Network, new SoftmaxCrossEntropy(), checkpoint.Optimizer!, Options(allow));
            trainer.Resume(checkpoint);
            return trainer;
        }

        Assert.Multiple(() =>
        {
            Assert.That(Resumed().DataChangeSince(DigitsData.Train, DigitsData.Test), Is.Null);
            Assert.That(Resumed().DataChangeSince(reversed, DigitsData.Test), Does.Contain("training data: the same 1,438 rows of 64 features but other values or another order"));
            Assert.That(Resumed().DataChangeSince(changedValue, DigitsData.Test), Does.Contain("other values or another order"));
            Assert.That(Resumed().DataChangeSince(fewer, DigitsData.Test), Does.Contain("training data: 100 rows of 64 features where the run had 1,438 rows"));
            Assert.That(Resumed().DataChangeSince(DigitsData.Train, reversed), Does.StartWith("test data:"));
            Assert.That(() => Resumed().Fit(reversed, DigitsData.Test), Throws.InvalidOperationException.With.Message.Contains("AllowDataChange"));
        });

        var allowed = Resumed(allow: true);
        allowed.Fit(reversed, DigitsData.Test);
        Assert.That(allowed.History.DataChanges, Has.Count.EqualTo(1));
        Assert.That(allowed.History.DataChanges[0], Is.EqualTo(new DataChange(0, 10, allowed.History.DataChanges[0].Change)));
        allowed.SaveCheckpoint(path);
        Assert.That(Checkpoint.Load(path).History.DataChanges, Is.EqualTo(allowed.History.DataChanges), "kept in the checkpoint");

        // A trainer that finished its Fit may be fitted again on other rows on purpose; one stopped within an epoch may not.
        var finished = new Trainer(SparseNetwork.CreateMlp([64, 32, 10], ActivationKind.Relu, epsilon: 4, seed: 3), new SoftmaxCrossEntropy(), new Sgd(0.05f), Options());
        finished.Fit(DigitsData.Train);
        finished.Options.Epochs = 3;
        Assert.That(() => finished.Fit(reversed), Throws.Nothing);
        Assert.That(() => first.Fit(reversed, DigitsData.Test), Throws.InvalidOperationException.With.Message.Contains("training data: the same"));
    }

    [Test]
    public void A_truncated_file_is_reported_as_truncated()
    {
        var path = SaveSmall();
        var bytes = File.ReadAllBytes(path);
        foreach (var length in new[] { 4, 12, bytes.Length / 2, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes[..length]);
            Assert.That(() => Checkpoint.Load(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("truncated"), $"cut at {length}");
        }
    }

    [Test]
    public void A_corrupted_file_is_reported_as_corrupted()
    {
        var path = SaveSmall();
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length - 20] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        Assert.That(() => Checkpoint.Load(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("corrupted"));
    }

    [Test]
    public void Another_version_or_another_file_type_is_named()
    {
        var path = SaveSmall();
        var bytes = File.ReadAllBytes(path);
        bytes[8] = 99;
        File.WriteAllBytes(path, bytes);
        Assert.That(() => Checkpoint.Load(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("version 99").And.Message.Contains("newer build"));
        File.WriteAllText(path, "pixel1,pixel2,label\n1,2,3\n");
        Assert.That(() => Checkpoint.Load(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("not a Sparse model file"));
    }

    [Test]
    public void A_model_written_by_format_version_1_still_loads_and_predicts()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "model-v1.sparse");
        Assert.That(BitConverter.ToInt32(File.ReadAllBytes(path), 8), Is.EqualTo(1), "the fixture is a version-1 file");
        var checkpoint = Checkpoint.Load(path);
        Assert.Multiple(() =>
        {
            Assert.That(checkpoint.Network.InputSize, Is.EqualTo(64));
            Assert.That(checkpoint.Network.ConnectionCount, Is.EqualTo(214));
            Assert.That(checkpoint.History.Epochs, Has.Count.EqualTo(2));
            Assert.That(checkpoint.History.Epochs[1].EvaluationSeconds, Is.Zero, "version 1 did not record it");
            Assert.That(checkpoint.History.Epochs[1].LayerGrown, Is.Empty);
            Assert.That(checkpoint.Schema!.ClassNames, Has.Count.EqualTo(10));
        });

        // Written again, it is a current-version file with the same model.
        var again = Path.Combine(_directory, "v2.sparse");
        Checkpoint.Save(again, checkpoint.Network, history: checkpoint.History, schema: checkpoint.Schema);
        Assert.That(BitConverter.ToInt32(File.ReadAllBytes(again), 8), Is.EqualTo(Checkpoint.FormatVersion));
        Assert.That(Checkpoint.Load(again).Network.Parameters[0].Values.ToArray(), Is.EqualTo(checkpoint.Network.Parameters[0].Values.ToArray()));
    }

    [Test]
    public void A_failed_save_leaves_the_previous_file_untouched()
    {
        var path = SaveSmall();
        var before = File.ReadAllBytes(path);
        var unsavable = new SparseNetwork([new UnsavableLayer()]);
        Assert.That(() => Checkpoint.Save(path, unsavable), Throws.InstanceOf<NotSupportedException>());
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
            Assert.That(Directory.GetFiles(_directory), Has.Length.EqualTo(1), "the temporary file is removed");
        });
    }

    private string SaveSmall()
    {
        var path = Path.Combine(_directory, "small.sparse");
        var network = SparseNetwork.CreateMlp([5, 8, 3], ActivationKind.Tanh, epsilon: 2, seed: 4);
        var optimizer = new Adam();
        optimizer.Step(network.Parameters);
        Checkpoint.Save(path, network, optimizer, epoch: 3);
        return path;
    }

    private sealed class StopAfter(int epochs, CancellationTokenSource source) : ITrainingHook
    {
        public void OnStepEnd(TrainingContext context)
        {
        }

        public void OnEpochEnd(TrainingContext context)
        {
            if (context.Epoch + 1 == epochs)
            {
                source.Cancel();
            }
        }
    }

    private sealed class UnsavableLayer : Layer
    {
        public override int InputSize => 1;

        public override int OutputSize => 1;

        public override void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training, Sparse.Core.ComputeOptions? options = null) => input.CopyTo(output);

        public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, Sparse.Core.ComputeOptions? options = null) =>
            outputGradient.CopyTo(inputGradient);
    }
}
