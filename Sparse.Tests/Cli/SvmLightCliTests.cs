using System.Globalization;
using System.Text;

namespace Sparse.Tests.Cli;

/// <summary>
/// svmlight files from the command line as a user meets them: train with a test file of fewer columns, evaluate and
/// predict with the model's index base and width, resume from a checkpoint, and the mistakes (a CSV test file, a
/// CSV model, a feature beyond the model, --select-features) refused with the file named and no stack trace.
/// </summary>
[TestFixture]
public class SvmLightCliTests : CliFixture
{
    // Three classes told apart by which features occur (feature f mostly in rows of class f mod 3), 30 of 2,000 a row.
    private string WriteSvm(string name, int rows, int seed, int width = 2000)
    {
        var random = new Random(seed);
        var text = new StringBuilder("# generated: label index:value, one-based\n");
        for (var r = 0; r < rows; r++)
        {
            var label = random.Next(3);
            var features = new SortedSet<int>();
            while (features.Count < 30)
            {
                var f = random.Next(1, width + 1);
                features.Add(random.Next(2) == 0 && f - (f % 3) + label + 1 <= width ? f - (f % 3) + label + 1 : f);
            }

            text.Append(CultureInfo.InvariantCulture, $"{(label == 2 ? "spam" : label.ToString(CultureInfo.InvariantCulture))}");
            foreach (var f in features)
            {
                text.Append(CultureInfo.InvariantCulture, $" {f}:{random.NextDouble():F3}");
            }

            text.Append('\n');
        }

        return Write(name, text.ToString());
    }

