using System.Globalization;
using Sparse.Training;

namespace Sparse.Tests.Cli;

/// <summary>Data a model cannot learn from is refused with a line naming the column or class; labels and the task are read as the user means them.</summary>
[TestFixture]
public class CliDataTests : CliFixture
{
    // Two features; the label follows the first feature's sign. Row n's label text is spelling(n, class).
    private string Table(string name, int rows, Func<int, int, string> spelling, string extraColumn = "")
    {
        var lines = Enumerable.Range(0, rows).Select(n =>
        {
            var positive = n % 2 == 0;
            var x = (positive ? 1 : -1) * (1 + (n % 7 * 0.1));
            return string.Create(CultureInfo.InvariantCulture, $"{x},{(n % 5) * 0.3}{extraColumn},{spelling(n, positive ? 1 : 0)}");
        });
        return Write(name, $"a,b{(extraColumn.Length > 0 ? ",c" : string.Empty)},label\n" + string.Join("\n", lines) + "\n");
    }

    private (int Exit, string Out, string Error) Train(params string[] args) =>
        Sparse(["train", "--epochs", "15", "--hidden", "16", "--epsilon", "4", "--output", "m.sparse", .. args]);

    [Test]
    public void Labels_written_1_and_1_point_0_are_one_class_named_as_written_most_often()
    {
        // Class 1 as "1" (3 rows in 5), "1.0" and " 1e0 "; class 0 as "0" and "0.00". Two classes, not five.
        Table("mixed.csv", 120, (n, c) => c == 1 ? (n % 10 == 0 ? "1.0" : n % 10 == 2 ? " 1e0 " : "1") : (n % 8 == 1 ? "0.00" : "0"));
        var run = Train("--train", "mixed.csv");
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Out, Does.Contain("task: classification of 2 classes (the label column 'label' holds 2 distinct whole numbers, 50 or fewer; --task regression to predict it as a number): 0, 1\n"));
        Assert.That(Checkpoint.Load(Path.Combine(Dir, "m.sparse")).Schema!.ClassNames, Is.EqualTo(new[] { "0", "1" }));

