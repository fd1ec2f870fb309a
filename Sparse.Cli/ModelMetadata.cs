using System.Globalization;
using System.Text.Json;
using Sparse.Training;

namespace Sparse.Cli;

/// <summary>What the CLI saves beside the network so that evaluate and predict read data the same way.</summary>
internal sealed record ModelMetadata(bool Classification, string[] Classes, string[] FeatureNames, string LabelName)
{
    public Dictionary<string, string> ToDictionary() => new()
    {
        ["task"] = Classification ? "classification" : "regression",
        ["classes"] = JsonSerializer.Serialize(Classes),
        ["features"] = JsonSerializer.Serialize(FeatureNames),
        ["label"] = LabelName,
    };

    public static ModelMetadata From(Checkpoint checkpoint, string path)
    {
        var m = checkpoint.Metadata;
        if (!m.TryGetValue("task", out var task))
        {
            // A model saved from the library: no names, classes are the output indices.
            var classes = Enumerable.Range(0, checkpoint.Network.OutputSize).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray();
            return new ModelMetadata(true, classes, [.. Enumerable.Range(1, checkpoint.Network.InputSize).Select(c => $"column{c}")], "label");
        }

        try
        {
            return new ModelMetadata(
                task == "classification",
                JsonSerializer.Deserialize<string[]>(m["classes"]) ?? [],
                JsonSerializer.Deserialize<string[]>(m["features"]) ?? [],
                m["label"]);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException)
        {
            throw new UserError($"{path}: corrupted model metadata ({e.Message}).");
        }
    }

    /// <summary>Maps label text to class indices, naming the line of an unknown label.</summary>
    public int[] ClassIndices(CsvTable table)
    {
        var index = Classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        var labels = table.Labels!;
        var result = new int[labels.Length];
        for (var n = 0; n < labels.Length; n++)
        {
            if (!index.TryGetValue(labels[n], out result[n]))
            {
                throw new UserError($"{table.Path}:{table.FirstDataLine + n}: label '{labels[n]}' in column '{table.LabelName}' is not one of the model's classes ({string.Join(", ", Classes)}).");
            }
        }

        return result;
    }
}
