using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>
/// One whole evolution step of each method, checked against its definition: how many connections go and come, which
/// weights and optimizer state the kept ones carry, what the new ones start with; and when the schedules fire.
/// </summary>
[TestFixture]
public class WholeStepTests
{
    private const int Batch = 16;

    // A 40 x 50 layer at density 0.2 with Adam's two state slots tagged by weight, and signals of one step.
    private static (SparseLinear Layer, Adam Optimizer, LayerSignals Signals, Dictionary<(int, int), float> Before) Setup(int seed)
    {
        var layer = new SparseLinear(RandomSparse.Bernoulli(40, 50, 0.2, ValueDistribution.Normal(1), (ulong)seed));
        var optimizer = new Adam(0.01f);
        var state = optimizer.StateOf(layer.WeightParameter);
        var before = new Dictionary<(int, int), float>();
        var w = layer.Weights;
        for (var row = 0; row < w.Rows; row++)
        {
            for (var k = (int)w.RowPointers[row]; k < w.RowPointers[row + 1]; k++)
            {
                state[0][k] = w.Values[k] * 10;
                state[1][k] = w.Values[k] * w.Values[k];
                before[(row, w.ColumnIndices[k])] = w.Values[k];
            }
        }

        var random = new Random(seed);
        float[] Dense(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.3))];
        return (layer, optimizer, new LayerSignals(Dense(50 * Batch), Dense(40 * Batch), Dense(40 * Batch), Batch), before);
    }

    // Every entry: rows sorted and unique, the connection count kept, a kept connection with its weight and state; returns
    // the entries new to the layer (zero state: grown, or pruned and chosen again in the same step).
    private static List<(int Row, int Column, float Value, float M, float V)> Check(SparseLinear layer, Adam optimizer, Dictionary<(int, int), float> before, int pruned)
    {
        var w = layer.Weights;
        var state = optimizer.StateOf(layer.WeightParameter);
        var fresh = new List<(int, int, float, float, float)>();
        Assert.That(w.NonZeroCount, Is.EqualTo(before.Count), "the budget");
        for (var row = 0; row < w.Rows; row++)
        {
            for (var k = (int)w.RowPointers[row]; k < w.RowPointers[row + 1]; k++)
            {
                Assert.That(k == w.RowPointers[row] || w.ColumnIndices[k] > w.ColumnIndices[k - 1], Is.True, $"row {row} sorted and unique");
                if (before.TryGetValue((row, w.ColumnIndices[k]), out var value) && state[0][k] != 0)
                {
                    Assert.That(w.Values[k], Is.EqualTo(value), $"({row}, {w.ColumnIndices[k]}) kept its weight");
                    Assert.That(state[0][k], Is.EqualTo(value * 10), "and its first moment");
                    Assert.That(state[1][k], Is.EqualTo(value * value), "and its second moment");
                }
                else
                {
                    fresh.Add((row, w.ColumnIndices[k], w.Values[k], state[0][k], state[1][k]));
                }
            }
        }

        Assert.That(fresh, Has.Count.EqualTo(pruned), "as many new as pruned");
        Assert.That(fresh.Select(f => (f.Item4, f.Item5)), Has.All.EqualTo((0f, 0f)), "new connections start with zero optimizer state");
        return fresh;
    }

    // The positions of the layer's shape that it does not store.
    private static IEnumerable<(int Row, int Column)> Missing(SparseLinear layer)
    {
        var w = layer.Weights;
        for (var row = 0; row < w.Rows; row++)
        {
            for (var column = 0; column < w.Columns; column++)
            {
                if (!w.ColumnIndices.AsSpan((int)w.RowPointers[row], w.RowLength(row)).Contains(column))
                {
                    yield return (row, column);
                }
            }
        }
    }

    [Test]
    public void A_rigl_step_drops_the_smallest_by_magnitude_and_grows_at_zero_where_the_gradient_is_largest()
    {
        var (layer, optimizer, signals, before) = Setup(1);
        var threshold = before.Values.Select(Math.Abs).Order().ElementAt(MagnitudePruner.CountFor(before.Count, 0.3) - 1);
        var change = TopologyEvolver.RigL().EvolveLayer(layer, optimizer, 0.3, signals);
        var fresh = Check(layer, optimizer, before, change.Pruned);
        Assert.Multiple(() =>
        {
            Assert.That(change.Pruned, Is.EqualTo(MagnitudePruner.CountFor(before.Count, 0.3)));
            Assert.That(change.Grown, Is.EqualTo(change.Pruned));
            Assert.That(fresh.Select(f => f.Value), Has.All.EqualTo(0f), "RigL grows at zero");
            var missing = Missing(layer).ToHashSet();
            var renewed = fresh.Select(f => (f.Row, f.Column)).ToHashSet();
            var kept = before.Where(p => !missing.Contains(p.Key) && !renewed.Contains(p.Key)).ToList();
            Assert.That(kept, Has.Count.EqualTo(before.Count - change.Pruned));
            Assert.That(kept.Select(p => Math.Abs(p.Value)), Has.All.GreaterThanOrEqualTo(threshold), "every kept weight is at least the largest dropped");

            // The grown positions have the largest |dY X^T| among those not kept (a pruned one may come back, at zero).
            double Gradient(int row, int column) => Math.Abs(Enumerable.Range(0, Batch).Sum(b => (double)signals.OutputGradient.Span[(row * Batch) + b] * signals.Input.Span[(column * Batch) + b]));
            var smallestGrown = fresh.Min(f => Gradient(f.Row, f.Column));
            Assert.That(Missing(layer).Max(p => Gradient(p.Row, p.Column)), Is.LessThanOrEqualTo(smallestGrown + 1e-5), "no missing position beats a grown one");
        });
    }

    [TestCase(CtreVariant.Plain)]
    [TestCase(CtreVariant.Sim)]
    [TestCase(CtreVariant.Seq)]
    public void A_ctre_step_drops_by_magnitude_and_grows_the_most_similar_pairs_with_fresh_weights(CtreVariant variant)
    {
        var (layer, optimizer, signals, before) = Setup(2);
        var sample = signals with { OutputGradient = ReadOnlyMemory<float>.Empty };
        var change = TopologyEvolver.Ctre(variant, seed: 3).EvolveLayer(layer, optimizer, 0.3, sample: sample);

        // A pair chosen again right after its pruning keeps its weight (plain and seq) with its state reset, so it is
        // new to the optimizer: it shows up among the fresh ones with its old value.
        var fresh = Check(layer, optimizer, before, change.Pruned);
        double Cosine(int row, int column)
        {
            var o = sample.Activation.Span.Slice(row * Batch, Batch);
            var x = sample.Input.Span.Slice(column * Batch, Batch);
            double dot = 0, oo = 0, xx = 0;
            for (var b = 0; b < Batch; b++)
            {
                dot += o[b] * x[b];
                oo += o[b] * o[b];
                xx += x[b] * x[b];
            }

            return Math.Abs(dot) / Math.Sqrt(oo * xx);
        }

        Assert.Multiple(() =>
        {
            Assert.That(change.Grown, Is.EqualTo(change.Pruned));
            var regrown = fresh.Where(f => before.ContainsKey((f.Row, f.Column))).ToList();
            var grown = fresh.Where(f => !before.ContainsKey((f.Row, f.Column))).ToList();
            if (variant == CtreVariant.Sim)
            {
                Assert.That(regrown, Is.Empty, "CTRE_sim never grows a pair it just pruned");
            }
            else
            {
                Assert.That(regrown.Select(f => f.Value), Is.EqualTo(regrown.Select(f => before[(f.Row, f.Column)])), "a re-chosen pair keeps its weight");

                // Growth by similarity: no position missing after the step beats the least similar grown one.
                var smallest = fresh.Min(f => Cosine(f.Row, f.Column));
                Assert.That(Missing(layer).Max(p => Cosine(p.Row, p.Column)), Is.LessThanOrEqualTo(smallest + 1e-5), "no missing pair is more similar than a grown one");
            }

            Assert.That(grown.Select(f => f.Value), Has.None.EqualTo(0f), "new pairs start from N(0, 0.1), not zero");
            Assert.That(grown.Select(f => Math.Abs(f.Value)).Max(), Is.LessThan(0.6), "at the scale of N(0, 0.1)");
        });
    }

    [Test]
    public void Rigls_schedule_fires_twice_an_epoch_with_the_cosine_fraction_until_three_quarters_of_training()
    {
        var network = SparseNetwork.CreateMlp([4, 3, 2], seed: 1);
        var schedule = EvolutionSchedule.CosineDecayPerEpoch(0.3, timesPerEpoch: 2, endFraction: 0.75);
        var context = new TrainingContext(network, new Sgd(0.1f), new SoftmaxCrossEntropy(), epochs: 4) { StepsPerEpoch = 10 };
        var fired = new List<(long Step, double Fraction)>();
        for (var step = 1L; step <= 40; step++)
        {
            context.Step = step;
            context.Epoch = (int)((step - 1) / 10);
            if (schedule.AfterStep(context) is { } fraction)
            {
                fired.Add((step, fraction));
            }

            Assert.That(schedule.AfterEpoch(context), Is.Null, "nothing at epoch ends");
        }

        Assert.Multiple(() =>
        {
            Assert.That(fired.Select(f => f.Step), Is.EqualTo(new long[] { 5, 10, 15, 20, 25 }), "every 5 steps, while below step 30 (75 % of 40)");
            foreach (var (step, fraction) in fired)
            {
                Assert.That(fraction, Is.EqualTo(0.15 * (1 + Math.Cos(Math.PI * step / 30))).Within(1e-12), $"step {step}");
            }

            var every = EvolutionSchedule.EveryEpoch(0.2);
            context.Epoch = 2;
            Assert.That(every.AfterEpoch(context), Is.EqualTo(0.2), "SET: after an epoch");
            context.Epoch = 3;
            Assert.That(every.AfterEpoch(context), Is.Null, "but not the last");
        });
    }

    [Test]
    public void Neuron_pruning_removes_the_least_important_hidden_neurons_in_and_out_and_moves_the_rest_state()
    {
        var network = SparseNetwork.CreateMlp([30, 40, 20, 5], ActivationKind.Relu, epsilon: 3, seed: 8);
        var layers = network.SparseLayers.ToArray();
        var optimizer = new Sgd(0.1f, momentum: 0.9f);
        var before = new List<Dictionary<(int, int), float>>();
        foreach (var layer in layers)
        {
            var state = optimizer.StateOf(layer.WeightParameter)[0];
            var map = new Dictionary<(int, int), float>();
            for (var row = 0; row < layer.Weights.Rows; row++)
            {
                for (var k = (int)layer.Weights.RowPointers[row]; k < layer.Weights.RowPointers[row + 1]; k++)
                {
                    state[k] = layer.Weights.Values[k] * 10;
                    map[(row, layer.Weights.ColumnIndices[k])] = layer.Weights.Values[k];
                }
            }

            before.Add(map);
        }

        // Importance of hidden neuron j of layer n: the sum of |w| into it, layer by layer, after the layer below lost its
        // dead neurons' outgoing connections; the 20th percentile, interpolated as numpy does.
        var dead = new List<HashSet<int>>();
        for (var n = 0; n + 1 < layers.Length; n++)
        {
            var into = before[n].Where(p => n == 0 || !dead[n - 1].Contains(p.Key.Item2)).ToList();
            var importance = Enumerable.Range(0, layers[n].OutputSize).Select(j => into.Where(p => p.Key.Item1 == j).Sum(p => Math.Abs((double)p.Value))).ToArray();
            var sorted = importance.Order().ToArray();
            var position = 0.2 * (sorted.Length - 1);
            var threshold = sorted[(int)position] + ((position - (int)position) * (sorted[(int)position + 1] - sorted[(int)position]));
            var connected = Enumerable.Range(0, importance.Length).Where(j => into.Any(p => p.Key.Item1 == j) || before[n + 1].Keys.Any(k => k.Item2 == j));
            dead.Add([.. connected.Where(j => importance[j] <= threshold)]);
        }

        var removed = new NeuronImportancePruner(20).Prune(network, optimizer);
        Assert.Multiple(() =>
        {
            Assert.That(removed, Is.EqualTo(dead.Select(d => d.Count)), "neurons removed per hidden layer");
            for (var n = 0; n < layers.Length; n++)
            {
                // A connection survives unless it enters a dead neuron of this layer or leaves one of the layer before.
                var expected = before[n].Where(p => !(n < dead.Count && dead[n].Contains(p.Key.Item1)) && !(n > 0 && dead[n - 1].Contains(p.Key.Item2))).ToList();
                var w = layers[n].Weights;
                var state = optimizer.StateOf(layers[n].WeightParameter)[0];
                Assert.That(w.NonZeroCount, Is.EqualTo(expected.Count), $"layer {n}: connections left");
                foreach (var ((row, column), value) in expected)
                {
                    var start = (int)w.RowPointers[row];
                    var at = w.ColumnIndices.AsSpan(start, w.RowLength(row)).IndexOf(column);
                    Assert.That(at, Is.GreaterThanOrEqualTo(0), $"layer {n}: ({row}, {column}) kept");
                    Assert.That(w.Values[start + at], Is.EqualTo(value));
                    Assert.That(state[start + at], Is.EqualTo(value * 10), "its momentum moved with it");
                }
            }
        });
    }

    [TestCase(WeightScaling.He)]
    [TestCase(WeightScaling.Xavier)]
    public void Initial_weights_have_the_deviation_of_their_formula(WeightScaling scaling)
    {
        var layer = SparseLinear.ErdosRenyi(800, 600, 20, seed: 5, scaling);
        var density = RandomSparse.ErdosRenyiDensity(600, 800, 20);
        var (fanIn, fanOut) = (density * 800, density * 600);
        var expected = scaling == WeightScaling.He ? Math.Sqrt(2 / fanIn) : Math.Sqrt(2 / (fanIn + fanOut));
        var values = layer.Weights.Values.AsSpan(0, (int)layer.Weights.NonZeroCount).ToArray();
        var deviation = Math.Sqrt(values.Average(v => (double)v * v));
        Assert.Multiple(() =>
        {
            Assert.That(layer.Weights.NonZeroCount, Is.EqualTo(20 * (800 + 600)).Within(0.05 * 20 * 1400), "epsilon x (in + out) connections");
            Assert.That(deviation, Is.EqualTo(expected).Within(0.03 * expected), $"{scaling}: {deviation:F4} against {expected:F4}");
            Assert.That(Math.Abs(values.Average()), Is.LessThan(0.03 * expected), "centred");
            Assert.That(layer.Bias, Has.All.EqualTo(0f));
        });
    }
}