        // A file that writes the classes otherwise is read against the model's classes by value.
        Table("other.csv", 40, (n, c) => c == 1 ? "1.000" : "0e0");
        Table("plain.csv", 40, (n, c) => c == 1 ? "1" : "0");
        var evaluate = Sparse("evaluate", "--model", "m.sparse", "--data", "other.csv");
        Assert.That(evaluate.Exit, Is.Zero, evaluate.Error);
        Assert.That(evaluate.Out, Is.EqualTo(Sparse("evaluate", "--model", "m.sparse", "--data", "plain.csv").Out), "the same rows with the classes written as the model names them");
        var accuracy = double.Parse(evaluate.Out.Split('\n').Single(l => l.StartsWith("accuracy ", StringComparison.Ordinal))["accuracy ".Length..], CultureInfo.InvariantCulture);
        Assert.That(accuracy, Is.GreaterThan(0.6), "the classes line up: swapped, the accuracy would be below one half");
    }

    [Test]
    public void Text_labels_are_compared_after_trimming()
    {
        Table("pets.csv", 80, (n, c) => (c == 1 ? "cat" : "dog") + (n % 3 == 0 ? " " : string.Empty));
        var run = Train("--train", "pets.csv");
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Out, Does.Contain("task: classification of 2 classes (the label column 'label' holds text; --task regression would refuse it): cat, dog"));
    }

    [Test]
    public void The_task_is_announced_with_its_reason_and_the_flag_that_changes_it()
    {
        Write("counts.csv", "x,y\n" + string.Join("\n", Enumerable.Range(0, 102).Select(n => $"{n * 0.01},{n / 2}")) + "\n");
        var run = Train("--train", "counts.csv");
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Out, Does.Contain("task: regression (the label column 'y' holds 51 distinct whole numbers, more than 50; --task classification to treat each as a class)"));

        var json = Train("--train", "counts.csv", "--log-format", "json");
        Assert.That(json.Exit, Is.Zero, json.Error);
        Assert.That(json.Out.Split('\n').Where(l => l.Contains("\"EventId\":3", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(1).And.Some.Contain("task: regression"));
    }

    [Test]
    public void One_class_is_refused_naming_it()
    {
        Table("one.csv", 40, (n, c) => "spam");
        var run = Train("--train", "one.csv");
        Assert.That(run.Exit, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain("one.csv: the label column 'label' holds one class ('spam'): a classifier needs rows of two classes or more."));
    }

    [Test]
    public void A_constant_regression_target_is_refused()
    {
        Write("flat.csv", "x,y\n" + string.Join("\n", Enumerable.Range(0, 60).Select(n => $"{n * 0.1},7.5")) + "\n");
        var run = Train("--train", "flat.csv", "--task", "regression");
        Assert.That(run.Exit, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain("flat.csv: the target column 'y' is 7.5 in every one of the 48 training rows: there is nothing to learn"));
    }

    [Test]
    public void A_split_that_leaves_a_class_out_of_training_is_refused_naming_the_class()
    {
        Table("tiny.csv", 40, (n, c) => n == 3 ? "rare" : c == 1 ? "yes" : "no");
        var run = Train("--train", "tiny.csv", "--validation-split", "0.95");
        Assert.That(run.Exit, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain("no row among the 2 training rows; the validation split held out every row of it"));
    }

    [Test]
    public void A_constant_feature_column_is_noted_by_name()
    {
        Table("const.csv", 60, (n, c) => c == 1 ? "yes" : "no", extraColumn: ",4");
        var run = Train("--train", "const.csv");
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Out, Does.Contain("note: 1 feature column holds one value in every training row and carry no information: c"));
    }

    [Test]
    public void A_loss_that_explodes_is_warned_about_with_the_learning_rate()
    {
        var run = Sparse("train", "--epochs", "3", "--hidden", "64,64", "--learning-rate", "10", "--output", "m.sparse");
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Out + run.Error, Does.Contain("times that of a guess without the features (2.303): training is not converging at learning rate 10").And.Contain("--learning-rate"));

        var calm = Sparse("train", "--epochs", "3", "--hidden", "64,64", "--output", "m.sparse");
        Assert.That(calm.Out + calm.Error, Does.Not.Contain("not converging"));
    }

    [Test]
    public void Resuming_on_other_data_is_refused_unless_data_changed_says_so()
    {
        // The bundled digits as plain CSV, and the same rows in reverse order.
        using (var gzip = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(Dir, "data", "digits.csv.gz")), System.IO.Compression.CompressionMode.Decompress))
        using (var reader = new StreamReader(gzip))
        {
            var lines = reader.ReadToEnd().TrimEnd('\n').Split('\n');
            Write("digits.csv", string.Join("\n", lines) + "\n");
            Write("reversed.csv", string.Join("\n", lines.Reverse()) + "\n");
        }

        var run = CliRunner.RunUntilSignal(Dir, ["train", "--train", "digits.csv", "--no-header", "--epochs", "400", "--hidden", "64", "--output", "d.sparse"], "Epoch 2/", CliRunner.SigInt);
        Assert.That(run.Exit, Is.EqualTo(130), run.Error);

        var refused = Sparse("train", "--resume", "d.sparse.checkpoint", "--train", "reversed.csv", "--epochs", "3", "--output", "d.sparse");
        Assert.That(refused.Exit, Is.EqualTo(1));
        Assert.That(refused.Error, Does.Contain("d.sparse.checkpoint: the interrupted run trained on other data than reversed.csv and its validation split hold now (training data: the same")
            .And.Contain("but other values or another order").And.Contain("--data-changed"));

        var allowed = Sparse("train", "--resume", "d.sparse.checkpoint", "--train", "reversed.csv", "--epochs", "3", "--output", "d.sparse", "--data-changed", "--metrics", "m.json");
        Assert.That(allowed.Exit, Is.Zero, allowed.Error);
        Assert.That(allowed.Out, Does.Contain("note: continuing on other data, as --data-changed says"));
        MetricsFileTests.CheckAgainstSchema(Path.Combine(Dir, "m.json"));
        using var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "m.json")));
        Assert.That(metrics.RootElement.GetProperty("data_changes")[0].GetProperty("change").GetString(), Does.Contain("other values or another order"));

        Assert.That(Sparse("train", "--data-changed").Error, Does.Contain("--data-changed applies to --resume"));
    }
}
