using System.Diagnostics;
using System.Text.Json;
using Sparse.Cli;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Cli;

[TestFixture]
public class CliTests : CliFixture
{
    [Test]
    public void Train_evaluate_predict_and_info_on_the_bundled_digits()
    {
        var train = Sparse("train", "--epochs", "3", "--hidden", "128,128", "--output", "digits.sparse", "--metrics", "metrics.json", "--plot", "curves.png", "--evolve", "set");
        Assert.That(train.Exit, Is.Zero, train.Error);
        Assert.That(train.Out, Does.Contain("test accuracy"));

        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "metrics.json"))))
        {
            var epochs = metrics.RootElement.GetProperty("epochs");
            Assert.That(epochs.GetArrayLength(), Is.EqualTo(3));
            MetricsFileTests.CheckAgainstSchema(Path.Combine(Dir, "metrics.json"));
            var first = epochs[0];
            var parts = first.GetProperty("train_seconds").GetDouble() + first.GetProperty("eval_seconds").GetDouble() + first.GetProperty("evolution_seconds").GetDouble();
            Assert.That(first.GetProperty("seconds").GetDouble(), Is.EqualTo(parts).Within(1e-9));
            Assert.That(first.GetProperty("eval_seconds").GetDouble(), Is.GreaterThan(0));
            var layers = first.GetProperty("layers").EnumerateArray().ToArray();
            Assert.That(layers, Has.Length.EqualTo(3));
            Assert.That(layers.Sum(l => l.GetProperty("grown").GetInt64()), Is.EqualTo(first.GetProperty("rewired").GetInt64()).And.GreaterThan(0), "SET rewired in the first epoch");
            Assert.That(layers.Sum(l => l.GetProperty("connections").GetInt64()), Is.EqualTo(first.GetProperty("connections").GetInt64()));

            Assert.That(metrics.RootElement.GetProperty("final").GetProperty("test_accuracy").GetDouble(), Is.InRange(0.8, 1.0));
        }

        var png = File.ReadAllBytes(Path.Combine(Dir, "curves.png"));
        Assert.That(png[..8], Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
        Assert.That(png, Has.Length.GreaterThan(10_000), "with curves drawn");

        var evaluate = Sparse("evaluate", "--model", "digits.sparse", "--data", "data/digits.csv.gz");
        Assert.That(evaluate.Exit, Is.Zero, evaluate.Error);
        Assert.That(evaluate.Out, Does.Contain("accuracy 0.9").And.Contain("confusion matrix"));

        var predict = Sparse("predict", "--model", "digits.sparse", "--data", "data/digits.csv.gz", "--output", "predictions.csv");
        Assert.That(predict.Exit, Is.Zero, predict.Error);
        var lines = File.ReadAllLines(Path.Combine(Dir, "predictions.csv"));
        Assert.That(lines, Has.Length.EqualTo(1798), "a header and one row per input row");
        Assert.That(lines[0], Does.StartWith("class,p_0,p_1"));

        var info = Sparse("info", "--model", "digits.sparse");
        Assert.That(info.Exit, Is.Zero, info.Error);
        Assert.That(info.Out, Does.Contain("connections").And.Contain("density").And.Contain("in-degree").And.Contain("trained 3 epochs"));

        // The model carries its recipe: info shows the settings it was trained with and the memory at them (batch 32, Adam's two slots).
        Assert.That(info.Out, Does.Contain("trained with --hidden 128,128 --activation relu --epsilon 8 --evolve set").And.Contain("--batch-size 32 --optimizer adam"));
        Assert.That(info.Out, Does.Contain("training memory at these settings").And.Contain("x 28 B"));
        var saved = Checkpoint.Load(Path.Combine(Dir, "digits.sparse"));
        Assert.That(TrainingRecipe.FromCheckpoint(saved)!.Evolution, Is.EqualTo(EvolutionMethod.Set));
        var cliOptions = saved.Sections[RunOptions.SectionName].Read(1, (r, _) => r.ReadString());
        Assert.That(cliOptions, Does.Contain("--validation-split").And.Not.Contain("--hidden").And.Not.Contain("--learning-rate"), "each option saved once: the recipe's in the recipe");
    }

    [Test]
    public void Text_labels_headers_semicolons_and_quotes_round_trip_into_predictions()
    {
        var rows = string.Join("\n", Enumerable.Range(0, 40).Select(n => n % 2 == 0 ? $"{1 + (n * 0.01)};{2 + (n * 0.01)};\"cat, big\"" : $"{3 + (n * 0.01)};{1 + (n * 0.01)};dog"));
        Write("pets.csv", "width;height;kind\n" + rows + "\n");
        var train = Sparse("train", "--train", "pets.csv", "--label", "kind", "--epochs", "30", "--hidden", "16", "--epsilon", "4", "--output", "pets.sparse", "--quiet");
        Assert.That(train.Exit, Is.Zero, train.Error);
        var predict = Sparse("predict", "--model", "pets.sparse", "--data", "pets.csv", "--output", "pets-out.csv");
        Assert.That(predict.Exit, Is.Zero, predict.Error);
        var lines = File.ReadAllLines(Path.Combine(Dir, "pets-out.csv"));
        Assert.That(lines[0], Is.EqualTo("class,\"p_cat, big\",p_dog"));
        Assert.That(lines[1], Does.StartWith("\"cat, big\","));
        Assert.That(lines[2], Does.StartWith("dog,"));
    }

    [Test]
    public void Regression_is_inferred_and_its_accuracy_is_null()
    {
        Write("line.csv", "x,y\n" + string.Join("\n", Enumerable.Range(0, 60).Select(n => $"{n * 0.1},{(n * 0.25) + 0.05}")) + "\n");
        var train = Sparse("train", "--train", "line.csv", "--epochs", "5", "--hidden", "16", "--output", "line.sparse", "--metrics", "line.json", "--quiet");
        Assert.That(train.Exit, Is.Zero, train.Error);
        MetricsFileTests.CheckAgainstSchema(Path.Combine(Dir, "line.json"));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "line.json")));
        Assert.That(metrics.RootElement.GetProperty("final").GetProperty("test_accuracy").ValueKind, Is.EqualTo(JsonValueKind.Null));
        var predict = Sparse("predict", "--model", "line.sparse", "--data", "line.csv", "--output", "line-out.csv");
        Assert.That(predict.Exit, Is.Zero, predict.Error);
        Assert.That(File.ReadAllLines(Path.Combine(Dir, "line-out.csv"))[0], Is.EqualTo("y"));
    }

    public static IEnumerable<TestCaseData> BadInputs()
    {
        yield return new TestCaseData("empty.csv", "", "empty.csv: the file is empty").SetName("empty file");
        yield return new TestCaseData("ragged.csv", "1,2,0\n3,4\n", "ragged.csv:2: ragged row").SetName("ragged row");
        yield return new TestCaseData("text.csv", "1,2,0\n3,abc,1\n", "text.csv:2:2: 'abc' in column 'column2' is not a number").SetName("non-numeric cell");
        yield return new TestCaseData("nolabel.csv", "1,2,0\n3,4,\n", "nolabel.csv:2:3: missing label").SetName("missing label");
        yield return new TestCaseData("nan.csv", "1,NaN,0\n3,4,1\n", "nan.csv:1:2: 'NaN' in column 'column2' is NaN, infinite or beyond the float range").SetName("NaN");
        yield return new TestCaseData("inf.csv", "a,b,label\n1,2,0\n3,Infinity,1\n", "inf.csv:3:2: 'Infinity' in column 'b' is NaN, infinite or beyond the float range").SetName("infinity, with header");
        yield return new TestCaseData("missing.csv", null, "missing.csv: no such file").SetName("missing file");
        yield return new TestCaseData("labels.csv", "0\n1\n", "labels.csv: need at least one feature column").SetName("label column only");
    }

    [TestCaseSource(nameof(BadInputs))]
    public void Bad_training_input_is_named_without_a_stack_trace_and_leaves_the_model_alone(string name, string? text, string message)
    {
        if (text is not null)
        {
            Write(name, text);
        }

        Write("model.sparse", "an earlier model");
        var run = Sparse("train", "--train", name, "--epochs", "1", "--output", "model.sparse");
        Assert.Multiple(() =>
        {
            Assert.That(run.Exit, Is.EqualTo(1));
            Assert.That(run.Error, Does.Contain(message));
            Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(File.ReadAllText(Path.Combine(Dir, "model.sparse")), Is.EqualTo("an earlier model"));
        });
    }

    [Test]
    public void A_network_too_big_for_memory_is_refused_before_it_is_built()
    {
        var run = Sparse("train", "--hidden", "3000000,3000000", "--density", "0.5", "--output", "huge.sparse");
        Assert.Multiple(() =>
        {
            Assert.That(run.Exit, Is.EqualTo(1));
            Assert.That(run.Error, Does.Contain("Training needs about").And.Match(@"connections x \d+ B").And.Contain("is available"));
            Assert.That(run.Error, Does.Not.Contain("   at "));
        });
    }

    [Test]
    public void Activations_too_big_for_memory_are_refused_with_a_batch_size_that_fits()
    {
        // Two hidden layers of 3 million neurons at epsilon 1 hold about 9 million connections (0.2 GB), but a
        // batch of 4096 samples needs about 200 GB of activations.
        var run = Sparse("train", "--hidden", "3000000,3000000", "--epsilon", "1", "--batch-size", "4096", "--output", "wide.sparse");
        Assert.Multiple(() =>
        {
            Assert.That(run.Exit, Is.EqualTo(1));
            Assert.That(run.Error, Does.Contain("activations").And.Match(@"It fits with --batch-size \d+\."));
            Assert.That(run.Error, Does.Not.Contain("   at "));
        });
    }

    [Test]
    public void A_test_file_that_does_not_match_the_model_is_refused()
    {
        Assert.That(Sparse("train", "--epochs", "1", "--hidden", "32", "--output", "m.sparse", "--quiet").Exit, Is.Zero);
        Write("narrow.csv", "1,2,3,0\n");
        var evaluate = Sparse("evaluate", "--model", "m.sparse", "--data", "narrow.csv");
        Assert.That(evaluate.Exit, Is.EqualTo(1));
        Assert.That(evaluate.Error, Does.Contain("narrow.csv: has no header line and 4 columns; the model takes 64 features"));

        Write("unknown.csv", string.Join(",", Enumerable.Repeat("0", 64)) + ",11\n");
        var unknown = Sparse("evaluate", "--model", "m.sparse", "--data", "unknown.csv");
        Assert.That(unknown.Exit, Is.EqualTo(1));
        Assert.That(unknown.Error, Does.Contain("unknown.csv:1: label '11'"));

        Write("broken.sparse", "not a model");
        var broken = Sparse("info", "--model", "broken.sparse");
        Assert.That(broken.Exit, Is.EqualTo(1));
        Assert.That(broken.Error, Does.Contain("not a Sparse model file"));
    }

    [Test]
    public void A_checkpoint_written_by_format_version_2_still_resumes()
    {
        var fixture = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "checkpoint-v2.sparse.checkpoint");
        File.Copy(fixture, Path.Combine(Dir, "old.checkpoint"));
        Assert.That(BitConverter.ToInt32(File.ReadAllBytes(fixture), 8), Is.EqualTo(2), "the fixture is a version-2 file");

        var info = Sparse("info", "--model", "old.checkpoint");
        Assert.That(info.Exit, Is.Zero, info.Error);
        Assert.That(info.Out, Does.Contain("64 inputs -> 10 outputs").And.Contain("connections 1,652"));

        // Its saved options (hidden 32,32, SET, dropout 0.1) apply; --epochs may shorten the run.
        var resumed = Sparse("train", "--resume", "old.checkpoint", "--epochs", "6", "--output", "resumed.sparse", "--metrics", "resumed.json");
        Assert.That(resumed.Exit, Is.Zero, resumed.Error);
        Assert.That(resumed.Out, Does.Contain("resuming at epoch 3, batch 41").And.Contain("topology: set"));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "resumed.json")));
        Assert.That(metrics.RootElement.GetProperty("epochs").GetArrayLength(), Is.EqualTo(6), "the two epochs before the interruption and four after");
        Assert.That(metrics.RootElement.GetProperty("final").GetProperty("test_accuracy").GetDouble(), Is.GreaterThan(0.85));
    }

    [Test]
    public void Ctrl_c_writes_a_checkpoint_that_resumes()
    {
        var run = CliRunner.RunUntilSignal(Dir, ["train", "--epochs", "400", "--hidden", "256,256", "--precision", "bf16", "--output", "long.sparse"], "Epoch 2/", CliRunner.SigInt);
        Assert.That(run.Delivered, Is.True, "SIGINT sent, as Ctrl+C does");
        Assert.That(run.Exit, Is.EqualTo(130));
        Assert.That(run.Error, Does.Contain("resume with --resume long.sparse.checkpoint"));
        Assert.That(File.Exists(Path.Combine(Dir, "long.sparse")), Is.False, "no half-trained model under the final name");

        var other = Sparse("train", "--epochs", "3", "--precision", "fp32", "--output", "long.sparse", "--resume", "long.sparse.checkpoint");
        Assert.That(other.Exit, Is.Not.Zero);
        Assert.That(other.Error, Does.Contain("--precision fp32 contradicts the checkpoint").And.Contain("--precision bf16"));

        var resumed = Sparse("train", "--epochs", "3", "--hidden", "256,256", "--output", "long.sparse", "--resume", "long.sparse.checkpoint", "--metrics", "long.json");
        Assert.That(resumed.Exit, Is.Zero, resumed.Error);
        Assert.That(resumed.Out, Does.Contain("resuming at epoch"));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "long.json")));
        Assert.That(metrics.RootElement.GetProperty("precision").GetString(), Is.EqualTo("bf16"), "the checkpoint's precision");
        Assert.That(metrics.RootElement.GetProperty("final").GetProperty("test_accuracy").GetDouble(), Is.GreaterThan(0.9));
    }
}

