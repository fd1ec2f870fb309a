using System.Globalization;
using Sparse.Tests.Cli;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>
/// Generated label columns (numbers in many spellings, text with stray spaces, one class, many classes) read as a
/// user means them: against a model where each row's label is an identity (a number or a word) written one of several
/// ways, the classes are the identities, rows of one identity share a class, and another file that spells them
/// otherwise maps to the same classes.
/// </summary>
[TestFixture]
public class LabelFuzzTests : CliFixture
{
    private sealed record Column(bool Numeric, double[] Values, string[] Words, int[] Identity, string[] Text);

    private static string[] Spellings(double value) =>
        value == Math.Floor(value)
            ? [Show(value), Show(value) + ".0", Show(value) + ".00", Show(value) + "e0", " " + Show(value) + " ", Show(value * 10) + "e-1"]
            : [Show(value), Show(value) + "0", Show(value * 10) + "e-1", " " + Show(value)];

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static Column Generate(Random random, int rows)
    {
        var classes = random.Next(4) == 0 ? 1 : random.Next(2, random.Next(2) == 0 ? 9 : 70);
        var numeric = random.Next(3) > 0;
        var whole = random.Next(4) > 0;
        var values = Enumerable.Range(0, classes).Select(k => whole ? (double)(k * 3) - 5 : (k * 0.25) + 0.5).ToArray();
        string[] words = [.. Enumerable.Range(0, classes).Select(k => $"class{k}")];
        var identity = Enumerable.Range(0, rows).Select(n => n < classes ? n : random.Next(classes)).ToArray();
        var text = identity.Select(k =>
        {
            if (numeric)
            {
                var spellings = Spellings(values[k]);
                return spellings[random.Next(spellings.Length)];
            }

            return random.Next(3) switch { 0 => " " + words[k], 1 => words[k] + " ", _ => words[k] };
        }).ToArray();
        return new Column(numeric, values, words, identity, text);
    }

    private string WriteTable(string name, Column column, Random random)
    {
        var lines = column.Text.Select((label, n) => string.Create(CultureInfo.InvariantCulture, $"{random.NextDouble():F3},{column.Identity[n] * 0.1:F2},\"{label}\""));
        return Write(name, "x,z,label\n" + string.Join("\n", lines) + "\n");
    }

    [Test]
    public void Generated_label_columns_become_the_classes_a_user_means()
    {
        var random = new Random(27);
        for (var trial = 0; trial < 150; trial++)
        {
            var column = Generate(random, random.Next(1, 200));
            var path = Path.Combine(Dir, WriteTable("t.csv", column, random));
            var table = CsvTableReader.Read(path, header: true, label: null);
            var schema = TabularSchema.Infer(table);
            var distinct = column.Identity.Distinct().Count();
            var whole = !column.Numeric || column.Values.All(v => v == Math.Floor(v));
            var what = $"trial {trial}: {distinct} {(column.Numeric ? "numbers" : "words")}, e.g. {string.Join(" | ", column.Text.Take(6))}";
            var expectClassification = !column.Numeric || (whole && distinct <= 50);
            Assert.That(schema.IsClassification, Is.EqualTo(expectClassification), what);
            if (!expectClassification)
            {
                var targets = schema.ToDataset(table).Targets!.Select(t => schema.ToTargetUnits(t)).ToArray();
                Assert.That(targets, Is.EqualTo(column.Identity.Select(k => column.Values[k])).Within(1e-3), what);
                continue;
            }

            Assert.That(schema.ClassNames, Has.Count.EqualTo(distinct), what);
            var labels = schema.ToDataset(table).Labels!;
            var classOf = new Dictionary<int, int>();
            for (var n = 0; n < labels.Length; n++)
            {
                Assert.That(classOf.TryAdd(column.Identity[n], labels[n]) || classOf[column.Identity[n]] == labels[n], Is.True, $"{what}: row {n} ('{column.Text[n]}')");
            }

            Assert.That(classOf.Values.Distinct().Count(), Is.EqualTo(distinct), $"{what}: one class per identity");
            var byIdentity = classOf.OrderBy(p => p.Value).Select(p => p.Key).ToArray();
            if (column.Numeric)
            {
                Assert.That(byIdentity.Select(k => column.Values[k]), Is.Ordered, $"{what}: classes ordered by value");
            }

            // Another file spelling the same identities otherwise reads into the same classes.
            var respelled = column with { Text = [.. column.Identity.Select(k => column.Numeric ? Spellings(column.Values[k])[random.Next(Spellings(column.Values[k]).Length)] : "  " + column.Words[k])] };
            var other = CsvTableReader.Read(Path.Combine(Dir, WriteTable("u.csv", respelled, random)), schema, header: true, requireLabel: true);
            Assert.That(schema.ToDataset(other).Labels, Is.EqualTo(labels), $"{what}: respelled");
        }
    }

    [Test]
    public void Generated_label_columns_through_train_evaluate_and_predict()
    {
        var random = new Random(2027);
        for (var trial = 0; trial < 5; trial++)
        {
            var column = Generate(random, 120);
            WriteTable("t.csv", column, random);
            var respelled = column with { Text = [.. column.Identity.Select(k => column.Numeric ? " " + Show(column.Values[k]) + "e0" : column.Words[k] + "  ")] };
            WriteTable("u.csv", respelled, random);
            var distinct = column.Identity.Distinct().Count();
            var what = $"trial {trial}: {distinct} {(column.Numeric ? "numbers" : "words")}, e.g. {string.Join(" | ", column.Text.Take(6))}";
            var train = Sparse("train", "--train", "t.csv", "--test", "u.csv", "--epochs", "2", "--hidden", "8", "--output", "m.sparse", "--quiet");
            if (distinct == 1)
            {
                Assert.That(train.Exit, Is.EqualTo(1), what);
                Assert.That(train.Error, Does.Contain("holds one class"), what);
                continue;
            }

            Assert.That(train.Exit, Is.Zero, $"{what}: {train.Error}");
            var schema = Checkpoint.Load(Path.Combine(Dir, "m.sparse")).Schema!;
            var evaluate = Sparse("evaluate", "--model", "m.sparse", "--data", "u.csv");
            Assert.That(evaluate.Exit, Is.Zero, $"{what}: {evaluate.Error}");
            var predict = Sparse("predict", "--model", "m.sparse", "--data", "u.csv", "--output", "p.csv");
            Assert.That(predict.Exit, Is.Zero, $"{what}: {predict.Error}");
            var predicted = File.ReadAllLines(Path.Combine(Dir, "p.csv")).Skip(1).ToArray();
            Assert.That(predicted, Has.Length.EqualTo(120), what);
            if (schema.IsClassification)
            {
                Assert.That(schema.ClassNames, Has.Count.EqualTo(distinct), what);
                Assert.That(predicted.Select(l => l.Split(',')[0].Trim('"')).Distinct(), Is.SubsetOf(schema.ClassNames), what);
            }
        }
    }
}
