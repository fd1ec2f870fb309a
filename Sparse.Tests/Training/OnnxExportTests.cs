using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Tests.Training;

[TestFixture]
public class OnnxExportTests
{
    private static readonly string[] DigitClasses = [.. Enumerable.Range(0, 10).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    [Test]
    public void OnnxRuntime_gives_the_probabilities_and_labels_of_the_network_on_every_digit(
        [Values] ActivationKind activation, [Values] OnnxWeightFormat weights)
    {
        var network = TrainedDigits(activation);
        var schema = new TabularSchema([.. Enumerable.Range(0, 64).Select(f => $"pixel{f}")], "digit", 64, DigitClasses);
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"digits-{activation}-{weights}-{Environment.ProcessId}.onnx");
        OnnxExport.Save(path, network, schema, new OnnxExportOptions { Weights = weights });
        try
        {
            var all = AllDigits();
            var expected = Probabilities(network, all);
            using var session = new InferenceSession(path);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("features", RowMajor(all))]);
            var probabilities = results.Single(r => r.Name == "probabilities").AsTensor<float>();
            var labels = results.Single(r => r.Name == "label").AsTensor<string>();
            Assert.That(probabilities.Dimensions.ToArray(), Is.EqualTo(new[] { all.Count, 10 }));
            var worst = 0f;
            for (var s = 0; s < all.Count; s++)
            {
                for (var c = 0; c < 10; c++)
                {
                    worst = Math.Max(worst, Math.Abs(probabilities[s, c] - expected[s, c]));
                }

                Assert.That(labels[s], Is.EqualTo(DigitClasses[ArgMax(expected, s)]), $"row {s}");
            }

