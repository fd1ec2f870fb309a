using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

[TestFixture]
public class RegrowthTests
{
    private const int Batch = 9;

    private static (SparseLinear Layer, LayerSignals Signals) SmallLayer(int outputs, int inputs, int seed)
    {
        var layer = new SparseLinear(RandomSparse.Bernoulli(outputs, inputs, 0.2, ValueDistribution.Normal(1), (ulong)seed));
        var x = Random(inputs * Batch, seed + 1);
        var a = Random(outputs * Batch, seed + 2);
        var dy = Random(outputs * Batch, seed + 3);

        // One neuron that never fires: its cosine is defined as 0, not NaN.
        a.AsSpan(0, Batch).Clear();
        return (layer, new LayerSignals(x, a, dy, Batch));
    }

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1))];
    }

    // Every missing position of the layer, scored by brute force in double, best first, ties by position.
    private static List<(int Row, int Column)> BruteForceTop(SparseLinear layer, Func<int, int, double> score, int k)
    {
        var stored = new HashSet<(int, int)>();
        for (var row = 0; row < layer.Weights.Rows; row++)
        {
            for (var p = layer.Weights.RowPointers[row]; p < layer.Weights.RowPointers[row + 1]; p++)
            {
                stored.Add((row, layer.Weights.ColumnIndices[p]));
            }
        }

        return [.. (from row in Enumerable.Range(0, layer.Weights.Rows)
                    from column in Enumerable.Range(0, layer.Weights.Columns)
                    where !stored.Contains((row, column))
                    orderby -score(row, column), row, column
                    select (row, column)).Take(k)];
    }

    private static double Dot(LayerSignals s, ReadOnlyMemory<float> outputs, int row, int column)
    {
        double sum = 0;
        for (var b = 0; b < s.Batch; b++)
        {
            sum += (double)outputs.Span[(row * s.Batch) + b] * s.Input.Span[(column * s.Batch) + b];
        }

        return sum;
    }

    private static double Norm(ReadOnlyMemory<float> rows, int row, int batch) =>
        Math.Sqrt(Enumerable.Range(0, batch).Sum(b => (double)rows.Span[(row * batch) + b] * rows.Span[(row * batch) + b]));

    private static List<(int Row, int Column)> Grow(IRegrower regrower, SparseLinear layer, LayerSignals signals, int k, IReadOnlySet<long>? pruned = null)
    {
        var grown = new CooMatrix(layer.OutputSize, layer.InputSize);
        regrower.Grow(new GrowthRequest(layer, layer.Weights, k, pruned ?? new HashSet<long>(), signals), grown);
        Assert.That(grown.Count, Is.EqualTo(k));
        return [.. grown.RowIndices.ToArray().Zip(grown.ColumnIndices.ToArray())];
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(17)]
    [TestCase(0)]
    public void Rigl_grows_exactly_the_top_k_of_the_brute_force_dense_gradient(int blockRows)
    {
        var (layer, signals) = SmallLayer(23, 31, 5);
        var expected = BruteForceTop(layer, (j, i) => Math.Abs(Dot(signals, signals.OutputGradient, j, i)), 40);
        Assert.That(Grow(new GradientRegrower(blockRows), layer, signals, 40), Is.EqualTo(expected.Order()), "the top 40, in (row, column) order");
    }

    // Every score equal: the buffer's cuts must keep the earliest positions, as the brute force does.
    [TestCase(1)]
    [TestCase(0)]
    public void Rigl_breaks_ties_by_position_through_every_cut_of_its_buffer(int blockRows)
    {
        var layer = new SparseLinear(RandomSparse.Bernoulli(40, 50, 0.2, ValueDistribution.Normal(1), 3));
        var ones = Enumerable.Repeat(1f, 50 * Batch).ToArray();
        var signals = new LayerSignals(ones, ones.AsMemory(0, 40 * Batch), ones.AsMemory(0, 40 * Batch), Batch);
        var expected = BruteForceTop(layer, (j, i) => Batch, 300);
        Assert.That(Grow(new GradientRegrower(blockRows), layer, signals, 300), Is.EqualTo(expected.Order()));
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(0)]
    public void Ctre_grows_exactly_the_top_k_of_the_brute_force_cosine_matrix(int blockRows)
    {
        var (layer, signals) = SmallLayer(19, 27, 8);
        double Cosine(int j, int i)
        {
            var norms = Norm(signals.Activation, j, Batch) * Norm(signals.Input, i, Batch);
            return norms > 0 ? Math.Abs(Dot(signals, signals.Activation, j, i)) / norms : 0;
        }

        var expected = BruteForceTop(layer, Cosine, 35);
        Assert.That(Grow(new CosineRegrower(blockRows: blockRows), layer, signals, 35), Is.EqualTo(expected.Order()), "the top 35, in (row, column) order");
    }

    [Test]
    public void Ctre_sim_replaces_a_just_pruned_pair_by_a_random_missing_one()
    {
        var (layer, signals) = SmallLayer(19, 27, 8);
        var top = Grow(new CosineRegrower(), layer, signals, 10);
        var pruned = new HashSet<long> { ((long)top[0].Row * 27) + top[0].Column, ((long)top[3].Row * 27) + top[3].Column };
        var sim = Grow(new CosineRegrower(CtreVariant.Sim, seed: 3), layer, signals, 10, pruned);
        Assert.Multiple(() =>
        {
            Assert.That(sim.Take(8), Is.EqualTo(top.Where((_, n) => n != 0 && n != 3)), "the other eight keep their rank");
            Assert.That(sim.Skip(8).Select(p => ((long)p.Row * 27) + p.Column), Has.None.AnyOf(pruned.Cast<object>().ToArray()));
            Assert.That(sim.Distinct().Count(), Is.EqualTo(10));
        });
    }

    [Test]
    public void Ctre_seq_turns_random_once_validation_accuracy_has_not_improved_for_its_patience()
    {
        var regrower = new CosineRegrower(CtreVariant.Seq, patience: 3);
        Assert.That(new CosineRegrower(CtreVariant.Seq).Patience, Is.EqualTo(40), "the reference's early_stop_epoch");
        foreach (var accuracy in new[] { 0.8f, 0.85f, 0.85f, 0.84f, 0.86f, 0.86f, 0.85f })
        {
            regrower.ObserveValidationAccuracy(accuracy);
            Assert.That(regrower.GrowingRandomly, Is.False, $"after {accuracy}: an improvement resets the count");
        }

        regrower.ObserveValidationAccuracy(0.86f);
        Assert.That(regrower.GrowingRandomly, Is.True, "three evaluations in a row without beating 0.86");
        regrower.ObserveValidationAccuracy(0.99f);
        Assert.That(regrower.GrowingRandomly, Is.True, "for good");
    }

    [Test]
    public void Blocked_scoring_holds_only_a_block_never_the_dense_matrix()
    {
        // 4,000 x 3,000 would be 48 MB of dense scores; blocks of 8 rows are 96 KB.
        var layer = new SparseLinear(RandomSparse.ErdosRenyi(4000, 3000, 5, ValueDistribution.Normal(1), 2));
        const int batch = 4;
        var signals = new LayerSignals(Random(3000 * batch, 1), Random(4000 * batch, 2), Random(4000 * batch, 3), batch);
        var regrower = new GradientRegrower(blockRows: 8);
        var grown = new CooMatrix(4000, 3000, capacity: 1000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        regrower.Grow(new GrowthRequest(layer, layer.Weights, 1000, new HashSet<long>(), signals), grown);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var bound = (4L * 8 * 3000) + (36L * 1000) + 16_384;
        Assert.That(allocated, Is.LessThan(bound), $"bound: 4 x block x in + per-candidate buffer; dense would be {4L * 4000 * 3000:N0} bytes");
    }

    [Test]
    public void Rigl_cosine_fraction_decays_from_alpha_over_2_to_zero()
    {
        Assert.Multiple(() =>
        {
            Assert.That(EvolutionSchedule.CosineFraction(0.3, 0, 1000), Is.EqualTo(0.3).Within(1e-12));
            Assert.That(EvolutionSchedule.CosineFraction(0.3, 500, 1000), Is.EqualTo(0.15).Within(1e-12));
            Assert.That(EvolutionSchedule.CosineFraction(0.3, 1000, 1000), Is.EqualTo(0).Within(1e-12));
        });
    }

    [Test]
    public void Rigl_and_ctre_evolve_inside_a_trainer_and_keep_the_budget()
    {
        foreach (var evolver in new[] { TopologyEvolver.RigL(), TopologyEvolver.Ctre(CtreVariant.Sim) })
        {
            var network = SparseNetwork.CreateMlp([64, 100, 100, 10], ActivationKind.Relu, epsilon: 5, seed: 4,
                normalization: InputNormalization.Fit(Training.DigitsData.Train, NormalizationKind.Standardize));
            var budget = network.ConnectionCount;
            var hook = new EvolutionHook(evolver, EvolutionSchedule.CosineDecay(0.3, deltaT: 20));
            var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), new TrainerOptions { Epochs = 3, BatchSize = 32 });
            trainer.Hooks.Add(hook);
            trainer.Fit(Training.DigitsData.Train);
            Assert.Multiple(() =>
            {
                Assert.That(hook.History, Is.Not.Empty);
                Assert.That(network.ConnectionCount, Is.EqualTo(budget));
                Assert.That(hook.History.SelectMany(h => h).Sum(l => l.Grown), Is.GreaterThan(0));
                Assert.That(trainer.History.TopologyChanges, Has.Count.EqualTo(hook.History.Sum(h => h.Count)), "the trainer's history keeps every change");
                Assert.That(trainer.History.TopologyChanges.Select(c => c.Step), Is.Ordered.And.All.GreaterThan(0L), "labelled with their step");
            });
            foreach (var layer in network.SparseLayers)
            {
                layer.Weights.Validate();
            }
        }
    }
}
