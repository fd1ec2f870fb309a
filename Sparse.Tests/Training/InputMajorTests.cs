using Sparse.Core;
using Sparse.Topology;
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

            // The same entries given as runs, as a first layer stored input-major gives them.
            var (starts, lengths) = (new List<int>(), new List<int>());
            for (var i = 0; i < active.Count; i++)
            {
                if (i == 0 || active[i] != active[i - 1] + 1)
                {
                    starts.Add(active[i]);
                    lengths.Add(0);
                }

                lengths[^1]++;
            }

            var (lazy, full) = (new Parameter("w", (float[])values.Clone(), decays: true), new Parameter("w", (float[])values.Clone(), decays: true));
            var byRuns = new Parameter("w", (float[])values.Clone(), decays: true);
            var (lazyOptimizer, fullOptimizer, runsOptimizer) = (make(), make(), make());
            for (var step = 0; step < 3; step++)
            {
                // Each step starts the full one from the lazy one's values and state.
                lazy.Values.AsSpan().CopyTo(full.Values);
                lazyOptimizer.StateOf(lazy).Zip(fullOptimizer.StateOf(full)).ToList().ForEach(p => p.First.AsSpan().CopyTo(p.Second));
                var start = lazy.Values.ToArray();
                gradient.CopyTo(lazy.Gradient, 0);
                gradient.CopyTo(full.Gradient, 0);
                lazy.ActiveEntries = active.ToArray();
                gradient.CopyTo(byRuns.Gradient, 0);
                byRuns.SetActiveRuns([.. starts], [.. lengths], starts.Count, active.Count);
                Assert.That(byRuns.ActiveEntries.ToArray(), Is.EqualTo(active), "the runs' entries");
                byRuns.SetActiveRuns([.. starts], [.. lengths], starts.Count, active.Count);
                lazyOptimizer.Step([lazy]);
                fullOptimizer.Step([full]);
                runsOptimizer.Step([byRuns]);
                Assert.That(byRuns.Values.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(lazy.Values.Select(BitConverter.SingleToInt32Bits)), $"{lazyOptimizer.GetType().Name}: runs against the entry list, step {step}");
                var set = active.ToHashSet();
                for (var k = 0; k < values.Length; k++)
                {
                    Assert.That(lazy.Values[k], Is.EqualTo(set.Contains(k) ? full.Values[k] : start[k]), $"{lazyOptimizer.GetType().Name}: entry {k} (active: {set.Contains(k)}), step {step}");
                }
            }
        }
    }

    // 400 rows of 5 of 2,000 features, 3 classes: a batch of 8 names at most 40 features, so the lazy step applies.
    internal static Dataset WideRows()
    {
        var random = new SparseRandom(4);
        var pointers = new long[401];
        var columns = new List<int>();
        for (var r = 0; r < 400; r++)
        {
            var row = new SortedSet<int>();
            while (row.Count < 5)
            {
                row.Add(random.NextInt(2000));
            }

            columns.AddRange(row);
            pointers[r + 1] = columns.Count;
        }

        return Dataset.ForClassification(new CsrMatrix(400, 2000, pointers, [.. columns], [.. columns.Select(c => 1f + (c % 7))]),
            [.. Enumerable.Range(0, 400).Select(r => columns[r * 5] % 3)], 3);
    }

    [Test]
    public void An_interrupted_and_resumed_lazy_run_on_sparse_rows_is_the_straight_run()
    {
        var data = WideRows();
        var directory = Directory.CreateTempSubdirectory("sparse-lazy-resume-").FullName;
        try
        {
            SparseNetwork Build() => SparseNetwork.CreateMlp([2000, 32, 3], epsilon: 4, seed: 6, normalization: InputNormalization.Fit(data, NormalizationKind.MaxAbs));
            Trainer NewTrainer(SparseNetwork network, Optimizer optimizer)
            {
                // Each evolution step reads the first layer output-major, and the next batch stores it input-major again.
                network.StepsActiveInputsOnly = true;
                var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 4, BatchSize = 8, Seed = 8 });
                trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Set(seed: 5), EvolutionSchedule.CosineDecay(0.3, 20)));
                return trainer;
            }

            var straight = Build();
            var straightOptimizer = new Adam(0.01f);
            var straightTrainer = NewTrainer(straight, straightOptimizer);
            straightTrainer.Fit(data);

            // 50 batches an epoch: stop at steps 70 and 130, mid-epoch, and resume from the checkpoints.
            var network = Build();
            Optimizer optimizer = new Adam(0.01f);
            var path = Path.Combine(directory, "run.checkpoint");
            foreach (var stop in new long[] { 70, 130, long.MaxValue })
            {
                var trainer = NewTrainer(network, optimizer);
                if (File.Exists(path))
                {
                    var checkpoint = Checkpoint.Load(path);
                    (network, optimizer) = (checkpoint.Network, checkpoint.Optimizer!);
                    trainer = NewTrainer(network, optimizer);
                    trainer.Resume(checkpoint);
                }

                using var interrupt = new CancellationTokenSource();
                trainer.Hooks.Add(new CancelAtStep(stop, interrupt));
                trainer.Fit(data, cancellation: interrupt.Token);
                if (stop != long.MaxValue)
                {
                    trainer.SaveCheckpoint(path);
                }
            }

            Assert.That(straight.SparseLayers.First().WeightParameter.ActiveEntries.IsEmpty, Is.False, "the lazy step applied");
            var (expectedLayer, actualLayer) = (straight.SparseLayers.First(), network.SparseLayers.First());
            Assert.That(actualLayer.Weights.ColumnIndices, Is.EqualTo(expectedLayer.Weights.ColumnIndices), "the first layer's structure");
            for (var n = 0; n < straight.Parameters.Count; n++)
            {
                Assert.That(network.Parameters[n].Values, Is.EqualTo(straight.Parameters[n].Values).AsCollection, $"parameter {n}");
                var (expected, actual) = (straightOptimizer.StateOf(straight.Parameters[n]), optimizer.StateOf(network.Parameters[n]));
                for (var slot = 0; slot < expected.Length; slot++)
                {
                    Assert.That(actual[slot], Is.EqualTo(expected[slot]).AsCollection, $"parameter {n}, optimizer slot {slot}");
                }
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void The_memory_estimate_holds_the_change_of_order_of_a_lazy_run()
    {
        var network = SparseNetwork.CreateMlp([2000, 32, 3], epsilon: 4, seed: 6);
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Adam(), new TrainerOptions { BatchSize = 8 });
        Assert.That(trainer.EstimateMemory().EvolutionBytes, Is.Zero, "no evolution and no change of order");
        network.StepsActiveInputsOnly = true;
        var lazy = trainer.EstimateMemory();
        Assert.That(lazy.EvolutionBytes, Is.EqualTo(MemoryEstimate.OrderChangeBytesPerConnection * network.SparseLayers.Max(l => l.ConnectionCount)).Within(1).Percent);
        Assert.That(lazy.ToString(), Does.Contain("rewiring scratch"));
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