            TestContext.Out.WriteLine($"{activation}, {weights} weights: largest probability difference {worst:E2} over {all.Count} rows, file {new FileInfo(path).Length:N0} B");
            Assert.That(worst, Is.LessThanOrEqualTo(1e-5f));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_regression_model_outputs_values_in_the_targets_units()
    {
        var data = AllDigits();
        var targets = Enumerable.Range(0, data.Count).Select(s => (float)data.Labels![s] / 3).ToArray();
        var regression = Dataset.ForRegression(data.Features, 64, targets, 1);
        var network = SparseNetwork.CreateMlp([64, 32, 1], ActivationKind.Tanh, epsilon: 4, seed: 3,
            normalization: InputNormalization.Fit(regression, NormalizationKind.MinMax));
        new Trainer(network, new MeanSquaredError(), new Adam(0.01f), new TrainerOptions { Epochs = 2, BatchSize = 64, Seed = 3 }).Fit(regression);
        var schema = new TabularSchema([.. Enumerable.Range(0, 64).Select(f => $"p{f}")], "y", 64, [], targetMean: 12.5, targetScale: 7.25);
        using var stream = new MemoryStream();
        OnnxExport.Write(stream, network, schema);

        using var session = new InferenceSession(stream.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("features", RowMajor(data))]);
        var values = results.Single().AsTensor<float>();
        Assert.That(results.Single().Name, Is.EqualTo("value"));
        var outputs = Forward(network, data);
        for (var s = 0; s < data.Count; s++)
        {
            var expected = schema.ToTargetUnits(outputs[s]);
            Assert.That(values[s, 0], Is.EqualTo(expected).Within(1e-5 * Math.Max(1, Math.Abs(expected))), $"row {s}");
        }
    }

    [Test]
    public void Without_a_schema_the_graph_outputs_the_networks_raw_outputs()
    {
        var data = AllDigits();
        var network = SparseNetwork.CreateMlp([64, 16, 10], ActivationKind.Relu, epsilon: 4, seed: 5);
        using var stream = new MemoryStream();
        OnnxExport.Write(stream, network, schema: null);
        using var session = new InferenceSession(stream.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("features", RowMajor(data))]);
        Assert.That(results.Single().Name, Is.EqualTo("outputs"));
        var outputs = results.Single().AsTensor<float>();
        var expected = Forward(network, data);
        for (var s = 0; s < data.Count; s++)
        {
            for (var c = 0; c < 10; c++)
            {
                Assert.That(outputs[s, c], Is.EqualTo(expected[(c * data.Count) + s]).Within(1e-5f * Math.Max(1, Math.Abs(expected[(c * data.Count) + s]))));
            }
        }
    }

    [Test]
    public void Sparse_weights_take_12_bytes_a_connection_and_dense_ones_4_bytes_a_pair()
    {
        var network = SparseNetwork.CreateMlp([64, 128, 10], ActivationKind.Relu, epsilon: 4, seed: 2);
        var connections = network.ConnectionCount;
        var biases = (128 + 10) * 4;
        Assert.That(OnnxExport.WeightBytes(network, OnnxWeightFormat.Dense), Is.EqualTo((((64 * 128) + (128 * 10)) * 4) + biases));
        Assert.That(OnnxExport.WeightBytes(network, OnnxWeightFormat.Sparse), Is.EqualTo((connections * 12) + biases));

        long FileSize(OnnxWeightFormat format)
        {
            using var stream = new MemoryStream();
            OnnxExport.Write(stream, network, null, new OnnxExportOptions { Weights = format });
            return stream.Length;
        }

        Assert.That(FileSize(OnnxWeightFormat.Dense) - OnnxExport.WeightBytes(network, OnnxWeightFormat.Dense), Is.InRange(0, 1024), "the graph around the weights is small");
        Assert.That(FileSize(OnnxWeightFormat.Sparse) - OnnxExport.WeightBytes(network, OnnxWeightFormat.Sparse), Is.InRange(0, 1024));
    }

    [Test]
    public void A_network_too_large_for_one_onnx_file_gets_an_error_that_says_how_large()
    {
        const int width = 40_000;
        var diagonal = new CsrMatrix(width, width, [.. Enumerable.Range(0, width + 1).Select(r => (long)r)], [.. Enumerable.Range(0, width)], [.. Enumerable.Repeat(1f, width)]);
        var wide = new SparseLinear(diagonal);
        var network = new SparseNetwork([wide]);
        var error = Assert.Throws<InvalidOperationException>(() => OnnxExport.Write(Stream.Null, network, null));
        Assert.That(error!.Message, Does.Contain("5.96 GiB").And.Contain("at most 2 GiB").And.Contain("Sparse weights would take"));
        Assert.DoesNotThrow(() => OnnxExport.Write(Stream.Null, network, null, new OnnxExportOptions { Weights = OnnxWeightFormat.Sparse }));
    }

    private static SparseNetwork TrainedDigits(ActivationKind activation)
    {
        var normalization = InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize);
        var network = SparseNetwork.CreateMlp([64, 64, 32, 10], activation, epsilon: 6, seed: 7, dropout: 0.2f, normalization: normalization);
        new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), new TrainerOptions { Epochs = 2, BatchSize = 32, Seed = 7 }).Fit(DigitsData.Train);
        return network;
    }

    private static Dataset AllDigits() => CsvDataset.LoadClassification(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "digits.csv.gz")).Data;

    private static DenseTensor<float> RowMajor(Dataset data)
    {
        var tensor = new DenseTensor<float>([data.Count, data.FeatureCount]);
        data.Features.AsSpan(0, data.Count * data.FeatureCount).CopyTo(tensor.Buffer.Span);
        return tensor;
    }

    // The network's outputs for every row, feature-major (output, sample), as 'sparse predict' computes them.
    private static float[] Forward(SparseNetwork network, Dataset data)
    {
        var loader = new BatchLoader(data, data.Count, network.Normalization, shuffle: false, seed: 0);
        loader.Next();
        return network.Forward(loader.Batch.Features, data.Count, training: false).ToArray();
    }

    private static float[,] Probabilities(SparseNetwork network, Dataset data)
    {
        var logits = Forward(network, data);
        var probabilities = new float[logits.Length];
        SoftmaxCrossEntropy.Softmax(logits, data.Count, probabilities);
        var result = new float[data.Count, network.OutputSize];
        for (var s = 0; s < data.Count; s++)
        {
            for (var c = 0; c < network.OutputSize; c++)
            {
                result[s, c] = probabilities[(c * data.Count) + s];
            }
        }

        return result;
    }

    private static int ArgMax(float[,] rows, int row)
    {
        var best = 0;
        for (var c = 1; c < rows.GetLength(1); c++)
        {
            best = rows[row, c] > rows[row, best] ? c : best;
        }

        return best;
    }
}
