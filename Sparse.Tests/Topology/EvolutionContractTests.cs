using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>
/// What evolution promises around its rules: a step that fails changes nothing of the layer, and the scoring stays on
/// the threads the network was given.
/// </summary>
[TestFixture]
public class EvolutionContractTests
{
    // Each rule breaks the step after pruning has chosen its drops and the kept structure exists.
    private static readonly (string Name, IRegrower Rule)[] BrokenRules =
    [
        ("grows a kept position", new FixedGrowth(kept: true, twice: false)),
        ("grows one position twice", new FixedGrowth(kept: false, twice: true)),
        ("throws", new ThrowingGrowth()),
        ("grows too few", new FixedGrowth(kept: false, twice: false, shortBy: 1)),
    ];

    [TestCaseSource(nameof(BrokenNames))]
    public void A_step_that_fails_leaves_the_layer_and_its_optimizer_state_as_they_were(string name)
    {
        var rule = BrokenRules.Single(r => r.Name == name).Rule;
        var layer = new SparseLinear(RandomSparse.Bernoulli(30, 40, 0.25, ValueDistribution.Normal(1), 4));
        var optimizer = new Adam(0.01f);
        var state = optimizer.StateOf(layer.WeightParameter);
        for (var k = 0; k < state[0].Length; k++)
        {
            state[0][k] = k;
            state[1][k] = 2 * k;
        }

        var w = layer.Weights;
        _ = w.Transposed; // built, as after any training step
        var (pointers, columns, values) = (w.RowPointers.ToArray(), w.ColumnIndices.ToArray(), w.Values.ToArray());
        var (m, v) = (state[0].ToArray(), state[1].ToArray());
        var (columnPointers, rows) = (w.Transposed.ColumnPointers.ToArray(), w.Transposed.RowIndices.ToArray());

        var evolver = new TopologyEvolver(new MagnitudePruner(), rule);
        Assert.That(() => evolver.EvolveLayer(layer, optimizer, 0.3), Throws.InstanceOf<ArgumentException>().Or.InstanceOf<InvalidOperationException>());

        var after = optimizer.StateOf(layer.WeightParameter);
        Assert.Multiple(() =>
        {
            Assert.That(layer.Weights.RowPointers, Is.EqualTo(pointers), "row pointers");
            Assert.That(layer.Weights.ColumnIndices, Is.EqualTo(columns), "columns");
            Assert.That(layer.Weights.Values, Is.EqualTo(values), "values");
            Assert.That(after[0], Is.EqualTo(m), "Adam's first moments");
            Assert.That(after[1], Is.EqualTo(v), "Adam's second moments");
            Assert.That(layer.Weights.Transposed.ColumnPointers, Is.EqualTo(columnPointers), "the transposed view");
            Assert.That(layer.Weights.Transposed.RowIndices, Is.EqualTo(rows), "the transposed view");
        });

        // And the layer evolves normally afterwards.
        var change = TopologyEvolver.Set(seed: 3).EvolveLayer(layer, optimizer, 0.3);
        Assert.That(layer.Weights.NonZeroCount, Is.EqualTo(values.Length));
        Assert.That(change.Grown, Is.EqualTo(change.Pruned).And.GreaterThan(0));
    }

    [Test]
    public void A_rewiring_that_adds_a_kept_connection_is_refused_before_anything_is_written()
    {
        var layer = new SparseLinear(RandomSparse.Bernoulli(10, 12, 0.5, ValueDistribution.Normal(1), 6));
        var w = layer.Weights;
        var (pointers, columns, values) = (w.RowPointers.ToArray(), w.ColumnIndices.ToArray(), w.Values.ToArray());
        var drop = new bool[w.NonZeroCount];
        drop[0] = true;
        var kept = ConnectionMap.Keep(w, drop);

        // Row 0's second entry is kept; adding it again is a conflict the merge finds only at row 0's end.
        var added = new CooMatrix(w.Rows, w.Columns, 1);
        var row = Enumerable.Range(0, w.Rows).First(r => w.RowLength(r) >= 2);
        added.Add(row, w.ColumnIndices[(int)w.RowPointers[row] + 1], 5f);
        Assert.That(() => layer.Rewire(kept, added, null), Throws.ArgumentException.With.Message.Contains("already kept"));
        Assert.That((layer.Weights.RowPointers, layer.Weights.ColumnIndices, layer.Weights.Values), Is.EqualTo((pointers, columns, values)));
    }

