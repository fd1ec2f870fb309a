using Sparse.Core;
using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>CTRE's sample of training activations, and what CTRE does with a pair it has just pruned.</summary>
[TestFixture]
public class CosineSampleTests
{
    private static SparseNetwork Network() => SparseNetwork.CreateMlp([64, 40, 24, 10], ActivationKind.Relu, epsilon: 6, seed: 3, dropout: 0.3f,
        normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));

    [Test]
    public void A_sample_holds_each_layers_input_and_activation_of_an_inference_pass_with_the_output_as_softmax()
    {
        var network = Network();
        var data = DigitsData.Train.Subset([.. Enumerable.Range(0, 100)]);

        // Batches of 32 leave a short last batch of 4: every column must land in its place.
        var sample = ActivationSample.Record(network, data, rows: 1000, batchSize: 32, seed: 1, softmaxOutput: true);
        var layers = network.SparseLayers.ToArray();
        Assert.That(sample.Rows, Is.EqualTo(100), "all rows when the data holds fewer than asked");
        Assert.That(sample.Bytes, Is.EqualTo(4L * 100 * layers.Sum(l => l.InputSize + l.OutputSize)));

        // The whole pass in one batch, for reference: the inputs are the normalised rows, the output the logits.
        var loader = new BatchLoader(data, 100, network.Normalization, shuffle: false, seed: 0);
        loader.Next();
        var features = loader.Batch.Features.ToArray();
        var logits = network.Forward(features, 100, training: false).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(sample.Of(layers[0]).Input.ToArray(), Is.EqualTo(features).AsCollection, "layer 0 reads the normalised rows");
            for (var n = 1; n < layers.Length; n++)
            {
                // At inference dropout passes its input on: each layer reads what the one before it put out.
                Assert.That(sample.Of(layers[n]).Input.ToArray(), Is.EqualTo(sample.Of(layers[n - 1]).Activation.ToArray()).AsCollection, $"layer {n}");
                Assert.That(sample.Of(layers[n - 1]).Activation.ToArray(), Has.All.GreaterThanOrEqualTo(0f), $"layer {n - 1} is after its ReLU");
            }

            var softmax = sample.Of(layers[^1]).Activation.Span;
            for (var r = 0; r < 100; r++)
            {
                var max = Enumerable.Range(0, 10).Max(c => logits[(c * 100) + r]);
                var sum = Enumerable.Range(0, 10).Sum(c => Math.Exp(logits[(c * 100) + r] - max));
                for (var c = 0; c < 10; c++)
                {
                    Assert.That(softmax[(c * 100) + r], Is.EqualTo(Math.Exp(logits[(c * 100) + r] - max) / sum).Within(1e-6), $"row {r}, class {c}");
                }
            }
        });
    }

    [Test]
    public void A_sample_below_the_data_size_is_a_seeded_subset_and_fits_its_byte_budget()
    {
        var network = Network();
        var a = ActivationSample.Record(network, DigitsData.Train, rows: 50, batchSize: 16, seed: 9, softmaxOutput: false);
        var b = ActivationSample.Record(network, DigitsData.Train, rows: 50, batchSize: 50, seed: 9, softmaxOutput: false);
        var c = ActivationSample.Record(network, DigitsData.Train, rows: 50, batchSize: 16, seed: 10, softmaxOutput: false);
        var first = network.SparseLayers.First();
        Assert.Multiple(() =>
        {
            Assert.That(a.Rows, Is.EqualTo(50));
            Assert.That(a.Of(first).Input.ToArray(), Is.EqualTo(b.Of(first).Input.ToArray()).AsCollection, "the seed decides the rows, not the batch size");
            Assert.That(a.Of(first).Input.ToArray(), Is.Not.EqualTo(c.Of(first).Input.ToArray()).AsCollection, "another seed, other rows");
            var perRow = 4L * network.SparseLayers.Sum(l => l.InputSize + l.OutputSize);
            Assert.That(ActivationSample.RowsWithin(network, 10 * perRow, 1000), Is.EqualTo(10));
            Assert.That(ActivationSample.RowsWithin(network, 10 * perRow, 7), Is.EqualTo(7));
            Assert.That(ActivationSample.RowsWithin(network, 1, 7), Is.EqualTo(1), "at least one row");
        });
    }

    // A 4 x 4 layer whose weakest connection (0, 0) joins the only perfectly correlated pair of neurons.
    private static (SparseLinear Layer, LayerSignals Sample) CorrelatedPair()
    {
        var layer = new SparseLinear(new CsrMatrix(4, 4, [0, 1, 2, 3, 4], [0, 1, 2, 3], [0.001f, 0.5f, -0.7f, 0.9f]));
        const int rows = 64;
        var random = new Random(4);
        var input = new float[4 * rows];
        var output = new float[4 * rows];
        for (var n = 0; n < input.Length; n++)
        {
            input[n] = (float)random.NextDouble() - 0.5f;
            output[n] = (float)random.NextDouble() - 0.5f;
        }

        input.AsSpan(0, rows).CopyTo(output); // input 0 and output 0: cosine 1
        return (layer, new LayerSignals(input, output, ReadOnlyMemory<float>.Empty, rows));
    }

    [Test]
    public void Plain_ctre_keeps_the_weight_and_place_of_a_pair_it_regrows_right_after_pruning_it()
    {
        var (layer, sample) = CorrelatedPair();
        var optimizer = new Sgd(0.1f, momentum: 0.9f);
        var state = optimizer.StateOf(layer.WeightParameter)[0];
        state.AsSpan().Fill(7);
        var change = TopologyEvolver.Ctre(CtreVariant.Plain, seed: 1).EvolveLayer(layer, optimizer, 0.25, sample: sample);
        Assert.Multiple(() =>
        {
            Assert.That(change.Pruned, Is.EqualTo(1));
            Assert.That(layer.Weights.ColumnIndices, Is.EqualTo(new[] { 0, 1, 2, 3 }), "(0, 0) pruned and chosen again");
            Assert.That(layer.Weights.Values, Is.EqualTo(new[] { 0.001f, 0.5f, -0.7f, 0.9f }), "with its weight, as in the reference");
        });
    }

    [Test]
    public void Ctre_sim_grows_a_random_pair_instead_of_the_one_it_just_pruned()
    {
        var (layer, sample) = CorrelatedPair();
        TopologyEvolver.Ctre(CtreVariant.Sim, seed: 1).EvolveLayer(layer, null, 0.25, sample: sample);
        Assert.Multiple(() =>
        {
            Assert.That(layer.Weights.NonZeroCount, Is.EqualTo(4));
            Assert.That(layer.Weights.RowLength(0) == 0 || layer.Weights.ColumnIndices[0] != 0, Is.True, "(0, 0) is not grown again");
            Assert.That(layer.Weights.Values, Does.Not.Contain(0.001f));
        });
    }

    [TestCase(0, 1438)]
    [TestCase(200, 200)]
    public void The_trainer_feeds_ctre_a_sample_of_the_training_rows_at_each_evolution(int sampleRows, int expected)
    {
        var network = Network();
        var optimizer = new Sgd(0.05f, momentum: 0.9f);
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 3, BatchSize = 32, Seed = 2 });
        var hook = new EvolutionHook(TopologyEvolver.Ctre(CtreVariant.Plain, seed: 4), EvolutionSchedule.EveryEpoch(0.2)) { SampleRows = sampleRows };
        trainer.Hooks.Add(hook);
        var connections = network.SparseLayers.Select(l => l.Weights.NonZeroCount).ToArray();
        var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
        Assert.Multiple(() =>
        {
            Assert.That(DigitsData.Train.Count, Is.EqualTo(1438));
            Assert.That(hook.LastSampleRows, Is.EqualTo(expected));
            Assert.That(hook.History, Has.Count.EqualTo(2), "after every epoch but the last");
            Assert.That(hook.History[0], Has.Count.EqualTo(3), "every layer, the output layer included");
            Assert.That(network.SparseLayers.Select(l => l.Weights.NonZeroCount), Is.EqualTo(connections), "at a constant budget");
            Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.8f));
        });
    }

    [Test]
    public void Ctre_training_is_identical_for_any_thread_count()
    {
        float[][] Train(int threads)
        {
            var network = Network();
            network.Compute = ComputeOptions.Default with { Threads = threads };
            var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), new TrainerOptions { Epochs = 3, BatchSize = 32, Seed = 2 });
            trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Ctre(CtreVariant.Sim, seed: 4), EvolutionSchedule.EveryEpoch(0.3)));
            trainer.Fit(DigitsData.Train);
            return [.. network.SparseLayers.SelectMany(l => new[] { l.Weights.Values, l.Weights.ColumnIndices.Select(c => (float)c).ToArray() })];
        }

        var one = Train(1);
        var two = Train(2);
        for (var n = 0; n < one.Length; n++)
        {
            Assert.That(two[n], Is.EqualTo(one[n]).AsCollection, $"array {n}");
        }
    }
}
