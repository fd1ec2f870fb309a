using System.Text.Json;
using Sparse.Training;

namespace Sparse.Cli;

/// <summary>Writes a run's history as JSON (accuracy as a fraction, null for regression), atomically.</summary>
internal static class MetricsFile
{
    public static void Write(string path, TrainingHistory history, Evaluation final)
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
                json.WriteNumber("train_loss", e.TrainLoss);
                Number(json, "train_accuracy", e.TrainAccuracy);
                Number(json, "test_loss", e.TestLoss);
                Number(json, "test_accuracy", e.TestAccuracy);
                json.WriteNumber("seconds", e.Seconds);
                json.WriteNumber("evolution_seconds", e.EvolutionSeconds);
                json.WriteNumber("connections", e.Connections);
                json.WriteNumber("learning_rate", e.LearningRate);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("final");
            json.WriteNumber("test_loss", final.Loss);
            Number(json, "test_accuracy", final.Accuracy);
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    private static void Number(Utf8JsonWriter json, string name, float? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
