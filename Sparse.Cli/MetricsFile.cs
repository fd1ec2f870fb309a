using System.Text.Json;

namespace Sparse.Cli;

/// <summary>
/// Writes a run's history as JSON, atomically: the format docs/metrics.schema.json describes (accuracy as a fraction,
/// null for regression; null for any NaN or infinity).
/// </summary>
internal static class MetricsFile
{
    /// <summary>The format's version, written as <c>format_version</c>; it changes when a field changes meaning or goes.</summary>
    public const int FormatVersion = 2;

    public static void Write(string path, TrainingHistory history, Evaluation final, TabularSchema schema, Sparse.Core.Precision precision, int ranks, RunMemory? memory = null, TrainingRecipe? recipe = null)
    {
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteNumber("format_version", FormatVersion);
            json.WriteString("task", schema.IsClassification ? "classification" : "regression");
            json.WriteString("precision", precision == Sparse.Core.Precision.Bf16 ? "bf16" : "fp32");
            json.WriteNumber("ranks", ranks);
            if (memory is not null)
            {
                json.WriteNumber("peak_bytes", RunMemory.MeasuredPeak);
                json.WriteNumber("estimated_peak_bytes", memory.EstimatedPeak);
            }

            if (history.Connections() is { } profile)
            {
                // What a denser start or a grown phase cost: the connections the steps trained with, against the final count.
                json.WriteStartObject("connections");
                json.WriteNumber("start", profile.Start);
                json.WriteNumber("peak", profile.Peak);
                json.WriteNumber("mean", Math.Round(profile.Mean, 1));
                json.WriteEndObject();
            }

            if (recipe is not null && recipe.Evolution != EvolutionMethod.None)
            {
                var evolver = recipe.CreateEvolver();
                json.WriteStartObject("evolution");
                json.WriteString("method", recipe.EvolutionName);
                json.WriteString("prune", evolver?.Pruner.Name ?? recipe.Evolution switch
                {
                    EvolutionMethod.Gap => "magnitude (each layer after its phase)",
                    EvolutionMethod.EarlyCrop => "gradient flow |w Hg| (early, all layers together)",
                    _ => "magnitude (gradual, cubic)",
                });
                json.WriteString("grow", evolver?.Regrower.Name ?? (recipe.Evolution == EvolutionMethod.Gap ? "random, to the grown density" : "none"));
                json.WriteEndObject();
            }

            json.WriteStartArray("epochs");
            foreach (var e in history.Epochs)
            {
                json.WriteStartObject();
                json.WriteNumber("epoch", e.Epoch);
                Number(json, "train_loss", e.TrainLoss);
                Number(json, "train_accuracy", e.TrainAccuracy);
                Number(json, "test_loss", e.TestLoss);
                Number(json, "test_accuracy", e.TestAccuracy);
                Number(json, "learning_rate", e.LearningRate);
                Number(json, "train_seconds", e.TrainSeconds);
                Number(json, "eval_seconds", e.EvaluationSeconds);
                Number(json, "evolution_seconds", e.EvolutionSeconds);
                Number(json, "seconds", e.TrainSeconds + e.EvaluationSeconds + e.EvolutionSeconds);
                json.WriteNumber("connections", e.Connections);
                json.WriteNumber("rewired", e.LayerGrown.Sum());
                json.WriteStartArray("layers");
                for (var l = 0; l < e.LayerConnections.Count; l++)
                {
                    json.WriteStartObject();
                    json.WriteNumber("connections", e.LayerConnections[l]);
                    json.WriteNumber("pruned", l < e.LayerPruned.Count ? e.LayerPruned[l] : 0);
                    json.WriteNumber("grown", l < e.LayerGrown.Count ? e.LayerGrown[l] : 0);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (history.DataChanges.Count > 0)
            {
                json.WriteStartArray("data_changes");
                foreach (var change in history.DataChanges)
                {
                    json.WriteStartObject();
                    json.WriteNumber("epoch", change.Epoch);
                    json.WriteNumber("batch", change.Batch);
                    json.WriteString("change", change.Change);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

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
