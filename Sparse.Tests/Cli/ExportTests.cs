using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Sparse.Tests.Cli;

[TestFixture]
public class ExportTests : CliFixture
{
    [Test]
    public void The_exported_onnx_model_predicts_what_sparse_predict_writes([Values("dense", "sparse")] string weights)
    {
        var rows = Enumerable.Range(0, 60).Select(n => (Width: 1 + (n % 7 * 0.3), Height: 2 - (n % 5 * 0.2), Kind: n % 3 == 0 ? "cat, big" : n % 3 == 1 ? "dog" : "bird")).ToList();
        Write("pets.csv", "width;height;kind\n" + string.Join("\n", rows.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Width};{r.Height};\"{r.Kind}\""))) + "\n");
        var train = Sparse("train", "--train", "pets.csv", "--label", "kind", "--epochs", "20", "--hidden", "16,16", "--epsilon", "4", "--activation", "tanh", "--output", "pets.sparse", "--quiet");
        Assert.That(train.Exit, Is.Zero, train.Error);
        var export = Sparse("export", "--model", "pets.sparse", "--weights", weights);
        Assert.That(export.Exit, Is.Zero, export.Error);
        Assert.That(export.Out, Does.Contain("wrote pets.onnx").And.Contain($"as {weights} weights").And.Contain("'features' float[N, 2] (columns width, height)"));
        var predict = Sparse("predict", "--model", "pets.sparse", "--data", "pets.csv", "--output", "predictions.csv");
        Assert.That(predict.Exit, Is.Zero, predict.Error);
        var predictions = File.ReadAllLines(Path.Combine(Dir, "predictions.csv")).Skip(1).Select(SplitPrediction).ToList();

        var features = new DenseTensor<float>([rows.Count, 2]);
        for (var r = 0; r < rows.Count; r++)
        {
            features[r, 0] = (float)rows[r].Width;
            features[r, 1] = (float)rows[r].Height;
        }

        using var session = new InferenceSession(Path.Combine(Dir, "pets.onnx"));
        Assert.That(session.ModelMetadata.CustomMetadataMap["schema"], Does.Contain("\"width\""), "the schema travels in the file's metadata");
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("features", features)]);
        var probabilities = results.Single(r => r.Name == "probabilities").AsTensor<float>();
        var labels = results.Single(r => r.Name == "label").AsTensor<string>();
        for (var r = 0; r < rows.Count; r++)
        {
            Assert.That(labels[r], Is.EqualTo(predictions[r].Class), $"row {r}");
            for (var c = 0; c < 3; c++)
            {
                Assert.That(probabilities[r, c], Is.EqualTo(predictions[r].Probabilities[c]).Within(1e-5f), $"row {r}, class {c}");
            }
        }
    }

    [Test]
    public void Export_refuses_to_overwrite_its_model_and_names_a_missing_one()
    {
        Assert.That(Sparse("train", "--epochs", "1", "--hidden", "16", "--output", "d.sparse", "--quiet").Exit, Is.Zero);
        var same = Sparse("export", "--model", "d.sparse", "--output", "d.sparse");
        Assert.That(same.Exit, Is.EqualTo(1));
        Assert.That(same.Error, Does.Contain("--output d.sparse is the same file as --model"));
        var missing = Sparse("export", "--model", "none.sparse");
        Assert.That(missing.Exit, Is.EqualTo(1));
        Assert.That(missing.Error, Does.Contain("none.sparse: no such model file").And.Not.Contain("   at "));
        var format = Sparse("export", "--model", "d.sparse", "--format", "tflite");
        Assert.That(format.Exit, Is.Not.Zero);
        Assert.That(format.Error, Does.Contain("tflite"));
    }

    // A predictions.csv row: the class (quoted when it holds a comma) and one probability per class.
    private static (string Class, float[] Probabilities) SplitPrediction(string line)
    {
        var label = line.StartsWith('"') ? line[1..line.IndexOf('"', 1)] : line[..line.IndexOf(',', StringComparison.Ordinal)];
        var rest = line[(line.StartsWith('"') ? label.Length + 3 : label.Length + 1)..];
        return (label, [.. rest.Split(',').Select(p => float.Parse(p, CultureInfo.InvariantCulture))]);
    }
}
