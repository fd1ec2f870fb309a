using System.Text.Json;
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
            MetricsFile.Write(path, history, new Evaluation(float.NaN, null), new TabularSchema(["a"], "y", 1, [], 2, 3));
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
}
