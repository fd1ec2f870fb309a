using System.Text.Json;
using Json.Schema;
using Sparse.Cli;
using Sparse.Training;

namespace Sparse.Tests.Cli;

[TestFixture]
public class MetricsFileTests
{
    [Test]
    public void Non_finite_values_are_written_as_null()
    {
        var history = new TrainingHistory();
        history.Epochs.Add(new EpochRecord(0, float.NaN, 0.5f, float.PositiveInfinity, null, 1.5, 0.1, 100, 0.01f) { LayerConnections = [100] });
        var path = Path.Combine(Path.GetTempPath(), $"metrics-{Guid.NewGuid():N}.json");
        try
        {
            MetricsFile.Write(path, history, new Evaluation(float.NaN, null), new TabularSchema(["a"], "y", 1, [], 2, 3), Sparse.Core.Precision.Fp32, 1);
            CheckAgainstSchema(path);
            using var json = JsonDocument.Parse(File.ReadAllText(path));
            var epoch = json.RootElement.GetProperty("epochs")[0];
            Assert.Multiple(() =>
            {
                Assert.That(epoch.GetProperty("train_loss").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(epoch.GetProperty("test_loss").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(epoch.GetProperty("train_accuracy").GetDouble(), Is.EqualTo(0.5));
                Assert.That(json.RootElement.GetProperty("final").GetProperty("test_rmse").ValueKind, Is.EqualTo(JsonValueKind.Null));
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    // Loaded once: the library registers a schema by its $id and refuses to register it twice.
    private static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromText(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "docs", "metrics.schema.json"))));

    /// <summary>Validates a metrics file against docs/metrics.schema.json, failing with every error the validator reports.</summary>
    internal static void CheckAgainstSchema(string path)
    {
        var schema = Schema.Value;
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var result = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        var errors = (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"));
        Assert.That(result.IsValid, Is.True, $"{path} does not follow docs/metrics.schema.json: {string.Join("; ", errors)}");
    }

    [Test]
    public void The_schema_rejects_a_file_that_breaks_it()
    {
        var path = Path.Combine(Path.GetTempPath(), $"metrics-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, """{"format_version": 2, "task": "classification", "epochs": [{"epoch": -1}], "final": {"test_loss": 1, "test_accuracy": 0.5}}""");
            Assert.That(() => CheckAgainstSchema(path), Throws.InstanceOf<AssertionException>());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
