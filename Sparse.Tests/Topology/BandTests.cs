using Sparse.Core;
using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

[TestFixture]
public class BandTests
{
    private static bool InBand(CsrMatrix m, int row, int column, int window)
    {
        var offset = column - RandomSparse.BandStart(row, m.Rows, m.Columns, window);
        return (offset < 0 ? offset + m.Columns : offset) < window;
    }

    [Test]
    public void Set_steps_on_a_banded_layer_keep_the_budget_the_band_and_the_state_with_its_weight()
    {
        const int window = 24;
        var layer = new SparseLinear(RandomSparse.Banded(300, 200, 0.05, window, ValueDistribution.Normal(1), 3));
        var optimizer = new Sgd(0.1f, momentum: 0.9f);
        var evolver = new TopologyEvolver(new MagnitudePruner(), new RandomRegrower(4, band: window));
        var budget = layer.Weights.NonZeroCount;
        var grownOutsideOldPositions = 0;
        for (var step = 0; step < 6; step++)
        {
            var weights = layer.Weights;
            var state = optimizer.StateOf(layer.WeightParameter)[0];
            var before = new Dictionary<(int, int), float>();
            for (var row = 0; row < weights.Rows; row++)
            {
                for (var k = weights.RowPointers[row]; k < weights.RowPointers[row + 1]; k++)
                {
                    state[k] = weights.Values[k] * 10;
                    before[(row, weights.ColumnIndices[k])] = weights.Values[k];
                }
            }

            var report = evolver.EvolveLayer(layer, optimizer, 0.3);
            weights = layer.Weights;
            weights.Validate();
            state = optimizer.StateOf(layer.WeightParameter)[0];
            Assert.That(weights.NonZeroCount, Is.EqualTo(budget), "connection budget");
            Assert.That(report.Grown, Is.EqualTo(report.Pruned).And.GreaterThan(0));
            for (var row = 0; row < weights.Rows; row++)
            {
                for (var k = weights.RowPointers[row]; k < weights.RowPointers[row + 1]; k++)
                {
                    var column = weights.ColumnIndices[k];
                    Assert.That(InBand(weights, row, column, window), $"step {step}: ({row}, {column}) outside the band");
                    // A kept connection has its old value; one pruned and regrown at its old position has a new one.
                    if (before.TryGetValue((row, column), out var old) && old == weights.Values[k])
                    {
                        Assert.That(state[k], Is.EqualTo(old * 10), "a kept connection's state moved with it");
                    }
                    else
                    {
                        grownOutsideOldPositions++;
                        Assert.That(state[k], Is.Zero, "a grown connection starts with no momentum");
                    }
                }
            }
        }

        Assert.That(grownOutsideOldPositions, Is.GreaterThan(0));
    }

    [Test]
    public void Band_regrowth_is_uniform_over_the_free_band_positions()
    {
        // Grow 40 of a 10 x 30 layer's free band cells (window 6, 2 stored a row), 4,000 times: each free cell is
        // picked with probability 40 / 40 free cells... so make it 20 of the 40: every free cell at 1/2.
        const int rows = 10, columns = 30, window = 6;
        var kept = RandomSparse.Banded(rows, columns, 2.0 / columns, window, ValueDistribution.Constant(1), 9);
        var free = (rows * window) - (int)kept.NonZeroCount;
        var count = free / 2;
        var layer = new SparseLinear(kept);
        var regrower = new RandomRegrower(11, band: window);
        var hits = new Dictionary<(int, int), int>();
        const int draws = 4000;
        for (var n = 0; n < draws; n++)
        {
            var grown = new CooMatrix(rows, columns);
            regrower.Grow(new GrowthRequest(layer, kept, count, new HashSet<long>(), null), grown);
            Assert.That(grown.Count, Is.EqualTo(count));
            Assert.That(grown.IsOrdered(), "in (row, column) order");
            var picked = new HashSet<(int, int)>();
            for (var t = 0; t < grown.Count; t++)
            {
                var (row, column) = (grown.RowIndices[t], grown.ColumnIndices[t]);
                Assert.That(picked.Add((row, column)), "distinct");
                Assert.That(InBand(kept, row, column, window), "in the band");
                Assert.That(Array.BinarySearch(kept.ColumnIndices, (int)kept.RowPointers[row], kept.RowLength(row), column), Is.LessThan(0), "free");
                hits[(row, column)] = hits.GetValueOrDefault((row, column)) + 1;
            }
        }

        // Every free band cell is picked with probability count / free = 1/2: within 5 standard deviations of draws / 2.
        Assert.That(hits, Has.Count.EqualTo(free));
        var sd = Math.Sqrt(draws * 0.25);
        Assert.That(hits.Values, Is.All.InRange(draws / 2 - (5 * sd), draws / 2 + (5 * sd)));
    }

