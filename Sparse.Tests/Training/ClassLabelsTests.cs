using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>Label text becomes classes as a user means it: numbers by value, text as written after trimming.</summary>
[TestFixture]
public class ClassLabelsTests
{
    [TestCase(new[] { "1", "1.0", "1e0", " 1 ", "2", "2.00" }, new[] { "1", "2" })]
    [TestCase(new[] { "1.0", "1.0", "1", "10", "-0", "0" }, new[] { "-0", "1.0", "10" })]
    [TestCase(new[] { "b", " a", "a ", "a", "B" }, new[] { "B", "a", "b" })]
    [TestCase(new[] { "1", "x", "1.0" }, new[] { "1", "1.0", "x" })]
    [TestCase(new[] { "1", "NaN" }, new[] { "1", "NaN" })]
    public void Distinct_groups_numbers_by_value_and_text_after_trimming(string[] labels, string[] classes) =>
        Assert.That(ClassLabels.Distinct(labels), Is.EqualTo(classes));

    [Test]
    public void A_schema_reads_labels_by_value_and_keeps_exact_text_for_a_model_that_saved_1_and_1_point_0_apart()
    {
        var byValue = new TabularSchema(["x"], "y", 1, ["1", "2"]);
        var table = new CsvTable("t.csv", [0f, 0f, 0f], ["x"], "y", ["1.0", "2e0", " 1 "], 2);
        Assert.That(byValue.ToDataset(table).Labels, Is.EqualTo(new[] { 0, 1, 0 }));

        var apart = new TabularSchema(["x"], "y", 1, ["1", "1.0"]);
        var old = new CsvTable("t.csv", [0f, 0f], ["x"], "y", ["1.0", "1"], 2);
        Assert.That(apart.ToDataset(old).Labels, Is.EqualTo(new[] { 1, 0 }));
    }
}
