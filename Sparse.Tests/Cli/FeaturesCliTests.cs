using System.Globalization;
using Sparse.Tests.Topology;

namespace Sparse.Tests.Cli;

[TestFixture]
public class FeaturesCliTests : CliFixture
{
    [Test]
    public void Features_ranks_the_informative_columns_and_train_selects_them()
    {
        const int Width = 300, Informative = 8;
        var (x, labels, signal) = FeatureRankingTests.WideTable(2000, Width, Informative, seed: 11);
        Write("wide.csv", FeatureRankingTests.ToCsv(x, labels, Width));
        var train = Sparse("train", "--train", "wide.csv", "--hidden", "64", "--epsilon", "4", "--evolve", "set", "--weight-decay", "1", "--epochs", "25", "--output", "wide.sparse");
        Assert.That(train.Exit, Is.Zero, train.Error);

        var features = Sparse("features", "--model", "wide.sparse", "--top", "5", "--output", "ranking.csv");
        Assert.That(features.Exit, Is.Zero, features.Error);
        Assert.That(features.Out.Split('\n').Count(l => l.TrimStart().StartsWith("1  ", StringComparison.Ordinal) || l.TrimStart().StartsWith("5  ", StringComparison.Ordinal)), Is.EqualTo(2), features.Out);
        var ranking = File.ReadAllLines(Path.Combine(Dir, "ranking.csv"));
        Assert.That(ranking[0], Is.EqualTo("rank,feature,strength,connections"));
        Assert.That(ranking, Has.Length.EqualTo(Width + 1), "every feature");
        var top = ranking.Skip(1).Take(Informative).Select(l => int.Parse(l.Split(',')[1][1..], CultureInfo.InvariantCulture)).ToArray();
        var recall = top.Count(signal.Contains) / (double)Informative;
        TestContext.Out.WriteLine($"recall {recall:P0}: {string.Join(", ", ranking.Skip(1).Take(Informative))}");
        Assert.That(recall, Is.GreaterThanOrEqualTo(0.75));

        var selected = Sparse("train", "--train", "wide.csv", "--hidden", "64", "--epochs", "15", "--select-features", $"{Informative}", "--features-from", "wide.sparse", "--output", "selected.sparse", "--metrics", "selected.json");
        Assert.That(selected.Exit, Is.Zero, selected.Error);
        Assert.That(selected.Out, Does.Contain($"features: the {Informative} strongest of {Width} by wide.sparse"));
        var info = Sparse("info", "--model", "selected.sparse");
        Assert.That(info.Out, Does.Contain($"{Informative} inputs"), info.Out);

        // The selected model reads the wide file by column name, ignoring the rest.
        var evaluate = Sparse("evaluate", "--model", "selected.sparse", "--data", "wide.csv");
        Assert.That(evaluate.Exit, Is.Zero, evaluate.Error);
        using var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "selected.json")));
        Assert.That(metrics.RootElement.GetProperty("final").GetProperty("test_accuracy").GetDouble(), Is.GreaterThan(0.8));
    }

    [Test]
    public void Features_trains_quickselection_on_a_data_file_and_leaves_its_label_out()
    {
        // Columns a and b share a factor; c and d are constant but for one row in 200. The label column is text.
        var random = new Random(2);
        var text = new System.Text.StringBuilder("a,b,c,d,label\n");
        for (var r = 0; r < 2000; r++)
        {
            var factor = random.NextDouble();
            text.Append(string.Create(CultureInfo.InvariantCulture, $"{factor + (0.05 * random.NextDouble()):F4},{factor:F4},{(r % 200 == 0 ? 1 : 0)},{(r % 200 == 7 ? 1 : 0)},{(factor > 0.5 ? "yes" : "no")}\n"));
        }

        Write("table.csv", text.ToString());
        var run = Sparse("features", "--method", "quickselection", "--data", "table.csv", "--output", "qs.csv");
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Error, Does.Contain("training QuickSelection's autoencoder on 2,000 rows of 4 columns"));
        var ranking = File.ReadAllLines(Path.Combine(Dir, "qs.csv")).Skip(1).Select(l => l.Split(',')[1]).ToArray();
        Assert.That(ranking, Has.Length.EqualTo(4), "the label is not a feature");
        Assert.That(ranking.Take(2), Is.EquivalentTo(new[] { "a", "b" }), string.Join(", ", ranking));
    }

    [Test]
    public void Feature_options_are_checked()
    {
        var missing = Sparse("train", "--select-features", "5");
        Assert.That(missing.Exit, Is.EqualTo(1));
        Assert.That(missing.Error, Does.Contain("--select-features needs --features-from"));
        var alone = Sparse("train", "--features-from", "m.sparse");
        Assert.That(alone.Error, Does.Contain("give --select-features K too"));
        var zero = Sparse("features", "--model", "nothing.sparse", "--top", "0");
        Assert.That(zero.Error, Does.Contain("--top 0"));
        var none = Sparse("features", "--model", "nothing.sparse");
        Assert.That(none.Exit, Is.EqualTo(1));
        Assert.That(none.Error, Does.Contain("nothing.sparse: no such model file"));
        var noModel = Sparse("features");
        Assert.That(noModel.Error, Does.Contain("--method model ranks a trained model: give --model FILE."));
        var noData = Sparse("features", "--method", "quickselection");
        Assert.That(noData.Error, Does.Contain("--method quickselection trains on a data file: give --data FILE."));
        var both = Sparse("features", "--method", "quickselection", "--data", "d.csv", "--model", "m.sparse");
        Assert.That(both.Error, Does.Contain("--model is read by --method model only."));
        var measure = Sparse("features", "--model", "m.sparse", "--measure", "weights");
        Assert.That(measure.Exit, Is.EqualTo(1));
        Assert.That(measure.Error, Does.Contain("weights"));
    }
}
