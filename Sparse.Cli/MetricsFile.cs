using System.Text.Json;
using Sparse.Training;

namespace Sparse.Cli;

/// <summary>Writes a run's history as JSON (accuracy as a fraction, null for regression; null for any NaN or infinity), atomically.</summary>
internal static class MetricsFile
{
    public static void Write(string path, TrainingHistory history, Evaluation final, TabularSchema schema)
    {
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteStartArray("epochs");
            foreach (var e in history.Epochs)
            {
                json.WriteStartObject();
                json.WriteNumber("epoch", e.Epoch);
                Number(json, "train_loss", e.TrainLoss);
                Number(json, "train_accuracy", e.TrainAccuracy);
                Number(json, "test_loss", e.TestLoss);
                Number(json, "test_accuracy", e.TestAccuracy);
                Number(json, "seconds", e.Seconds);
                Number(json, "evolution_seconds", e.EvolutionSeconds);
                json.WriteNumber("connections", e.Connections);
                Number(json, "learning_rate", e.LearningRate);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("final");
            Number(json, "test_loss", final.Loss);
            Number(json, "test_accuracy", final.Accuracy);
            if (!schema.IsClassification)
            {
                Number(json, "test_rmse", Math.Sqrt(final.Loss) * schema.TargetScale);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    private static void Number(Utf8JsonWriter json, string name, float? value)
    {
        if (value is { } v && float.IsFinite(v))
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    // JSON has no NaN or infinity: a non-finite value is written as null.
    private static void Number(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
