using Sparse.Core;
using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>Pruning by cosine importance, and every pruner with every regrower.</summary>
[TestFixture]
public class CosinePruningTests
{
    // Activations over `rows` samples, feature-major, with some neurons silent (a dead ReLU) and some copies of others
    // (ties), as a layer's sample holds them.
    private static float[] Activations(int neurons, int rows, Random random)
    {
        var values = new float[neurons * rows];
        for (var n = 0; n < neurons; n++)
        {
            var kind = random.Next(6);
            for (var r = 0; r < rows; r++)
            {
                values[(n * rows) + r] = kind switch
                {
                    0 => 0f,
                    1 when n > 0 => values[((n - 1) * rows) + r],
                    _ => random.NextDouble() < 0.4 ? 0f : (float)random.NextDouble() * 2 - 0.5f,
                };
            }
        }

        return values;
    }

    private static double Cosine(float[] a, int i, float[] b, int j, int rows)
    {
        double dot = 0, na = 0, nb = 0;
        for (var r = 0; r < rows; r++)
        {
            var (x, y) = ((double)a[(i * rows) + r], (double)b[(j * rows) + r]);
            dot += x * y;
            na += x * x;
            nb += y * y;
        }

        return na > 0 && nb > 0 ? Math.Abs(dot) / Math.Sqrt(na * nb) : 0;
    }

    // Shapes with an empty row, one column, one row, and widths that are not multiples of the vector width.
    [TestCase(1, 1, 1, 1.0, 0.5)]
    [TestCase(9, 1, 13, 0.8, 0.3)]
    [TestCase(1, 17, 5, 0.9, 0.3)]
    [TestCase(37, 29, 33, 0.3, 0.3)]
    [TestCase(64, 70, 100, 0.2, 0.5)]
    [TestCase(50, 41, 7, 0.1, 0.0)]
    [TestCase(50, 41, 7, 0.1, 1.0)]
    public void Cosine_pruning_drops_exactly_the_least_alike_pairs(int outputs, int inputs, int rows, double density, double fraction)
    {
        var random = new Random(outputs * 1000 + inputs);
        var weights = RandomSparse.Bernoulli(outputs, inputs, density, ValueDistribution.Normal(1), (ulong)rows);
        var layer = new SparseLinear(weights);
        var input = Activations(inputs, rows, random);
        var activation = Activations(outputs, rows, random);
        var sample = new LayerSignals(input, activation, ReadOnlyMemory<float>.Empty, rows);

        var nnz = (int)weights.NonZeroCount;
        var scores = new float[nnz];
        CosinePruner.Score(weights, sample, scores, ComputeOptions.Default);
        var order = new List<(double Score, int Entry)>();
        for (var j = 0; j < outputs; j++)
        {
            for (var k = (int)weights.RowPointers[j]; k < weights.RowPointers[j + 1]; k++)
            {
                var expected = Cosine(input, weights.ColumnIndices[k], activation, j, rows);
                Assert.That(scores[k], Is.EqualTo(expected).Within(1e-5), $"entry {k} at ({j}, {weights.ColumnIndices[k]})");
                order.Add((scores[k], k));
            }
        }

        // The least important round(fraction x nnz), ties by position: what a stable sort of the scores marks.
        var drop = new bool[nnz];
        var pruned = new CosinePruner().SelectDrops(new PruneRequest(layer, fraction, null) { Sample = sample }, drop);
        var count = MagnitudePruner.CountFor(nnz, fraction);
        var expectedDrops = order.OrderBy(o => o.Score).ThenBy(o => o.Entry).Take(count).Select(o => o.Entry).ToHashSet();
        Assert.Multiple(() =>
        {
            Assert.That(pruned, Is.EqualTo(count), "the exact count");
            Assert.That(Enumerable.Range(0, nnz).Where(k => drop[k]), Is.EquivalentTo(expectedDrops));
        });
    }