[TestFixture]
public class ReadMeCliTests
{
    [Test]
    public void Every_command_example_in_the_readme_runs()
    {
        var dir = Directory.CreateTempSubdirectory("sparse-readme-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "data"));
            File.Copy(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "digits.csv.gz"), Path.Combine(dir, "data", "digits.csv.gz"));
            var lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "README.md"));
            var start = Array.IndexOf(lines, "<!-- cli-examples: run by CliTests -->");
            Assert.That(start, Is.GreaterThanOrEqualTo(0), "README.md lost its cli-examples marker");
            const string prefix = "dotnet run -c Release --project Sparse.Cli -- ";
            var examples = lines.Skip(start + 2).TakeWhile(l => l != "```").ToArray();
            Assert.That(examples.Select(e => e[prefix.Length..].Split(' ')[0]), Is.EquivalentTo(new[] { "train", "evaluate", "predict", "info", "export", "features", "sweep" }));
            var outputs = new Dictionary<string, string>();
            foreach (var example in examples)
            {
                Assert.That(example, Does.StartWith(prefix));
                var run = CliRunner.Run(dir, example[prefix.Length..].Split(' '));
                Assert.That(run.Exit, Is.Zero, $"{example}\n{run.Error}");
                outputs[example[prefix.Length..].Split(' ')[0]] = run.Out;
            }

            // Each example does what the README says it does, not only exits 0.
            string At(string name) => Path.Combine(dir, name);
            double Figure(string text, string label) =>
                double.Parse(text.Split('\n').First(l => l.StartsWith(label, StringComparison.Ordinal))[label.Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Multiple(() =>
            {
                Assert.That(outputs["train"], Does.Contain("test accuracy"));
                Assert.That(new[] { "digits.sparse", "metrics.json", "curves.png" }.Select(f => new FileInfo(At(f)).Length), Has.All.GreaterThan(0), "train's model, metrics and plot");
                Assert.That(outputs["evaluate"], Does.Contain("samples 1797"));
                Assert.That(Figure(outputs["evaluate"], "accuracy "), Is.GreaterThan(0.9), outputs["evaluate"]);
                Assert.That(File.ReadAllLines(At("predictions.csv")), Has.Length.EqualTo(1798), "a header and one prediction per row");
                Assert.That(outputs["info"], Does.Contain("64 inputs -> 10 outputs"));
                Assert.That(new FileInfo(At("digits.onnx")).Length, Is.GreaterThan(0));
                Assert.That(File.ReadAllLines(At("ranking.csv")), Has.Length.EqualTo(65), "a header and every one of the 64 pixels");
                Assert.That(File.ReadAllLines(At(Path.Combine("sweep", "results.csv"))), Has.Length.EqualTo(9), "a header and the 8 configurations");
                Assert.That(File.Exists(At(Path.Combine("sweep", "best.sparse"))), "the sweep's best model");
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
