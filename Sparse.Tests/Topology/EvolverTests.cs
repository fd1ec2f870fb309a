using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

[TestFixture]
public class EvolverTests
{
    // The scratch the memory check budgets for a step is what a step allocates: measured on layers large enough that
    // every scratch array is allocated, not pooled (ScratchArray pools up to 2^20 elements).
    [TestCase("set")]
    [TestCase("rigl")]
    [TestCase("ctre")]
    [TestCase("cosine-pruning")]
    public void An_evolution_step_allocates_no_more_than_its_stated_scratch(string method)
    {
        const int batch = 4;
        var layer = new SparseLinear(RandomSparse.Bernoulli(1500, 1500, 0.6, ValueDistribution.Normal(1), 3));
        var optimizer = new Sgd(0.1f, momentum: 0.9f);
        optimizer.StateOf(layer.WeightParameter);
        var evolver = method switch
        {
            "set" => TopologyEvolver.Set(seed: 2),
            "rigl" => TopologyEvolver.RigL(),
            "ctre" => TopologyEvolver.Ctre(seed: 2),
            _ => new TopologyEvolver(new CosinePruner(), new RandomRegrower(2)),
        };
        var random = new Random(5);
        float[] Dense(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)random.NextDouble())];
        var signals = new LayerSignals(Dense(1500 * batch), Dense(1500 * batch), Dense(1500 * batch), batch);
        _ = layer.Weights.Transposed; // built before, as after any training step
        var before = GC.GetAllocatedBytesForCurrentThread();
        evolver.EvolveLayer(layer, optimizer, 0.3, signals);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var stated = layer.Weights.NonZeroCount * evolver.ScratchBytesPerConnection(optimizer.StateSlots);
        TestContext.Out.WriteLine($"{method}: allocated {allocated:N0} B for {layer.Weights.NonZeroCount:N0} connections, stated {stated:N0} B");
        Assert.That(allocated, Is.LessThanOrEqualTo(stated));
    }

    [Test]
    public void Many_random_steps_keep_the_budget_sorted_unique_rows_and_state_with_its_weight()
    {
        var random = new Random(17);
        for (var trial = 0; trial < 25; trial++)
        {
            int rows = random.Next(1, 40), columns = random.Next(1, 40);
            var layer = new SparseLinear(RandomSparse.Bernoulli(rows, columns, random.NextDouble() * 0.6, ValueDistribution.Normal(1), (ulong)trial));
            var optimizer = new Sgd(0.1f, momentum: 0.9f);
            var fraction = random.NextDouble();
            var evolver = new TopologyEvolver(new MagnitudePruner(separateSigns: random.Next(2) == 0), new RandomRegrower((ulong)trial));
            var budget = layer.Weights.NonZeroCount;
            for (var step = 0; step < 8; step++)
            {
                // Tag each connection's state with its weight, so we can see that state moved with it.
                var state = optimizer.StateOf(layer.WeightParameter)[0];
                var before = new Dictionary<(int, int), float>();
                for (var row = 0; row < rows; row++)
                {
                    for (var k = layer.Weights.RowPointers[row]; k < layer.Weights.RowPointers[row + 1]; k++)
                    {
                        state[k] = layer.Weights.Values[k] * 10;
                        before[(row, layer.Weights.ColumnIndices[k])] = layer.Weights.Values[k];
                    }
                }

                var report = evolver.EvolveLayer(layer, optimizer, fraction);
                layer.Weights.Validate(); // sorted, unique, in range: no regrown connection duplicates a kept one
                Assert.That(layer.Weights.NonZeroCount, Is.EqualTo(budget), "connection budget");
                Assert.That(report.Grown, Is.EqualTo(report.Pruned));
                Assert.That(layer.WeightParameter.Gradient, Has.Length.EqualTo(budget));
                state = optimizer.StateOf(layer.WeightParameter)[0];
                var grown = 0;
                for (var row = 0; row < rows; row++)
                {
                    for (var k = layer.Weights.RowPointers[row]; k < layer.Weights.RowPointers[row + 1]; k++)
                    {
                        var value = layer.Weights.Values[k];
                        if (before.TryGetValue((row, layer.Weights.ColumnIndices[k]), out var old) && old == value && state[k] == value * 10)
                        {
                            continue; // kept, with its state
                        }

                        Assert.That(state[k], Is.Zero, $"trial {trial} step {step}: a new connection starts with zero state");
                        grown++;
                    }
                }

                Assert.That(grown, Is.LessThanOrEqualTo(report.Grown));
                var view = layer.Weights.Transposed;
                Assert.That(view.ColumnPointers[columns], Is.EqualTo(budget), "transposed view rebuilt");
            }
        }
    }

    [Test]
    public void Set_pruning_removes_exactly_zeta_of_each_sign_closest_to_zero()
    {
        var layer = new SparseLinear(RandomSparse.Bernoulli(60, 70, 0.2, ValueDistribution.Normal(1), 3));
        var values = layer.Weights.Values;
        var positives = values.Where(v => v >= 0).Order().ToArray();
        var negatives = values.Where(v => v < 0).OrderDescending().ToArray();
        var drop = new bool[values.Length];
        var count = new MagnitudePruner().SelectDrops(layer, 0.3, null, drop);
        var droppedPositive = values.Where((v, k) => drop[k] && v >= 0).ToArray();
        var droppedNegative = values.Where((v, k) => drop[k] && v < 0).ToArray();
        var expectedPositive = MagnitudePruner.CountFor(positives.Length, 0.3);
        var expectedNegative = MagnitudePruner.CountFor(negatives.Length, 0.3);
        Assert.Multiple(() =>
        {
            Assert.That(droppedPositive, Has.Length.EqualTo(expectedPositive));
            Assert.That(droppedNegative, Has.Length.EqualTo(expectedNegative));
            Assert.That(count, Is.EqualTo(expectedPositive + expectedNegative));
            Assert.That(droppedPositive.Order(), Is.EqualTo(positives.Take(expectedPositive)), "the smallest positives");
            Assert.That(droppedNegative.OrderDescending(), Is.EqualTo(negatives.Take(expectedNegative)), "the negatives closest to zero");
        });
    }

    [Test]
    public void Plain_magnitude_pruning_drops_the_smallest_absolute_values_with_ties_counted_exactly()
    {
        var layer = new SparseLinear(new CsrMatrix(1, 6, [0, 6], [0, 1, 2, 3, 4, 5], [0.5f, -0.1f, 0.1f, 2f, -0.1f, 3f]));
        var drop = new bool[6];
        Assert.That(new MagnitudePruner(separateSigns: false).SelectDrops(layer, 0.5, null, drop), Is.EqualTo(3));
        Assert.That(drop, Is.EqualTo(new[] { false, true, true, false, true, false }));
    }

    [Test]
    public void The_same_seed_evolves_the_same_way()
    {
        CsrMatrix Run()
        {
            var layer = new SparseLinear(RandomSparse.ErdosRenyi(50, 80, 5, ValueDistribution.Normal(1), 4));
            var evolver = TopologyEvolver.Set(seed: 9);
            for (var n = 0; n < 5; n++)
            {
                evolver.EvolveLayer(layer, null, 0.3);
            }

            return layer.Weights;
        }

        var a = Run();
        var b = Run();
        Assert.Multiple(() =>
        {
            Assert.That(b.ColumnIndices, Is.EqualTo(a.ColumnIndices));
            Assert.That(b.Values, Is.EqualTo(a.Values));
        });
    }

    [Test]
    public void Set_beats_a_static_topology_on_the_digits_at_95_percent_sparsity()
    {
        double Accuracy(bool evolve, ulong seed)
        {
            var network = SparseNetwork.CreateMlp([64, 512, 512, 10], ActivationKind.Relu, epsilon: 3, seed: seed,
                normalization: InputNormalization.Fit(Training.DigitsData.Train, NormalizationKind.Standardize));
            var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f, weightDecay: 1e-4f),
                new TrainerOptions { Epochs = 30, BatchSize = 32, Seed = seed });
            if (evolve)
            {
                trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Set(seed), EvolutionSchedule.EveryEpoch(0.3)));
            }

            trainer.Fit(Training.DigitsData.Train);
            var density = network.ConnectionCount / (double)((64 * 512) + (512 * 512) + (512 * 10));
            Assert.That(density, Is.LessThanOrEqualTo(0.05), "95 % sparse");
            return Metrics.Evaluate(network, Training.DigitsData.Test, new SoftmaxCrossEntropy()).Accuracy!.Value;
        }

        ulong[] seeds = [1, 2, 3];
        var set = seeds.Select(s => Accuracy(true, s)).ToArray();
        var fixedTopology = seeds.Select(s => Accuracy(false, s)).ToArray();
        TestContext.Out.WriteLine($"SET {string.Join(", ", set.Select(a => a.ToString("P2")))}; static {string.Join(", ", fixedTopology.Select(a => a.ToString("P2")))}");
        Assert.That(set.Average(), Is.GreaterThan(fixedTopology.Average()));
    }
}