    [TestCase(2000, 3000, 0.004, 700, 5000)]
    [TestCase(500, 100, 0.05, 99, 4000)]
    [TestCase(64, 1_000_000, 0.00002, 20_000, 20_000)]
    public void Band_regrowth_is_ordered_distinct_free_and_in_the_band(int rows, int columns, double density, int window, int count)
    {
        var kept = RandomSparse.Banded(rows, columns, density, window, ValueDistribution.Constant(1), 4);
        var grown = new CooMatrix(rows, columns);
        new RandomRegrower(8, band: window).Grow(new GrowthRequest(new SparseLinear(kept), kept, count, new HashSet<long>(), null), grown);
        Assert.That(grown.Count, Is.EqualTo(count));
        Assert.That(grown.IsOrdered(), "in (row, column) order");
        var wrappedRows = 0;
        for (var t = 0; t < grown.Count; t++)
        {
            var (row, column) = (grown.RowIndices[t], grown.ColumnIndices[t]);
            Assert.That(InBand(kept, row, column, window), $"({row}, {column}) in the band");
            Assert.That(Array.BinarySearch(kept.ColumnIndices, (int)kept.RowPointers[row], kept.RowLength(row), column), Is.LessThan(0), "free");
            Assert.That(t == 0 || grown.RowIndices[t - 1] != row || grown.ColumnIndices[t - 1] != column, "distinct");
            wrappedRows += column < RandomSparse.BandStart(row, rows, columns, window) ? 1 : 0;
        }

        Assert.That(wrappedRows, Is.GreaterThan(0), "some picks wrap past the last column");
    }

    [Test]
    public void A_layer_outside_its_band_or_narrower_than_it_grows_as_without_one()
    {
        var scattered = RandomSparse.Bernoulli(50, 400, 0.05, ValueDistribution.Normal(1), 2);
        var narrow = RandomSparse.Bernoulli(50, 20, 0.3, ValueDistribution.Normal(1), 2);
        Assert.Multiple(() =>
        {
            Assert.That(RandomRegrower.IsBanded(scattered, 16), Is.False);
            Assert.That(RandomRegrower.IsBanded(narrow, 20), Is.False, "a band as wide as the inputs is no band");
            Assert.That(RandomRegrower.IsBanded(RandomSparse.Banded(50, 400, 0.05, 16, ValueDistribution.Normal(1), 2), 16), Is.True);
        });
        foreach (var kept in new[] { scattered, narrow })
        {
            var banded = new CooMatrix(kept.Rows, kept.Columns);
            var plain = new CooMatrix(kept.Rows, kept.Columns);
            new RandomRegrower(6, band: 16).Grow(new GrowthRequest(new SparseLinear(kept), kept, 30, new HashSet<long>(), null), banded);
            new RandomRegrower(6).Grow(new GrowthRequest(new SparseLinear(kept), kept, 30, new HashSet<long>(), null), plain);
            Assert.That(banded.ColumnIndices.ToArray(), Is.EqualTo(plain.ColumnIndices.ToArray()));
        }
    }

    [Test]
    public void A_full_band_refuses_more_than_it_holds()
    {
        var kept = RandomSparse.Banded(10, 100, 0.02, 4, ValueDistribution.Constant(1), 1);
        var free = 40 - (int)kept.NonZeroCount;
        var grown = new CooMatrix(10, 100);
        var request = new GrowthRequest(new SparseLinear(kept), kept, free + 1, new HashSet<long>(), null);
        Assert.That(() => new RandomRegrower(1, band: 4).Grow(request, grown), Throws.InvalidOperationException.With.Message.Contains("bands of 4"));
        Assert.That(() => new RandomRegrower(1, band: 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void A_banded_mlp_bands_only_the_layers_between_hidden_layers_at_the_unbanded_count()
    {
        int[] sizes = [30, 2000, 2000, 2000, 5];
        var banded = SparseNetwork.CreateMlp(sizes, epsilon: 10, seed: 3, band: 100);
        var plain = SparseNetwork.CreateMlp(sizes, epsilon: 10, seed: 3);
        var bandedLayers = banded.SparseLayers.ToArray();
        var plainLayers = plain.SparseLayers.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(bandedLayers[0].Weights.ColumnIndices, Is.EqualTo(plainLayers[0].Weights.ColumnIndices), "first layer unbanded");
            Assert.That(bandedLayers[3].Weights.ColumnIndices, Is.EqualTo(plainLayers[3].Weights.ColumnIndices), "last layer unbanded");
            foreach (var n in new[] { 1, 2 })
            {
                Assert.That(RandomRegrower.IsBanded(bandedLayers[n].Weights, 100), Is.True, $"layer {n} banded");
                Assert.That(RandomRegrower.IsBanded(plainLayers[n].Weights, 100), Is.False);
                // Expected 10 x 4000 = 40,000 connections either way; Binomial spread about 200.
                Assert.That(bandedLayers[n].ConnectionCount, Is.EqualTo(plainLayers[n].ConnectionCount).Within(1500));
            }
        });
    }

    [Test]
    public void A_recipe_with_a_band_builds_banded_layers_and_keeps_them_through_set()
    {
        var recipe = new TrainingRecipe { Hidden = [400, 400], Epsilon = 10, Evolution = EvolutionMethod.Set, EvolveEvery = 0, Band = 40, Epochs = 3, Seed = 2 };
        Assert.That(() => (recipe with { Band = 0 }).Validate(), Throws.ArgumentException.With.Message.Contains("--band"));
        Assert.That(recipe.CreateEvolver()!.Regrower.Name, Is.EqualTo("random in a band of 40"));

        var trainer = recipe.CreateTrainer(DigitsData.Train);
        var hidden = trainer.Network.SparseLayers.ElementAt(1);
        var before = hidden.Weights.ColumnIndices.ToArray();
        Assert.That(RandomRegrower.IsBanded(hidden.Weights, 40), Is.True, "banded at the start");
        var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
        Assert.Multiple(() =>
        {
            Assert.That(hidden.Weights.ColumnIndices, Is.Not.EqualTo(before), "rewired");
            Assert.That(RandomRegrower.IsBanded(hidden.Weights, 40), Is.True, "banded after the SET steps");
            Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.8));
        });
    }
}
