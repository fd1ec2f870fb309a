using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>The README's custom training loop is this test's code, verbatim; the test runs it and checks the README still matches.</summary>
[TestFixture]
public class ReadMeTests
{
    [Test]
    public void The_custom_training_loop_in_the_readme_runs_and_learns()
    {
        Directory.SetCurrentDirectory(TestContext.CurrentContext.TestDirectory);

        // README: begin
        var (train, test) = CsvDataset.LoadClassification("data/digits.csv.gz").Data.Split(0.2, seed: 42);
        var network = SparseNetwork.CreateMlp([64, 512, 512, 10], ActivationKind.Relu, epsilon: 8, seed: 1,
            normalization: InputNormalization.Fit(train, NormalizationKind.Standardize));
        var loss = new SoftmaxCrossEntropy();
        var optimizer = new Sgd(learningRate: 0.05f, momentum: 0.9f, weightDecay: 1e-4f);
        var batches = new BatchLoader(train, batchSize: 32, network.Normalization, shuffle: true, seed: 1);
        var evolver = TopologyEvolver.Set(seed: 1); // SET: prune by magnitude, regrow at random
        var gradient = new float[network.OutputSize * batches.Batch.Capacity];
        for (var epoch = 0; epoch < 20; epoch++)
        {
            batches.StartEpoch(epoch);
            while (batches.Next())
            {
                var output = network.Forward(batches.Batch.Features, batches.Batch.Size, training: true);
                loss.Compute(output, batches.Batch, gradient);
                network.Backward(gradient);
                optimizer.Step(network.Parameters);
            }

            if (epoch < 19)
            {
                evolver.Evolve(network, optimizer, fraction: 0.3);
            }
        }

        Console.WriteLine($"test accuracy {Metrics.Evaluate(network, test, loss).Accuracy:P1}");
        // README: end

        Assert.That(Metrics.Evaluate(network, test, loss).Accuracy, Is.GreaterThan(0.95f));
        Assert.That(ReadMeBlock("custom-loop"), Is.EqualTo(SourceBlock("README")), "README.md's custom loop differs from this test's code");
    }

    [Test]
    public void The_grid_example_in_the_readme_runs_and_learns()
    {
        Directory.SetCurrentDirectory(TestContext.CurrentContext.TestDirectory);

        // README grid: begin
        var (train, test) = CsvDataset.LoadClassification("data/digits.csv.gz").Data.Split(0.2, seed: 42);
        NetworkConfig[] configs = [.. from rate in new[] { 0.001f, 0.003f }
                                      from activation in new[] { ActivationKind.Relu, ActivationKind.Tanh }
                                      select new NetworkConfig { Hidden = [256, 256], Activation = activation, Epsilon = 8, LearningRate = rate }];
        var grid = ParallelNetworks.Create(64, 10, configs, InputNormalization.Fit(train, NormalizationKind.Standardize));
        var loss = grid.CreateLoss(new SoftmaxCrossEntropy(), classification: true);
        var optimizer = new Adam(decoupled: true);
        grid.ConfigureOptimizer(optimizer, rate => LearningRateSchedule.Cosine(rate / 50)); // each block its own rate
        var trainer = new Trainer(grid.Network, loss, optimizer, new TrainerOptions { Epochs = 10, BatchSize = 32 });
        trainer.Hooks.Add(grid.CreateEvolutionHook(c => TopologyEvolver.Set(c.Seed), c => EvolutionSchedule.CosineDecayPerEpoch(c.Zeta)));
        trainer.Fit(train, test);
        var scores = grid.Evaluate(test, loss); // each configuration's test loss and accuracy
        var best = Enumerable.Range(0, configs.Length).MaxBy(k => scores[k].Accuracy);
        Console.WriteLine($"best: {configs[best]}, test accuracy {scores[best].Accuracy:P1}");
        SparseNetwork model = grid.Split(best); // a standalone network, for Checkpoint.Save, OnnxExport, ...
        // README grid: end

        Assert.That(Metrics.Evaluate(model, test, new SoftmaxCrossEntropy()).Accuracy, Is.EqualTo(scores[best].Accuracy));
        Assert.That(scores.All(s => s.Accuracy > 0.9f), string.Join(", ", scores));
        Assert.That(ReadMeBlock("grid"), Is.EqualTo(SourceBlock("README grid")), "README.md's grid example differs from this test's code");
    }

    [Test]
    public void The_resume_example_in_the_readme_continues_to_the_bit_of_an_uninterrupted_run()
    {
        Directory.SetCurrentDirectory(TestContext.CurrentContext.TestDirectory);

        // README resume: begin
        var (train, test) = CsvDataset.LoadClassification("data/digits.csv.gz").Data.Split(0.2, seed: 42);
        var recipe = new TrainingRecipe { Hidden = [256, 256], Epochs = 6 }; // RigL, Adam at 0.003, cosine-annealed
        var trainer = recipe.CreateTrainer(train);
        using var stop = new CancellationTokenSource();
        trainer.Progress += p => { if (p.Epoch == 2 && p.Batch == 10) stop.Cancel(); }; // an interrupt in epoch 3
        trainer.Fit(train, test, stop.Token);
        trainer.SaveCheckpoint("digits.checkpoint"); // recipe, network, optimizer, evolver, position, history

        var resumed = TrainingRecipe.Resume(Checkpoint.Load("digits.checkpoint"));
        resumed.Fit(train, test);
        Console.WriteLine($"test accuracy {resumed.History.Epochs[^1].TestAccuracy:P1}");
        // README resume: end

        File.Delete("digits.checkpoint");
        var straight = recipe.CreateTrainer(train);
        straight.Fit(train, test);
        Assert.Multiple(() =>
        {
            Assert.That((trainer.StartEpoch, trainer.StartBatch), Is.EqualTo((2, 10)), "the interrupt came where the example says");
            for (var n = 0; n < straight.Network.Parameters.Count; n++)
            {
                Assert.That(resumed.Network.Parameters[n].Values, Is.EqualTo(straight.Network.Parameters[n].Values).AsCollection, straight.Network.Parameters[n].Name);
            }

            Assert.That(resumed.History.Epochs.Select(e => e.TestLoss), Is.EqualTo(straight.History.Epochs.Select(e => e.TestLoss)));
            Assert.That(resumed.History.Epochs[^1].TestAccuracy, Is.GreaterThan(0.9f));
            Assert.That(ReadMeBlock("resume"), Is.EqualTo(SourceBlock("README resume")), "README.md's resume example differs from this test's code");
        });
    }

    private static string ReadMeBlock(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "README.md"));
        var start = Array.IndexOf(lines, $"<!-- {name}: the code below is run by ReadMeTests -->");
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"README.md lost its {name} marker");
        return Normalize(lines.Skip(start + 2).TakeWhile(line => line != "```"));
    }

    private static string SourceBlock(string marker)
    {
        var lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "ReadMeTests.cs.txt"));
        var begin = Array.FindIndex(lines, l => l.Trim() == $"// {marker}: begin");
        var end = Array.FindIndex(lines, l => l.Trim() == $"// {marker}: end");
        return Normalize(lines.Skip(begin + 1).Take(end - begin - 1));
    }

    // Compare without the test's indentation.
    private static string Normalize(IEnumerable<string> lines)
    {
        var list = lines.ToList();
        var indent = list.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", list.Select(l => l.Length >= indent ? l[indent..] : l.Trim())).Trim();
    }
}