    [Test]
    public void Train_evaluate_and_predict_on_svmlight_files()
    {
        WriteSvm("train.svm", 1500, 1);
        WriteSvm("test.svm", 300, 2, width: 1500);
        var train = Sparse("train", "--train", "train.svm", "--test", "test.svm", "--hidden", "128", "--epochs", "5", "--output", "m.sparse");
        Assert.That(train.Exit, Is.Zero, train.Error);
        Assert.That(train.Out, Does.Contain("classification of 3 classes (the labels hold text").And.Contain("network 2000-128-3"));
        var accuracy = double.Parse(System.Text.RegularExpressions.Regex.Match(train.Out, @"test accuracy ([0-9.]+) %").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.That(accuracy, Is.GreaterThan(70), "which features occur says the class");

        var evaluate = Sparse("evaluate", "--model", "m.sparse", "--data", "test.svm");
        Assert.That(evaluate.Exit, Is.Zero, evaluate.Error);
        Assert.That(evaluate.Out, Does.Contain("samples 300").And.Contain("accuracy 0."));

        // The model's width and base apply to a file of any name.
        File.Copy(Path.Combine(Dir, "test.svm"), Path.Combine(Dir, "test.txt"));
        var predict = Sparse("predict", "--model", "m.sparse", "--data", "test.txt", "--output", "p.csv");
        Assert.That(predict.Exit, Is.Zero, predict.Error);
        Assert.That(File.ReadAllLines(Path.Combine(Dir, "p.csv")), Has.Length.EqualTo(301));

        // Features ranked by the names of a file, one a line; a file of another count is refused.
        Write("words.txt", string.Concat(Enumerable.Range(1, 2000).Select(f => $"word{f}\n")));
        var ranked = Sparse("features", "--model", "m.sparse", "--feature-names", "words.txt", "--top", "5");
        Assert.That(ranked.Exit, Is.Zero, ranked.Error);
        Assert.That(ranked.Out, Does.Match(@"\n\s+1  word[0-9]+ "));
        Write("short.txt", "a\nb\n");
        Assert.That(Sparse("features", "--model", "m.sparse", "--feature-names", "short.txt").Error,
            Does.Contain("short.txt: names 2 features, one a line; the model m.sparse has 2,000."));

        Write("wide.svm", "0 1:1 2001:1\n");
        var wide = Sparse("evaluate", "--model", "m.sparse", "--data", "wide.svm");
        Assert.That(wide.Exit, Is.EqualTo(1));
        Assert.That(wide.Error, Does.Contain("wide.svm:1:7: index 2001 is feature 2001 (one-based), beyond the 2,000 features given.").And.Not.Contain("   at "));
    }

    [Test]
    public void A_resumed_run_reads_svmlight_with_the_saved_base_and_width()
    {
        WriteSvm("train.svm", 800, 3);
        var run = CliRunner.RunUntilSignal(Dir, ["train", "--train", "train.svm", "--epochs", "400", "--hidden", "64", "--output", "r.sparse"], "Epoch 2/", CliRunner.SigInt);
        Assert.That(run.Exit, Is.EqualTo(130), run.Error);
        var resumed = Sparse("train", "--resume", "r.sparse.checkpoint", "--epochs", "3", "--output", "r.sparse");
        Assert.That(resumed.Exit, Is.Zero, resumed.Error);
        Assert.That(Sparse("info", "--model", "r.sparse").Out, Does.Contain("2000 inputs"));
    }

    [Test]
    public void A_lazy_run_steps_the_batches_features_and_keeps_the_setting_when_resumed()
    {
        WriteSvm("train.svm", 1500, 1);
        WriteSvm("test.svm", 300, 2, width: 1500);
        var train = Sparse("train", "--train", "train.svm", "--test", "test.svm", "--hidden", "128", "--epochs", "5", "--lazy-inputs", "--output", "lazy.sparse");
        Assert.That(train.Exit, Is.Zero, train.Error);
        var accuracy = double.Parse(System.Text.RegularExpressions.Regex.Match(train.Out, @"test accuracy ([0-9.]+) %").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.That(accuracy, Is.GreaterThan(70), "which features occur says the class");
        Assert.That(Sparse("info", "--model", "lazy.sparse").Out, Does.Contain("--precision fp32 --lazy-inputs"));

        var run = CliRunner.RunUntilSignal(Dir, ["train", "--train", "train.svm", "--epochs", "400", "--hidden", "64", "--lazy-inputs", "--output", "r.sparse"], "Epoch 2/", CliRunner.SigInt);
        Assert.That(run.Exit, Is.EqualTo(130), run.Error);
        var resumed = Sparse("train", "--resume", "r.sparse.checkpoint", "--epochs", "3", "--output", "r.sparse");
        Assert.That(resumed.Exit, Is.Zero, resumed.Error);
        Assert.That(Sparse("info", "--model", "r.sparse").Out, Does.Contain("--lazy-inputs"), "the resumed run's recipe");
    }

    [Test]
    public void Mistakes_with_svmlight_files_are_named()
    {
        WriteSvm("train.svm", 200, 4);
        Write("test.csv", "a,b,label\n1,2,0\n");
        Assert.That(Sparse("train", "--train", "train.svm", "--test", "test.csv", "--epochs", "1").Error,
            Does.Contain("test.csv: the training file train.svm is svmlight, so the test file must be too"));
        Assert.That(Sparse("train", "--train", "train.svm", "--select-features", "5", "--features-from", "x.sparse", "--epochs", "1").Error,
            Does.Contain("--select-features picks CSV columns by name; it does not apply to svmlight files"));
        Assert.That(Sparse("train", "--train", "train.svm", "--features", "100", "--epochs", "1").Error,
            Does.Match("train.svm:[0-9]+:[0-9]+: index [0-9]+ is feature [0-9]+ \\(one-based\\), beyond the 100 features given"));

        // --format svmlight reads a file of another name; a CSV model refuses a svmlight file.
        File.Copy(Path.Combine(Dir, "train.svm"), Path.Combine(Dir, "train.txt"));
        var formatted = Sparse("train", "--train", "train.txt", "--format", "svmlight", "--zero-based", "--epochs", "1", "--hidden", "16", "--output", "z.sparse");
        Assert.That(formatted.Exit, Is.Zero, formatted.Error);
        Assert.That(Sparse("info", "--model", "z.sparse").Out, Does.Contain("2001 inputs"), "zero-based: indices 1..2000 are features 1..2000 of 0..2000");

        // --hidden none: a linear model, one layer from the inputs to the outputs.
        var linear = Sparse("train", "--train", "train.svm", "--hidden", "none", "--density", "1", "--evolve", "none", "--epochs", "1", "--output", "lin.sparse");
        Assert.That(linear.Exit, Is.Zero, linear.Error);
        Assert.That(linear.Out, Does.Contain("network 2000-3: 6,000 connections"));

        Assert.That(Sparse("train", "--epochs", "1", "--hidden", "16", "--output", "csv.sparse").Exit, Is.Zero);
        var refused = Sparse("evaluate", "--model", "csv.sparse", "--data", "train.svm");
        Assert.That(refused.Exit, Is.EqualTo(1));
        Assert.That(refused.Error, Does.Contain("train.svm: is named as a svmlight file, but the model reads the CSV columns"));
    }
}