    [Test]
    public void The_choice_is_the_same_for_any_thread_count_and_reads_the_sample_before_the_step()
    {
        var random = new Random(3);
        var weights = RandomSparse.Bernoulli(300, 200, 0.1, ValueDistribution.Normal(1), 4);
        var layer = new SparseLinear(weights);
        var sample = new LayerSignals(Activations(200, 257, random), Activations(300, 257, random), ReadOnlyMemory<float>.Empty, 257);
        var step = new LayerSignals(Activations(200, 16, random), Activations(300, 16, random), ReadOnlyMemory<float>.Empty, 16);
        bool[] Drops(LayerSignals? signals, LayerSignals? fromSample, int threads)
        {
            var drop = new bool[weights.NonZeroCount];
            new CosinePruner().SelectDrops(new PruneRequest(layer, 0.3, signals) { Sample = fromSample, Compute = ComputeOptions.Default with { Threads = threads } }, drop);
            return drop;
        }

        Assert.Multiple(() =>
        {
            Assert.That(Drops(step, sample, 1), Is.EqualTo(Drops(step, sample, 2)), "threads");
            Assert.That(Drops(step, sample, 2), Is.EqualTo(Drops(null, sample, 2)), "the sample decides when there is one");
            Assert.That(Drops(step, null, 2), Is.Not.EqualTo(Drops(null, sample, 2)), "the step's signals without a sample");
            Assert.That(() => Drops(null, null, 2), Throws.InvalidOperationException.With.Message.Contains("ActivationSample"));
        });
    }

    // Every pruner with every regrower, as a recipe builds them, on a network trained for a few steps: the budget, the
    // structure and the optimizer state hold through several evolutions, and the same seed evolves the same way.
    [Test]
    public void Every_pruner_with_every_regrower_keeps_the_budget_structure_and_state([Values] PruneMethod prune, [Values] GrowthMethod grow,
        [Values(EvolutionMethod.Set, EvolutionMethod.RigL, EvolutionMethod.Ctre)] EvolutionMethod method)
    {
        var recipe = new TrainingRecipe { Hidden = [40, 24], Epsilon = 5, Evolution = method, Prune = prune, Grow = grow, Epochs = 3, BatchSize = 32, Seed = 6, Optimizer = OptimizerKind.Sgd };
        recipe.Validate();
        var evolver = recipe.CreateEvolver()!;
        Assert.Multiple(() =>
        {
            Assert.That(evolver.Pruner, prune == PruneMethod.Cosine ? Is.TypeOf<CosinePruner>() : Is.TypeOf<MagnitudePruner>());
            Assert.That(evolver.Regrower, Is.TypeOf(grow switch { GrowthMethod.Random => typeof(RandomRegrower), GrowthMethod.Gradient => typeof(GradientRegrower), _ => typeof(CosineRegrower) }));
            Assert.That(evolver.IncludeOutputLayer, Is.EqualTo(method == EvolutionMethod.Ctre), "the method's own choice of layers stays");
            Assert.That(recipe.EvolutionSamplesRows, Is.EqualTo(prune == PruneMethod.Cosine || grow == GrowthMethod.Cosine));
            Assert.That(recipe.EvolutionDescription, Does.StartWith($"{recipe.EvolutionName}: prune by {evolver.Pruner.Name}, grow by {evolver.Regrower.Name}"));
        });

        (SparseNetwork, TrainingHistory) Train()
        {
            var trainer = recipe.CreateTrainer(DigitsData.Train);
            var history = trainer.Fit(DigitsData.Train);
            return (trainer.Network, history);
        }

        var (network, history) = Train();
        var budgets = recipe.CreateNetwork(DigitsData.Train, DigitsData.Train.OutputCount).SparseLayers.Select(l => l.Weights.NonZeroCount).ToArray();
        Assert.That(history.TopologyChanges.Sum(c => c.Grown), Is.GreaterThan(0), "it rewired");
        var layers = network.SparseLayers.ToArray();
        for (var n = 0; n < layers.Length; n++)
        {
            layers[n].Weights.Validate();
            Assert.That(layers[n].Weights.NonZeroCount, Is.EqualTo(budgets[n]), $"layer {n}'s budget");
        }

        var (again, _) = Train();
        Assert.That(again.SparseLayers.Select(l => l.Weights.ColumnIndices.ToArray()), Is.EqualTo(layers.Select(l => l.Weights.ColumnIndices.ToArray())), "the same seed, the same topology");
    }

