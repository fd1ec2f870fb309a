using System.Globalization;
using System.Text;
using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>A wide table whose label depends on a known few columns, and the rankings that should find them.</summary>
[TestFixture]
public class FeatureRankingTests
{
    /// <summary>
    /// <paramref name="rows"/> samples of <paramref name="features"/> columns; the label (3 classes) is the largest of
    /// three fixed random projections of the first <paramref name="informative"/> columns, which are then shuffled
    /// among the rest. The other columns are noise whose scale grows from 0.1 to 10, so that ranking by variance
    /// is a baseline with a chance. Returns the rows, labels and the informative columns' positions.
    /// </summary>
    internal static (float[] Features, int[] Labels, HashSet<int> Informative) WideTable(int rows, int features, int informative, int seed)
    {
        var random = new Random(seed);
        var positions = Enumerable.Range(0, features).OrderBy(_ => random.Next()).ToArray();
        var signal = positions.Take(informative).ToHashSet();
        var projections = new double[3, informative];
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < informative; i++)
            {
                projections[c, i] = Gaussian(random);
            }
        }

        var x = new float[rows * features];
        var labels = new int[rows];
        var scales = Enumerable.Range(0, features).Select(f => 0.1 * Math.Pow(100, f / (double)features)).ToArray();
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < features; f++)
            {
                x[(r * features) + f] = (float)(Gaussian(random) * scales[f]);
            }

            for (var i = 0; i < informative; i++)
            {
                x[(r * features) + positions[i]] = (float)Gaussian(random);
            }

            var best = double.NegativeInfinity;
            for (var c = 0; c < 3; c++)
            {
                var score = 0.0;
                for (var i = 0; i < informative; i++)
                {
                    score += projections[c, i] * x[(r * features) + positions[i]];
                }

                if (score > best)
                {
                    (best, labels[r]) = (score, c);
                }
            }
        }

        return (x, labels, signal);
    }

    internal static string ToCsv(float[] features, int[] labels, int width)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(',', Enumerable.Range(0, width).Select(f => $"f{f}").Append("label")));
        for (var r = 0; r < labels.Length; r++)
        {
            for (var f = 0; f < width; f++)
            {
                text.Append(features[(r * width) + f].ToString("R", CultureInfo.InvariantCulture)).Append(',');
            }

            text.Append('c').Append(labels[r]).AppendLine();
        }

        return text.ToString();
    }

    [Test]
    public void Evolved_sparse_training_ranks_the_informative_columns_first()
    {
        const int Rows = 1500, Width = 400, Informative = 10;
        var (x, labels, signal) = WideTable(Rows, Width, Informative, seed: 5);
        var data = Dataset.ForClassification(x, Width, labels, 3);
        var sparse = Train(data, epsilon: 4, evolve: true);
        var dense = Train(data, epsilon: 0, evolve: false);
        var ranking = FeatureRanking.Rank(sparse, measure: FeatureMeasure.NodeStrength);

        double Recall(IEnumerable<int> order) => order.Take(Informative).Count(signal.Contains) / (double)Informative;
        var variances = Enumerable.Range(0, Width).Select(f => Enumerable.Range(0, Rows).Select(r => (double)x[(r * Width) + f]).ToArray())
            .Select(column => column.Select(v => v * v).Average() - Math.Pow(column.Average(), 2)).ToArray();
        var sparseRecall = Recall(ranking.Select(f => f.Index));
        var pathRecall = Recall(FeatureRanking.Rank(sparse).Select(f => f.Index));
        var denseRecall = Recall(FeatureRanking.Rank(dense, measure: FeatureMeasure.NodeStrength).Select(f => f.Index));
        var varianceRecall = Recall(Enumerable.Range(0, Width).OrderByDescending(f => variances[f]));
        TestContext.Out.WriteLine($"recall of the {Informative} informative columns in the top {Informative}: sparse + SET {sparseRecall:P0} (paths {pathRecall:P0}), " +
            $"dense weights {denseRecall:P0}, variance {varianceRecall:P0}");

        Assert.Multiple(() =>
        {
            Assert.That(ranking.Select(f => f.Rank), Is.EqualTo(Enumerable.Range(1, Width)));
            Assert.That(ranking.Select(f => f.Strength), Is.Ordered.Descending);
            Assert.That(ranking.Sum(f => (long)f.Connections), Is.EqualTo(sparse.SparseLayers.First().Weights.NonZeroCount), "every connection of the first layer counted once");
            Assert.That(ranking[0].Name, Is.EqualTo($"column{ranking[0].Index + 1}"));
            Assert.That(sparseRecall, Is.GreaterThanOrEqualTo(0.8), "90 % measured");
            Assert.That(pathRecall, Is.GreaterThanOrEqualTo(0.8), "the path measure too");
            Assert.That(denseRecall, Is.GreaterThanOrEqualTo(0.8), "a dense network's weights, 90 % measured");
            Assert.That(varianceRecall, Is.LessThan(sparseRecall), "the variance baseline is beaten");
        });
    }

    [Test]
    public void Weight_decay_drains_the_connections_that_fit_noise_from_the_ranking_of_a_regression()
    {
        // Fewer rows than columns: y is a linear function of 10 of 600 columns plus noise, as Sparse.Bench
        // feature-recall's regression table at a test's size. The network fits its rows through any columns; decoupled
        // decay of 1 shrinks every weight the gradient does not hold up, and what it holds up are the informative columns.
        const int Rows = 300, Width = 600, Informative = 10;
        var random = new Random(21);
        var signal = Enumerable.Range(0, Width).OrderBy(_ => random.Next()).Take(Informative).ToArray();
        var weights = signal.Select(_ => (0.5 + random.NextDouble()) * (random.Next(2) == 0 ? -1 : 1)).ToArray();
        var x = new float[Rows * Width];
        var y = new float[Rows];
        for (var r = 0; r < Rows; r++)
        {
            for (var c = 0; c < Width; c++)
            {
                x[(r * Width) + c] = (float)Gaussian(random);
            }

            y[r] = (float)(signal.Select((c, i) => weights[i] * x[(r * Width) + c]).Sum() + (0.5 * Gaussian(random)));
        }

        var data = Dataset.ForRegression(x, Width, y, 1);
        double Recall(float decay)
        {
            var network = SparseNetwork.CreateMlp([Width, 64, 1], ActivationKind.Relu, epsilon: 4, seed: 2, normalization: InputNormalization.Fit(data, NormalizationKind.Standardize));
            var trainer = new Trainer(network, new MeanSquaredError(), new Adam(0.003f, decoupled: true, weightDecay: decay), new TrainerOptions { Epochs = 30, BatchSize = 32, Seed = 3 });
            trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Set(seed: 4), EvolutionSchedule.EveryEpoch(0.3)));
            trainer.Fit(data);
            return FeatureRanking.Rank(network).Take(Informative).Count(f => signal.Contains(f.Index)) / (double)Informative;
        }

        var (weak, strong) = (Recall(1e-4f), Recall(1));
        TestContext.Out.WriteLine($"recall of the {Informative} informative columns in the top {Informative}: weight decay 1e-4 {weak:P0}, 1 {strong:P0}");
        Assert.Multiple(() =>
        {
            Assert.That(strong, Is.GreaterThanOrEqualTo(0.8));
            Assert.That(strong, Is.GreaterThan(weak));
        });
    }

    [Test]
    public void Path_strength_is_the_sum_over_paths_of_the_products_of_absolute_weights()
    {
        var network = SparseNetwork.CreateMlp([7, 5, 4, 3], ActivationKind.Relu, epsilon: 1.5, seed: 6);
        var layers = network.SparseLayers.ToArray();
        double[,] Dense(SparseLinear layer)
        {
            var w = layer.Weights;
            var dense = new double[w.Rows, w.Columns];
            for (var row = 0; row < w.Rows; row++)
            {
                for (var k = w.RowPointers[row]; k < w.RowPointers[row + 1]; k++)
                {
                    dense[row, w.ColumnIndices[k]] = Math.Abs(w.Values[k]);
                }
            }

            return dense;
        }

        var (a, b, c) = (Dense(layers[0]), Dense(layers[1]), Dense(layers[2]));
        var expected = new double[7];
        for (var i = 0; i < 7; i++)
        {
            // Every path input i -> hidden j -> hidden k -> output o, its weights multiplied.
            for (var j = 0; j < 5; j++)
            {
                for (var k = 0; k < 4; k++)
                {
                    for (var o = 0; o < 3; o++)
                    {
                        expected[i] += a[j, i] * b[k, j] * c[o, k];
                    }
                }
            }
        }

        var ranking = FeatureRanking.Rank(network);
        var nodes = FeatureRanking.Rank(network, measure: FeatureMeasure.NodeStrength);
        Assert.Multiple(() =>
        {
            foreach (var feature in ranking)
            {
                Assert.That(feature.Strength, Is.EqualTo(expected[feature.Index]).Within(1e-9), $"input {feature.Index}");
            }

            foreach (var feature in nodes)
            {
                Assert.That(feature.Strength, Is.EqualTo(Enumerable.Range(0, 5).Sum(j => a[j, feature.Index])).Within(1e-9), $"input {feature.Index}: node strength");
            }

            Assert.That(ranking.Select(f => f.Strength), Is.Ordered.Descending);
            Assert.That(expected.Distinct().Count(), Is.GreaterThan(3), "the inputs differ");
        });
    }

    [Test]
    public void QuickSelection_ranks_first_the_columns_that_carry_structure()
    {
        // 12 columns are noisy copies of two hidden factors; the other 48 are nearly constant (1 in 1,000 rows holds a
        // spike), like the blank border pixels of MNIST, where QuickSelection shows its selection: after min-max
        // scaling they hold almost nothing to reconstruct, so the autoencoder's weight gathers on the first kind.
        const int Rows = 2000, Width = 60, Shared = 12;
        var random = new Random(3);
        var positions = Enumerable.Range(0, Width).OrderBy(_ => random.Next()).ToArray();
        var x = new float[Rows * Width];
        for (var r = 0; r < Rows; r++)
        {
            var factors = new[] { Gaussian(random), Gaussian(random) };
            for (var c = 0; c < Width; c++)
            {
                x[(r * Width) + c] = random.Next(1000) == 0 ? 1f : 0f;
            }

            for (var s = 0; s < Shared; s++)
            {
                x[(r * Width) + positions[s]] = (float)((2 * factors[s % 2]) + (0.3 * Gaussian(random)));
            }
        }

        var data = Dataset.ForRegression(x, Width, new float[Rows], 1);
        var options = new QuickSelectionOptions { Hidden = 64, Epsilon = 4, Epochs = 100, Seed = 2 };
        var ranking = QuickSelection.Rank(data, options);
        var recall = ranking.Take(Shared).Count(f => positions.Take(Shared).Contains(f.Index)) / (double)Shared;
        TestContext.Out.WriteLine($"QuickSelection recall of the {Shared} structured columns in its top {Shared}: {recall:P0}");
        Assert.Multiple(() =>
        {
            Assert.That(recall, Is.GreaterThanOrEqualTo(0.5), "75 % measured; 20 % by chance");
            Assert.That(QuickSelection.Rank(data, options).Select(f => f.Index), Is.EqualTo(ranking.Select(f => f.Index)), "seeded: the same ranking again");
        });
    }

    [Test]
    public void Names_must_match_the_inputs_and_the_first_layer_must_be_sparse()
    {
        var network = SparseNetwork.CreateMlp([5, 4, 2], seed: 1);
        Assert.That(() => FeatureRanking.Rank(network, ["a", "b"]), Throws.ArgumentException.With.Message.Contains("2 names for 5 inputs"));
        Assert.That(FeatureRanking.Rank(network, ["a", "b", "c", "d", "e"]).Select(f => f.Name), Is.EquivalentTo(new[] { "a", "b", "c", "d", "e" }));
        var activationFirst = new SparseNetwork([new Activation(ActivationKind.Relu, 5), .. network.Layers]);
        Assert.That(() => FeatureRanking.Rank(activationFirst), Throws.ArgumentException.With.Message.Contains("not sparse"));
    }

    // epsilon 0: every connection (a dense layer stored sparse), the baseline of a dense model's weights.
    private static SparseNetwork Train(Dataset data, double epsilon, bool evolve)
    {
        var normalization = InputNormalization.Fit(data, NormalizationKind.Standardize);
        int[] sizes = [data.FeatureCount, 64, 3];
        var network = epsilon > 0
            ? SparseNetwork.CreateMlp(sizes, ActivationKind.Relu, epsilon: epsilon, seed: 2, normalization: normalization)
            : SparseNetwork.CreateMlp(sizes, ActivationKind.Relu, seed: 2, normalization: normalization, densities: [1.0, 1.0]);
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Adam(0.003f, decoupled: true, weightDecay: 1e-4f), new TrainerOptions { Epochs = 30, BatchSize = 32, Seed = 3 });
        if (evolve)
        {
            trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Set(seed: 4), EvolutionSchedule.EveryEpoch(0.3)));
        }

        trainer.Fit(data);
        return network;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
