using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>
/// A dataset of sparse rows behaves as its dense twin: the same subsets and splits, the same batches, the same
/// fingerprint whatever the storage says, the same training; and only normalization that keeps zeros zero fits it.
/// </summary>
[TestFixture]
public class SparseDatasetTests
{
    // Random sparse rows of 3 classes (a feature column of all zeros and an empty row included) and the dense twin.
    private static (Dataset Sparse, Dataset Dense) Twins(int rows = 300, int features = 37, ulong seed = 3)
    {
        var random = new SparseRandom(seed);
        var dense = new float[rows * features];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            labels[r] = random.NextInt(3);
            for (var f = 1; f < features && r != 5; f++)
            {
                // A feature occurs mostly in rows of its class (f mod 3): learnable from which features occur.
                if (random.NextDouble() < (f % 3 == labels[r] ? 0.3 : 0.05))
                {
                    dense[(r * features) + f] = (float)((random.NextDouble() * 4) - 2);
                }
            }
        }

        var pointers = new List<long> { 0 };
        var columns = new List<int>();
        var values = new List<float>();
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < features; f++)
            {
                if (dense[(r * features) + f] != 0)
                {
                    columns.Add(f);
                    values.Add(dense[(r * features) + f]);
                }
            }

            pointers.Add(columns.Count);
        }

        var matrix = new CsrMatrix(rows, features, [.. pointers], [.. columns], [.. values]);
        return (Dataset.ForClassification(matrix, labels, 3), Dataset.ForClassification(dense, features, labels, 3));
    }

    private static float[] Densify(Dataset data)
    {
        var rows = data.SparseFeatures!;
        var dense = new float[data.Count * data.FeatureCount];
        for (var r = 0; r < rows.Rows; r++)
        {
            for (var k = rows.RowPointers[r]; k < rows.RowPointers[r + 1]; k++)
            {
                dense[(r * data.FeatureCount) + rows.ColumnIndices[k]] = rows.Values[k];
            }
        }

        return dense;
    }

    [Test]
    public void Splits_and_subsets_keep_the_same_rows_as_the_dense_twin()
    {
        var (sparse, dense) = Twins();
        Assert.That((sparse.IsSparse, sparse.Count, sparse.FeatureCount), Is.EqualTo((true, dense.Count, dense.FeatureCount)));
        Assert.Throws<InvalidOperationException>(() => _ = sparse.Features, "no silent dense copy");

        var (a, b) = sparse.Split(0.3, seed: 9);
        var (c, d) = dense.Split(0.3, seed: 9);
        Assert.That(Densify(a), Is.EqualTo(c.Features));
        Assert.That(Densify(b), Is.EqualTo(d.Features));
        Assert.That(a.Labels, Is.EqualTo(c.Labels));
        a.SparseFeatures!.Validate();

        int[] order = [7, 5, 5, 0];
        Assert.That(Densify(sparse.Subset(order)), Is.EqualTo(dense.Subset(order).Features));
    }

    [Test]
    public void Batches_of_sparse_rows_equal_the_dense_twins_normalized_by_the_largest_magnitude()
    {
        var (sparse, dense) = Twins();
        var scaleSparse = InputNormalization.Fit(sparse, NormalizationKind.MaxAbs);
        var scaleDense = InputNormalization.Fit(dense, NormalizationKind.MaxAbs);
        Assert.That(scaleSparse.Scale, Is.EqualTo(scaleDense.Scale));
        Assert.That(scaleSparse.Offset, Is.All.Zero, "zeros stay zero");
        Assert.That(scaleSparse.Scale[0], Is.EqualTo(1f), "a column of zeros is left as it is");

        var one = new BatchLoader(sparse, 32, scaleSparse, shuffle: true, seed: 4);
        var two = new BatchLoader(dense, 32, scaleDense, shuffle: true, seed: 4);
        one.StartEpoch(2);
        two.StartEpoch(2);
        var batches = 0;
        Assert.That(one.Batch.IsSparse, Is.True);
        Assert.Throws<InvalidOperationException>(() => _ = one.Batch.Features, "no silent dense copy");
        while (one.Next())
        {
            Assert.That(two.Next(), Is.True);
            var written = new float[one.Batch.FeatureCount * one.Batch.Size];
            one.Batch.WriteDense(written);
            Assert.That(written, Is.EqualTo(two.Batch.Features.ToArray()));
            Assert.That(one.Batch.Labels.ToArray(), Is.EqualTo(two.Batch.Labels.ToArray()));
            Assert.That(one.Batch.Values.ToArray(), Is.All.InRange(-1f, 1f).And.All.Not.EqualTo(0f));
            batches++;
        }

        Assert.That(batches, Is.EqualTo(10));
    }

    [Test]
    public void Normalization_that_moves_zeros_is_refused_for_sparse_rows_with_the_reason()
    {
        var (sparse, _) = Twins();
        foreach (var kind in new[] { NormalizationKind.Standardize, NormalizationKind.MinMax })
        {
            var error = Assert.Throws<ArgumentException>(() => InputNormalization.Fit(sparse, kind));
            Assert.That(error!.Message, Does.Contain("moves a zero away from zero").And.Contain("MaxAbs"));
        }
    }

    [Test]
    public void The_fingerprint_follows_values_and_order_of_sparse_rows()
    {
        var (sparse, _) = Twins();
        var same = Twins().Sparse;
        Assert.That(DataFingerprint.Of(same), Is.EqualTo(DataFingerprint.Of(sparse)));
        Assert.That(DataFingerprint.Of(sparse.Subset([.. Enumerable.Range(0, sparse.Count).Reverse()])).ChangeFrom(DataFingerprint.Of(sparse)),
            Does.Contain("other values or another order"));
        same.SparseFeatures!.Values[3] += 1;
        Assert.That(DataFingerprint.Of(same), Is.Not.EqualTo(DataFingerprint.Of(sparse)));
    }

    [TestCase(Precision.Fp32, true)]
    [TestCase(Precision.Fp32, false)]
    [TestCase(Precision.Bf16, true)]
    [TestCase(Precision.Bf16, false)]
    public void A_step_on_sparse_rows_gives_the_outputs_and_gradients_of_the_dense_twin(Precision precision, bool fuse)
    {
        var (sparse, dense) = Twins(rows: 70);
        var scale = InputNormalization.Fit(sparse, NormalizationKind.MaxAbs);
        var results = new List<(float[] Output, float[][] Gradients, float[] Input)>();
        foreach (var data in new[] { sparse, dense })
        {
            var network = SparseNetwork.CreateMlp([data.FeatureCount, 40, 30, 3], epsilon: 6, seed: 8, normalization: scale);
            network.Precision = precision;
            network.FuseActivations = fuse;
            var loader = new BatchLoader(data, 70, scale, shuffle: true, seed: 2);
            Assert.That(loader.Next(), Is.True);
            var output = network.Forward(loader.Batch, training: true).ToArray();
            var gradient = output.Select((_, k) => (float)Math.Sin(k)).ToArray();
            var recorder = new SignalRecorder(SignalKinds.OutputGradients);
            network.Backward(gradient, recorder);
            var (input, _) = network.ActivationsAround(0, 70);

            // The sparse twin's first layer trains input-major; reading its weights puts the gradient in W's order.
            _ = network.SparseLayers.First().Weights;
            results.Add((output, [.. network.Parameters.Select(p => p.Gradient.ToArray())], input.ToArray()));
        }

        Assert.That(results[0].Input, Is.EqualTo(results[1].Input), "the input written out for the signals that read it");
        if (precision == Precision.Bf16)
        {
            // The dense path rounds the first layer's input to bfloat16, the sparse path reads it in float: the outputs
            // differ by the rounding, and a hidden unit whose sum is near zero may pass its ReLU in one and not the
            // other, which moves the gradients of its connections: the gradients agree as vectors.
            Assert.That(results[0].Output, Is.EqualTo(results[1].Output).Within(1e-2));
            for (var p = 0; p < results[0].Gradients.Length; p++)
            {
                var difference = Math.Sqrt(results[0].Gradients[p].Zip(results[1].Gradients[p]).Sum(z => (double)(z.First - z.Second) * (z.First - z.Second)));
                var norm = Math.Sqrt(results[1].Gradients[p].Sum(g => (double)g * g));
                Assert.That(difference, Is.LessThan(0.1 * norm), $"parameter {p}");
            }

            return;
        }

        Assert.That(results[0].Output, Is.EqualTo(results[1].Output).Within(1e-4));
        for (var p = 0; p < results[0].Gradients.Length; p++)
        {
            Assert.That(results[0].Gradients[p], Is.EqualTo(results[1].Gradients[p]).Within(1e-3), $"parameter {p}");
        }
    }

    [Test]
    public void A_lazy_first_layer_step_moves_the_connections_of_the_features_a_batch_holds_and_no_others()
    {
        // Batches of 8 name at most 40 of 2,000 features, so the lazy step applies.
        var data = InputMajorTests.WideRows();
        SparseNetwork Network() => SparseNetwork.CreateMlp([2000, 32, 3], epsilon: 4, seed: 6, normalization: InputNormalization.Fit(data, NormalizationKind.MaxAbs));

        foreach (var momentum in new[] { 0f, 0.9f })
        {
            var lazy = Network();
            lazy.StepsActiveInputsOnly = true;
            var full = Network();
            var (lazyOptimizer, fullOptimizer) = (new Sgd(0.1f, momentum), new Sgd(0.1f, momentum));
            var loader = new BatchLoader(data, 8, lazy.Normalization, shuffle: true, seed: 1);
            var gradient = new float[3 * 8];
            var features = new HashSet<int>();
            var before = lazy.SparseLayers.First().Weights.Values.ToArray();
            for (var step = 0; step < 20 && loader.Next(); step++)
            {
                foreach (var (network, optimizer) in new[] { (lazy, lazyOptimizer), (full, fullOptimizer) })
                {
                    var output = network.Forward(loader.Batch, training: true);
                    new SoftmaxCrossEntropy().Compute(output, loader.Batch, gradient, network.Compute);
                    network.Backward(gradient);
                    optimizer.Step(network.Parameters, network.Compute);
                }

                var batchFeatures = loader.Batch.FeatureIndices.ToArray().ToHashSet();
                features.UnionWith(batchFeatures);
                var first = lazy.SparseLayers.First();
                var active = first.WeightParameter.ActiveEntries;
                Assert.That(active.IsEmpty, Is.False, "the lazy step applies");
                Assert.That(first.IsInputMajor, Is.True, "stored input-major while it trains on sparse rows");
                Assert.That(full.SparseLayers.First().IsInputMajor, Is.False);

                // Input-major, row f of the stored W^T holds feature f's connections.
                var runs = first.Stored.RowPointers;
                foreach (var k in active.ToArray())
                {
                    var at = Array.BinarySearch(runs, (long)k);
                    var feature = at >= 0 ? at : ~at - 1;
                    while (runs[feature + 1] == runs[feature])
                    {
                        feature++;
                    }

                    Assert.That(batchFeatures, Does.Contain(feature), $"active entry {k} belongs to feature {feature}, which the batch lacks");
                }
            }

            var weights = lazy.SparseLayers.First().Weights;
            Assert.That(lazy.SparseLayers.First().IsInputMajor, Is.False, "reading the weights stores them output-major again");
            var after = weights.Values;
            for (var k = 0; k < after.Length; k++)
            {
                var moved = after[k] != before[k];
                Assert.That(!moved || features.Contains(weights.ColumnIndices[k]), Is.True, $"connection {k} moved without its feature in a batch");
            }
            if (momentum == 0)
            {
                // Plain SGD: an absent feature's step is a zero step, so lazy and full agree exactly.
                Assert.That(after, Is.EqualTo(full.SparseLayers.First().Weights.Values));
            }
            else
            {
                // With momentum a full step keeps moving an absent feature's connections; a lazy step does not.
                Assert.That(after, Is.Not.EqualTo(full.SparseLayers.First().Weights.Values));
            }
        }
    }

    [Test]
    public void Rigl_and_ctre_evolve_a_network_on_sparse_rows_at_its_budget()
    {
        var (sparse, _) = Twins(rows: 400);
        foreach (var evolver in new[] { TopologyEvolver.RigL(), TopologyEvolver.Ctre(CtreVariant.Sim) })
        {
            var network = SparseNetwork.CreateMlp([sparse.FeatureCount, 48, 3], epsilon: 6, seed: 3, normalization: InputNormalization.Fit(sparse, NormalizationKind.MaxAbs));
            var budget = network.ConnectionCount;
            var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Adam(0.003f), new TrainerOptions { Epochs = 3, BatchSize = 32 });
            trainer.Hooks.Add(new EvolutionHook(evolver, EvolutionSchedule.CosineDecay(0.3, deltaT: 5)));
            var history = trainer.Fit(sparse);
            Assert.That(network.ConnectionCount, Is.EqualTo(budget));
            Assert.That(history.TopologyChanges, Is.Not.Empty);
            Assert.That(history.Epochs[^1].TrainLoss, Is.LessThan(history.Epochs[0].TrainLoss));
        }
    }

    [Test]
    public void A_trainer_on_sparse_rows_learns_as_on_the_dense_twin()
    {
        var (sparse, dense) = Twins(rows: 600);
        var (train, test) = sparse.Split(0.25, seed: 1);
        var (denseTrain, denseTest) = dense.Split(0.25, seed: 1);
        var histories = new List<TrainingHistory>();
        foreach (var (fit, check) in new[] { (train, test), (denseTrain, denseTest) })
        {
            var network = SparseNetwork.CreateMlp([fit.FeatureCount, 64, 3], epsilon: 10, seed: 2,
                normalization: InputNormalization.Fit(fit, NormalizationKind.MaxAbs));
            var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), new TrainerOptions { Epochs = 6, BatchSize = 32, Seed = 3 });
            histories.Add(trainer.Fit(fit, check));
        }

        // The same training up to the order of the sums: the sparse first layer adds each sample's features in turn.
        Assert.That(histories[0].Epochs.Select(e => e.TrainLoss), Is.EqualTo(histories[1].Epochs.Select(e => e.TrainLoss)).Within(1e-3).Percent);
        Assert.That(histories[0].Epochs[^1].TestAccuracy, Is.EqualTo(histories[1].Epochs[^1].TestAccuracy).Within(1.0 / test.Count));
        Assert.That(histories[0].Epochs[^1].TestAccuracy, Is.GreaterThan(0.6), "which features occur says the class");
    }
}
