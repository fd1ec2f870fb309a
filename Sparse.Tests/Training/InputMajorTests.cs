using Sparse.Core;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>
/// A layer stored input-major (W^T) is the same layer: its connections, gradient and every optimizer's state move with
/// the order, reading its weights gives W, a lazy step over runs of connections updates them as a full step does and
/// leaves the rest alone, and an order that row groups cannot read is refused.
/// </summary>
[TestFixture]
public class InputMajorTests
{
    // Each connection (output, input) with its value, gradient and state slots, whatever order the layer stores.
    private static Dictionary<(int Output, int Input), float[]> ByConnection(SparseLinear layer, Optimizer optimizer)
    {
        var m = layer.Stored;
        var state = optimizer.StateOf(layer.WeightParameter);
        var result = new Dictionary<(int, int), float[]>();
        for (var r = 0; r < m.Rows; r++)
        {
            for (var k = m.RowPointers[r]; k < m.RowPointers[r + 1]; k++)
            {
                var key = layer.IsInputMajor ? (m.ColumnIndices[k], r) : (r, m.ColumnIndices[k]);
                result[key] = [m.Values[k], layer.WeightParameter.Gradient[k], .. state.Select(s => s[k])];
            }
        }

        return result;
    }

    [Test]
    public void Stored_input_major_a_layer_keeps_each_connection_with_its_gradient_and_optimizer_state()
    {
        var layer = SparseLinear.ErdosRenyi(30, 12, 3, 5);
        var adam = new Adam(0.01f);
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        var random = new Random(2);
        foreach (var optimizer in new Optimizer[] { adam, sgd })
        {
            for (var step = 0; step < 3; step++)
            {
                for (var k = 0; k < layer.WeightParameter.Gradient.Length; k++)
                {
                    layer.WeightParameter.Gradient[k] = (float)random.NextDouble() - 0.5f;
                }

                optimizer.Step(layer.Parameters);
            }
        }

        for (var k = 0; k < layer.WeightParameter.Gradient.Length; k++)
        {
            layer.WeightParameter.Gradient[k] = k;
        }

        var before = (ByConnection(layer, adam), ByConnection(layer, sgd));
        var w = layer.Weights.Clone();
        layer.StoreInputMajor();
        Assert.Multiple(() =>
        {
            Assert.That(layer.IsInputMajor, Is.True);
            Assert.That((layer.Stored.Rows, layer.Stored.Columns), Is.EqualTo((30, 12)), "W^T, shape (in, out)");
            Assert.That((layer.InputSize, layer.OutputSize), Is.EqualTo((30, 12)));
            Assert.That(layer.ConnectionCount, Is.EqualTo(w.NonZeroCount));
            Assert.That(ByConnection(layer, adam), Is.EquivalentTo(before.Item1), "Adam's moments moved with their connections");
            Assert.That(ByConnection(layer, sgd), Is.EquivalentTo(before.Item2), "the momentum moved with its connection");
        });

        var read = layer.Weights;
        Assert.Multiple(() =>
        {
            Assert.That(layer.IsInputMajor, Is.False, "reading the weights stores them output-major again");
            Assert.That(read.RowPointers, Is.EqualTo(w.RowPointers));
            Assert.That(read.ColumnIndices, Is.EqualTo(w.ColumnIndices));
            Assert.That(read.Values, Is.EqualTo(w.Values));
            Assert.That(layer.WeightParameter.Gradient, Is.EqualTo(Enumerable.Range(0, w.Values.Length).Select(k => (float)k)));
            Assert.That(ByConnection(layer, adam), Is.EquivalentTo(before.Item1));
        });
    }

    [TestCase(0f)]
    [TestCase(0.9f)]
    public void A_lazy_step_over_runs_updates_its_entries_as_a_full_step_does_and_leaves_the_others(float momentum)
    {
        foreach (var make in new Func<Optimizer>[] { () => new Sgd(0.1f, momentum, weightDecay: 0.01f), () => new Adam(0.01f, weightDecay: 0.01f) })
        {
            var random = new Random(7);
            var values = Enumerable.Range(0, 500).Select(_ => (float)random.NextDouble()).ToArray();
            var gradient = Enumerable.Range(0, 500).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();

            // Runs of 3 to 30 entries with gaps between them: a feature's connections in a layer stored input-major.
            var active = new List<int>();
            for (var at = 2; at < 500;)
            {
                var length = random.Next(3, 31);
                active.AddRange(Enumerable.Range(at, Math.Min(length, 500 - at)));
                at += length + random.Next(1, 20);
            }

            var (lazy, full) = (new Parameter("w", (float[])values.Clone(), decays: true), new Parameter("w", (float[])values.Clone(), decays: true));
            var (lazyOptimizer, fullOptimizer) = (make(), make());
            for (var step = 0; step < 3; step++)
            {
                // Each step starts the full one from the lazy one's values and state.
                lazy.Values.AsSpan().CopyTo(full.Values);
                lazyOptimizer.StateOf(lazy).Zip(fullOptimizer.StateOf(full)).ToList().ForEach(p => p.First.AsSpan().CopyTo(p.Second));
                var start = lazy.Values.ToArray();
                gradient.CopyTo(lazy.Gradient, 0);
                gradient.CopyTo(full.Gradient, 0);
                lazy.ActiveEntries = active.ToArray();
                lazyOptimizer.Step([lazy]);
                fullOptimizer.Step([full]);
                var set = active.ToHashSet();
                for (var k = 0; k < values.Length; k++)
                {
                    Assert.That(lazy.Values[k], Is.EqualTo(set.Contains(k) ? full.Values[k] : start[k]), $"{lazyOptimizer.GetType().Name}: entry {k} (active: {set.Contains(k)}), step {step}");
                }
            }
        }
    }

    [Test]
    public void Row_groups_are_refused_for_a_layer_stored_input_major()
    {
        var layer = SparseLinear.ErdosRenyi(20, 6, 2, 3);
        var optimizer = new Sgd(0.1f);
        optimizer.SetRowGroups(layer.WeightParameter, [new RowGroup(0, 3, 0.1f, 0)]);
        optimizer.Step(layer.Parameters);
        layer.StoreInputMajor();
        var error = Assert.Throws<InvalidOperationException>(() => optimizer.Step(layer.Parameters));
        Assert.That(error!.Message, Does.Contain("input-major"));
        layer.StoreOutputMajor();
        Assert.DoesNotThrow(() => optimizer.Step(layer.Parameters));
    }
}