    [Test]
    public void The_halves_need_a_method_and_the_methods_own_halves_are_its_bundle()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.None, Grow = GrowthMethod.Random }.Validate(),
                Throws.ArgumentException.With.Message.EqualTo("--grow chooses a half of an evolution method, and --evolve none has none: give --evolve set, rigl or ctre with it."));
            Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.None, Prune = PruneMethod.Cosine }.Validate(),
                Throws.ArgumentException.With.Message.StartsWith("--prune chooses a half"));
            Assert.That(new TrainingRecipe { Evolution = EvolutionMethod.Set }.EvolutionDescription, Is.EqualTo("set: prune by magnitude (each sign), grow by random"));
            Assert.That(new TrainingRecipe { Evolution = EvolutionMethod.RigL }.EvolutionDescription, Is.EqualTo("rigl: prune by magnitude, grow by gradient"));
            Assert.That(new TrainingRecipe { Evolution = EvolutionMethod.CtreSim }.EvolutionDescription, Is.EqualTo("ctre-sim: prune by magnitude, grow by cosine (ctre-sim), output layer included"));
            Assert.That(new TrainingRecipe { Evolution = EvolutionMethod.RigL, Prune = PruneMethod.Cosine }.EvolutionInterval, Is.EqualTo(0), "a cosine half evolves after each epoch, as CTRE does");
            Assert.That(TrainingRecipe.ParsePrune("cosine"), Is.EqualTo(PruneMethod.Cosine));
            Assert.That(TrainingRecipe.ParseGrowth("gradient"), Is.EqualTo(GrowthMethod.Gradient));
            Assert.That(() => TrainingRecipe.ParseGrowth("magnitude"), Throws.ArgumentException.With.Message.Contains("random, gradient, cosine"));
        });
    }

    [Test]
    public void A_kept_recording_outlives_the_samples_pass_until_the_next_step_records()
    {
        var network = SparseNetwork.CreateMlp([64, 32, 10], ActivationKind.Relu, epsilon: 5, seed: 2,
            normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));
        var recorder = new SignalRecorder(SignalKinds.OutputGradients);
        var loader = new BatchLoader(DigitsData.Train, 16, network.Normalization, shuffle: false, seed: 0);
        void Step()
        {
            loader.Next();
            var output = network.Forward(loader.Batch, training: true);
            network.Backward(Enumerable.Range(0, output.Length).Select(k => (k % 7) * 0.01f).ToArray(), recorder);
        }

        Step();
        var first = network.SparseLayers.First();
        var recorded = recorder.Of(first);
        var (input, activation, gradient) = (recorded.Input.ToArray(), recorded.Activation.ToArray(), recorded.OutputGradient.ToArray());
        recorder.KeepAcrossPasses();
        loader.Next();
        network.Forward(loader.Batch, training: false);
        Assert.That(recorder.IsCurrent, Is.True, "kept through an inference pass");
        var kept = recorder.Of(first);
        Assert.Multiple(() =>
        {
            Assert.That(kept.Input.ToArray(), Is.EqualTo(input).AsCollection);
            Assert.That(kept.Activation.ToArray(), Is.EqualTo(activation).AsCollection);
            Assert.That(kept.OutputGradient.ToArray(), Is.EqualTo(gradient).AsCollection);
            Assert.That(first.Weights.NonZeroCount, Is.GreaterThan(0));
        });

        // A training pass that records nothing ends the kept recording too.
        loader.Next();
        network.Forward(loader.Batch, training: true);
        Assert.That(recorder.IsCurrent, Is.False, "a kept recording ends with the next training pass");

        // The next step's recording reads the network's buffers again, and goes stale with the next pass.
        Step();
        Assert.That(recorder.Of(first).Input.ToArray(), Is.Not.EqualTo(input).AsCollection);
        network.Forward(loader.Batch, training: false);
        Assert.That(recorder.IsCurrent, Is.False);
    }
}
