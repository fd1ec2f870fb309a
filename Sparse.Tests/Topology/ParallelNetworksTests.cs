using Sparse.Core;
using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

[TestFixture]
public class ParallelNetworksTests
{
    private const int Epochs = 3;

    private static readonly NetworkConfig[] Grid =
    [
        new() { Hidden = [48, 40], Activation = ActivationKind.Relu, Epsilon = 6, LearningRate = 0.003f, WeightDecay = 1e-4f, Seed = 1 },
        new() { Hidden = [32, 56], Activation = ActivationKind.Tanh, Epsilon = 4, LearningRate = 0.01f, Dropout = 0.2f, Zeta = 0.5, Seed = 2 },
        new() { Hidden = [64, 24], Activation = ActivationKind.AllRelu, Density = 0.2, LearningRate = 0.003f, WeightDecay = 5e-4f, Dropout = 0.1f, Seed = 3 },
    ];

    private static InputNormalization Normalization => InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize);

    private static TopologyEvolver EvolverOf(string method, NetworkConfig config) => method switch
    {
        "set" => TopologyEvolver.Set(config.Seed),
        "rigl" => TopologyEvolver.RigL(),
        // A block network evolves hidden layers only (each configuration's head is its own), so the network alone does too.
        "ctre" => new TopologyEvolver(new MagnitudePruner(separateSigns: false), new CosineRegrower(CtreVariant.Plain, config.Seed)),
        _ => throw new ArgumentException(method),
    };

    private static LearningRateSchedule ScheduleOf(float rate) => LearningRateSchedule.Cosine(rate / 50);

    // The configuration trained as a network of its own, the way `sparse train` does.
    private static (SparseNetwork Network, Adam Optimizer, TrainingHistory History) Alone(NetworkConfig config, string method)
    {
        int[] sizes = [64, .. config.Hidden, 10];
        var network = SparseNetwork.CreateMlp(sizes, config.Activation, config.Epsilon, config.Seed, config.Dropout, config.Slope, Normalization,
            config.Density is { } d ? LayerDensities.Uniform(sizes, d) : null);
        var optimizer = new Adam(config.LearningRate, weightDecay: config.WeightDecay, decoupled: true);
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer,
            new TrainerOptions { Epochs = Epochs, BatchSize = 32, Seed = 7, Schedule = ScheduleOf(config.LearningRate) });
        if (method != "none")
        {
            trainer.Hooks.Add(new EvolutionHook(EvolverOf(method, config), EvolutionSchedule.CosineDecayPerEpoch(config.Zeta)));
        }

        return (network, optimizer, trainer.Fit(DigitsData.Train, DigitsData.Test));
    }

    private static (ParallelNetworks Grid, Adam Optimizer, List<HeadScore[]> Scores) Together(string method, int threads = 2)
    {
        var grid = ParallelNetworks.Create(64, 10, Grid, Normalization);
        grid.Network.Compute = ComputeOptions.Default with { Threads = threads };
        var loss = grid.CreateLoss(new SoftmaxCrossEntropy(), classification: true);
        var optimizer = new Adam(decoupled: true);
        grid.ConfigureOptimizer(optimizer, ScheduleOf);
        var trainer = new Trainer(grid.Network, loss, optimizer, new TrainerOptions { Epochs = Epochs, BatchSize = 32, Seed = 7 });
        var scores = new List<HeadScore[]>();
        trainer.Hooks.Add(new ScoreHook(loss, scores));
        if (method != "none")
        {
            trainer.Hooks.Add(grid.CreateEvolutionHook(c => EvolverOf(method, c), c => EvolutionSchedule.CosineDecayPerEpoch(c.Zeta)));
        }

        trainer.Fit(DigitsData.Train, DigitsData.Test);
        return (grid, optimizer, scores);
    }

    [TestCase("none")]
    [TestCase("set")]
    [TestCase("rigl")]
    [TestCase("ctre")]
    public void Each_block_trains_bit_for_bit_as_its_network_alone(string method)
    {
        var (grid, optimizer, scores) = Together(method);
        for (var k = 0; k < Grid.Length; k++)
        {
            var (alone, aloneOptimizer, history) = Alone(Grid[k], method);
            var split = grid.Split(k);
            var pairs = alone.SparseLayers.Zip(split.SparseLayers).ToArray();
            Assert.Multiple(() =>
            {
                Assert.That(split.Layers.Select(l => l.GetType()), Is.EqualTo(alone.Layers.Select(l => l.GetType())), $"config {k}: layers");
                foreach (var (a, b) in pairs)
                {
                    Assert.That(b.Weights.RowPointers, Is.EqualTo(a.Weights.RowPointers), $"config {k}: row pointers");
                    Assert.That(b.Weights.ColumnIndices, Is.EqualTo(a.Weights.ColumnIndices), $"config {k}: columns");
                    Assert.That(b.Weights.Values, Is.EqualTo(a.Weights.Values), $"config {k}: weights");
                    Assert.That(b.Bias, Is.EqualTo(a.Bias), $"config {k}: biases");
                }

                Assert.That(grid.ConnectionsOf(k), Is.EqualTo(alone.ConnectionCount), $"config {k}: connections");
                for (var e = 0; e < Epochs; e++)
                {
                    Assert.That(scores[e][k].Loss, Is.EqualTo(history.Epochs[e].TestLoss), $"config {k}, epoch {e + 1}: test loss");
                    Assert.That(scores[e][k].Accuracy, Is.EqualTo(history.Epochs[e].TestAccuracy), $"config {k}, epoch {e + 1}: test accuracy");
                }

                // Adam's moments moved with the connections in the block as they did alone.
                var grouped = grid.Network.SparseLayers.First();
                var first = pairs[0].First;
                var aloneMoments = aloneOptimizer.StateOf(first.WeightParameter)[0];
                var blockMoments = optimizer.StateOf(grouped.WeightParameter)[0];
                var start = (int)grouped.Weights.RowPointers[Grid.Take(k).Sum(c => c.Hidden[0])];
                Assert.That(blockMoments.AsSpan(start, aloneMoments.Length).ToArray(), Is.EqualTo(aloneMoments), $"config {k}: first moments");
            });
        }

        Assert.That(scores[^1].All(s => s.Accuracy > 0.3f), $"every configuration learns (chance is 0.1): {string.Join(", ", scores[^1].Select(s => s.Accuracy))}");
    }

    [Test]
    public void The_thread_count_changes_no_bit()
    {
        var (one, _, _) = Together("set", threads: 1);
        var (two, _, _) = Together("set", threads: 2);
        foreach (var (a, b) in one.Network.SparseLayers.Zip(two.Network.SparseLayers))
        {
            Assert.That(b.Weights.Values, Is.EqualTo(a.Weights.Values));
            Assert.That(b.Weights.ColumnIndices, Is.EqualTo(a.Weights.ColumnIndices));
        }
    }

    [Test]
    public void Evolution_never_connects_two_blocks()
    {
        var (grid, _, _) = Together("set");
        var l = 0;
        foreach (var layer in grid.Network.SparseLayers)
        {
            var w = layer.Weights;
            w.Validate();
            for (var k = 0; k < Grid.Length; k++)
            {
                var (first, end) = grid.RowsOf(l, k);
                var (firstColumn, endColumn) = grid.ColumnsOf(l, k);
                for (var e = w.RowPointers[first]; e < w.RowPointers[end]; e++)
                {
                    Assert.That(w.ColumnIndices[e], Is.InRange(firstColumn, endColumn - 1), $"layer {l}, block {k}");
                }
            }

            l++;
        }
    }

    [Test]
    public void A_diverging_configuration_is_frozen_and_the_others_train_on()
    {
        NetworkConfig[] configs =
        [
            new() { Hidden = [32], Epsilon = 6, LearningRate = 0.05f, Seed = 1 },
            new() { Hidden = [32], Epsilon = 6, LearningRate = 1e30f, Seed = 2 },
        ];
        var grid = ParallelNetworks.Create(64, 10, configs, Normalization);
        var loss = grid.CreateLoss(new SoftmaxCrossEntropy(), classification: true);
        var optimizer = new Sgd(1f);
        grid.ConfigureOptimizer(optimizer, _ => LearningRateSchedule.Constant);
        var trainer = new Trainer(grid.Network, loss, optimizer, new TrainerOptions { Epochs = 2, BatchSize = 32, Seed = 1 });
        var scores = new List<HeadScore[]>();
        trainer.Hooks.Add(new ScoreHook(loss, scores, grid));
        trainer.Fit(DigitsData.Train, DigitsData.Test);
        Assert.Multiple(() =>
        {
            Assert.That(loss.Diverged, Is.EqualTo(new[] { false, true }));
            Assert.That(scores[^1][0].Accuracy, Is.GreaterThan(0.6f));
            Assert.That(scores[^1][1].Accuracy, Is.Null);
            Assert.That(grid.HasNonFinite(1), Is.False, "frozen at zero");
        });
    }

    [Test]
    public void A_warm_step_of_a_block_network_allocates_nothing()
    {
        var grid = ParallelNetworks.Create(64, 10, Grid, Normalization);
        grid.Network.Compute = new ComputeOptions { Threads = Math.Max(2, Environment.ProcessorCount) };
        var loss = grid.CreateLoss(new SoftmaxCrossEntropy(), classification: true);
        var optimizer = new Adam(decoupled: true);
        grid.ConfigureOptimizer(optimizer, ScheduleOf);
        var loader = new BatchLoader(DigitsData.Train, 32, grid.Network.Normalization, shuffle: true, seed: 1, grid.Network.Compute);
        var gradient = new float[grid.Network.OutputSize * 32];
        void Step()
        {
            if (!loader.Next())
            {
                loader.StartEpoch(1);
                loader.Next();
            }

            var output = grid.Network.Forward(loader.Batch.Features, loader.Batch.Size, training: true);
            loss.Compute(output, loader.Batch, gradient, grid.Network.Compute);
            grid.Network.Backward(gradient);
            optimizer.Step(grid.Network.Parameters, grid.Network.Compute);
        }

        Step();
        Step();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var n = 0; n < 10; n++)
        {
            Step();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void A_block_network_trains_on_sparse_rows()
    {
        // The digits as sparse rows: the block network's first layer keeps its rows (row groups) output-major.
        var train = DigitsData.Train;
        var pointers = new List<long> { 0 };
        var columns = new List<int>();
        var values = new List<float>();
        for (var r = 0; r < train.Count; r++)
        {
            for (var f = 0; f < train.FeatureCount; f++)
            {
                if (train.Features[(r * train.FeatureCount) + f] is var v and not 0)
                {
                    columns.Add(f);
                    values.Add(v);
                }
            }

            pointers.Add(columns.Count);
        }

        var sparse = Dataset.ForClassification(new CsrMatrix(train.Count, train.FeatureCount, [.. pointers], [.. columns], [.. values]), train.Labels!, 10);
        var normalization = InputNormalization.Fit(sparse, NormalizationKind.MaxAbs);
        var grid = ParallelNetworks.Create(64, 10, Grid, normalization);
        var loss = grid.CreateLoss(new SoftmaxCrossEntropy(), classification: true);
        var optimizer = new Adam(decoupled: true);
        grid.Network.StepsActiveInputsOnly = true;
        grid.ConfigureOptimizer(optimizer, ScheduleOf);
        Assert.That(grid.Network.StepsActiveInputsOnly, Is.False, "row groups read the first layer output-major");
        var history = new Trainer(grid.Network, loss, optimizer, new TrainerOptions { Epochs = 2, BatchSize = 32, Seed = 7 }).Fit(sparse);
        Assert.That(history.Epochs[^1].TrainLoss, Is.LessThan(history.Epochs[0].TrainLoss));
        Assert.That(grid.Network.SparseLayers.First().IsInputMajor, Is.False);
    }

    [Test]
    public void Configurations_of_different_depths_are_refused()
    {
        NetworkConfig[] configs = [new() { Hidden = [32] }, new() { Hidden = [32, 32] }];
        Assert.That(() => ParallelNetworks.Create(64, 10, configs), Throws.ArgumentException.With.Message.Contains("same number of hidden layers"));
    }

    // Reads each head's scores after every evaluation, and freezes a configuration that diverged.
    private sealed class ScoreHook(MultiHeadLoss loss, List<HeadScore[]> scores, ParallelNetworks? grid = null) : ITrainingHook
    {
        public void OnStepEnd(TrainingContext context)
        {
        }

        public void OnEpochEnd(TrainingContext context)
        {
            loss.TakeTraining();
            for (var k = 0; grid is not null && k < loss.Heads; k++)
            {
                if (loss.Diverged[k] || grid.HasNonFinite(k))
                {
                    loss.MarkDiverged(k);
                    grid.Freeze(k);
                }
            }
        }

        public void OnEvaluated(TrainingContext context, Evaluation evaluation) => scores.Add(loss.TakeEvaluation());
    }
}
