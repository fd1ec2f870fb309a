using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>RigL's regrowth with the search bounded by neuron norms: exact inside its block, exact RigL when the block is the layer.</summary>
[TestFixture]
public class NormBoundRegrowthTests
{
    private static float[] Random(int length, int seed, double scale = 1)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)(((random.NextDouble() * 2) - 1) * scale))];
    }

    private static (SparseLinear Layer, LayerSignals Signals) Layer(int outputs, int inputs, int batch, int seed)
    {
        var layer = new SparseLinear(RandomSparse.Bernoulli(outputs, inputs, 0.1, ValueDistribution.Normal(1), (ulong)seed));

        // Neuron norms that differ, as they do in a trained network: a few loud neurons, many quiet ones.
        var x = Random(inputs * batch, seed + 1);
        var dy = Random(outputs * batch, seed + 2);
        for (var i = 0; i < inputs; i++)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(x.AsSpan(i * batch, batch), 1f / (1 + (i % 17)), x.AsSpan(i * batch, batch));
        }

        for (var j = 0; j < outputs; j++)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(dy.AsSpan(j * batch, batch), 1f / (1 + (j % 13)), dy.AsSpan(j * batch, batch));
        }

        return (layer, new LayerSignals(x, Random(outputs * batch, seed + 3), dy, batch));
    }

    private static CooMatrix Grow(IRegrower regrower, SparseLinear layer, LayerSignals signals, int k)
    {
        var grown = new CooMatrix(layer.OutputSize, layer.InputSize);
        regrower.Grow(new GrowthRequest(layer, layer.Weights, k, new HashSet<long>(), signals), grown);
        return grown;
    }

    private static (int, int)[] Positions(CooMatrix grown) => [.. grown.RowIndices.ToArray().Zip(grown.ColumnIndices.ToArray())];

    [TestCase(30, 40, 1)]
    [TestCase(64, 7, 50)]
    [TestCase(1, 100, 9)]
    public void A_block_as_large_as_the_layer_chooses_what_exact_RigL_chooses(int outputs, int inputs, int k)
    {
        var (layer, signals) = Layer(outputs, inputs, 11, outputs + inputs);
        var exact = Grow(new GradientRegrower(), layer, signals, k);
        var bounded = Grow(new NormBoundGradientRegrower(oversampling: 1e9), layer, signals, k);
        Assert.That(Positions(bounded), Is.EquivalentTo(Positions(exact)));
    }

    [TestCase(200, 300, 1000, 4.0)]
    [TestCase(200, 300, 5000, 1.0)]
    [TestCase(500, 20, 700, 2.0)]
    public void Grown_connections_are_k_distinct_missing_positions_in_order_at_zero(int outputs, int inputs, int k, double oversampling)
    {
        var (layer, signals) = Layer(outputs, inputs, 8, k);
        var grown = Grow(new NormBoundGradientRegrower(oversampling), layer, signals, k);
        var again = Grow(new NormBoundGradientRegrower(oversampling), layer, signals, k);
        Assert.Multiple(() =>
        {
            Assert.That(grown.Count, Is.EqualTo(k));
            Assert.That(grown.IsOrdered(), Is.True, "(row, column) order, no position twice");
            Assert.That(grown.Values.ToArray(), Is.All.Zero);
            Assert.That(Positions(grown).Count(p => Array.BinarySearch(layer.Weights.ColumnIndices, (int)layer.Weights.RowPointers[p.Item1], layer.Weights.RowLength(p.Item1), p.Item2) >= 0),
                Is.Zero, "never an existing connection");
            Assert.That(Positions(again), Is.EqualTo(Positions(grown)), "deterministic");
        });
    }

    [Test]
    public void Inside_its_block_the_choice_is_the_best_by_score()
    {
        var (layer, signals) = Layer(300, 400, 16, 5);
        const int k = 500;
        var grown = Grow(new NormBoundGradientRegrower(4), layer, signals, k);
        var chosen = Positions(grown).ToHashSet();
        var rows = chosen.Select(p => p.Item1).Distinct().ToArray();
        var columns = chosen.Select(p => p.Item2).Distinct().ToArray();
        double Score(int j, int i) => Math.Abs(Enumerable.Range(0, 16).Sum(b => (double)signals.OutputGradient.Span[(j * 16) + b] * signals.Input.Span[(i * 16) + b]));
        var worstChosen = chosen.Min(p => Score(p.Item1, p.Item2));

        // No missing position among the chosen rows and columns scores clearly better than the worst chosen one.
        var missed = (from j in rows
                      from i in columns
                      where !chosen.Contains((j, i)) && Array.BinarySearch(layer.Weights.ColumnIndices, (int)layer.Weights.RowPointers[j], layer.Weights.RowLength(j), i) < 0
                      select Score(j, i)).DefaultIfEmpty(0).Max();
        Assert.That(missed, Is.LessThanOrEqualTo(worstChosen * (1 + 1e-5)));
    }

    [Test]
    public void The_exact_search_hands_over_to_the_bounded_one_above_its_score_limit()
    {
        var (layer, signals) = Layer(120, 90, 8, 3);
        var handedOver = Grow(new GradientRegrower(exactScores: 0), layer, signals, 300);
        var bounded = Grow(new NormBoundGradientRegrower(), layer, signals, 300);
        Assert.That(Positions(handedOver), Is.EqualTo(Positions(bounded)));
    }

    [TestCase(1)]
    [TestCase(37)]
    [TestCase(1000)]
    public void The_kth_largest_is_found_by_radix_select_with_ties_and_excluded_scores(int k)
    {
        var random = new Random(k);

        // Few distinct values (many ties), zeros, and excluded (-1) entries.
        var scores = Enumerable.Range(0, 5000).Select(_ => random.Next(10) == 0 ? -1f : (float)Math.Round(random.NextDouble() * 50) / 7f).ToArray();
        var threshold = NormBoundGradientRegrower.KthLargest(scores, k, out var above, out var available);
        var valid = scores.Where(s => s >= 0).OrderDescending().ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(available, Is.EqualTo(valid.Length));
            Assert.That(threshold, Is.EqualTo(valid[k - 1]));
            Assert.That(above, Is.EqualTo(valid.Count(s => s > threshold)));
        });
    }
}