    // RigL's and CTRE's scoring run on the kernels' worker pool: with one thread they must not touch it, whatever the
    // machine's core count (an MPI rank's share, --threads 1); with two they use it, which shows the count can move.
    [TestCase(1, false)]
    [TestCase(2, true)]
    public void Evolution_scores_on_the_threads_the_network_is_given(int threads, bool parallel)
    {
        var random = new Random(8);
        var x = new float[300 * 60];
        var labels = new int[300];
        for (var r = 0; r < 300; r++)
        {
            labels[r] = r % 3;
            for (var c = 0; c < 60; c++)
            {
                x[(r * 60) + c] = (float)random.NextDouble() + (c % 3 == labels[r] ? 0.5f : 0);
            }
        }

        var data = Dataset.ForClassification(x, 60, labels, 3);
        var network = SparseNetwork.CreateMlp([60, 200, 200, 3], ActivationKind.Relu, epsilon: 8, seed: 1);
        network.Compute = new ComputeOptions { Threads = threads };

        var recorder = new SignalRecorder(SignalRecorder.StepKinds);
        var loader = new BatchLoader(data, 64, null, shuffle: false, seed: 0, network.Compute);
        loader.Next();
        var output = network.Forward(loader.Batch.Features, loader.Batch.Size, training: true);
        var gradient = new float[output.Length];
        new SoftmaxCrossEntropy().Compute(output, loader.Batch, gradient, network.Compute);
        network.Backward(gradient, recorder);
        var beforeRigL = WorkerPool.Shared.ParallelCalls;
        TopologyEvolver.RigL().Evolve(network, null, 0.3, recorder);
        var rigl = WorkerPool.Shared.ParallelCalls - beforeRigL;

        var sample = ActivationSample.Record(network, data, data.Count, 64, seed: 1, softmaxOutput: true);
        var beforeCtre = WorkerPool.Shared.ParallelCalls;
        TopologyEvolver.Ctre(seed: 2).Evolve(network, null, 0.3, sample: sample);
        var ctre = WorkerPool.Shared.ParallelCalls - beforeCtre;

        TestContext.Out.WriteLine($"{threads} threads: RigL's step {rigl} calls on the worker pool, CTRE's {ctre}");
        Assert.That((rigl > 0, ctre > 0), Is.EqualTo((parallel, parallel)));
    }

    private static IEnumerable<string> BrokenNames() => BrokenRules.Select(r => r.Name);

    // Grows the first positions it finds: missing ones, or a kept one first, or one missing position twice.
    private sealed class FixedGrowth(bool kept, bool twice, int shortBy = 0) : IRegrower
    {
        public void Grow(GrowthRequest request, CooMatrix grown)
        {
            var matrix = request.Kept;
            var count = request.Count - shortBy;
            if (kept)
            {
                var row = Enumerable.Range(0, matrix.Rows).Last(r => matrix.RowLength(r) > 0);
                grown.Add(row, matrix.ColumnIndices[(int)matrix.RowPointers[row]], 1f);
                count--;
            }

            for (var row = 0; row < matrix.Rows && count > 0; row++)
            {
                var present = matrix.ColumnIndices.AsSpan((int)matrix.RowPointers[row], matrix.RowLength(row)).ToArray();
                for (var column = 0; column < matrix.Columns && count > 0; column++)
                {
                    if (Array.IndexOf(present, column) < 0)
                    {
                        grown.Add(row, column, 1f);
                        count--;
                        if (twice && count > 0)
                        {
                            grown.Add(row, column, 1f);
                            count--;
                        }
                    }
                }
            }
        }
    }

    private sealed class ThrowingGrowth : IRegrower
    {
        public void Grow(GrowthRequest request, CooMatrix grown)
        {
            grown.Add(0, 0, 1f);
            throw new InvalidOperationException("a rule that fails half way");
        }
    }
}
