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
        var train = Sparse("train", "--train", "wide.csv", "--hidden", "64", "--epsilon", "4", "--evolve", "set", "--epochs", "25", "--output", "wide.sparse");
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
    }
}
