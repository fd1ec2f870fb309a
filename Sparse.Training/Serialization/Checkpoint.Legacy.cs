using System.Globalization;

namespace Sparse.Training;

/// <summary>Format versions 1 and 2: one fixed layout, the trainer's and hooks' resume state in string-keyed metadata.</summary>
public sealed partial class Checkpoint
{
    // The metadata entries in which versions 1 and 2 kept the trainer's position, the interrupted epoch's sums,
    // each resumable hook's state ("hook.N" = "Type:base64") and the schema.
    private const string LegacyResumeBatch = "resume_batch";
    private const string LegacyEpochSums = "resume_epoch_sums";
    private const string LegacyHookPrefix = "hook.";
    private const string LegacySchema = "schema";

    // Payload: metadata, network, epoch, base learning rate, history, optimizer; each read into the typed properties.
    private static Checkpoint ReadLegacy(BinaryReader r, int version)
    {
        var entries = r.ReadInt32();
        if (entries is < 0 or > 1_000_000)
        {
            throw new InvalidDataException($"metadata count {entries} is not plausible");
        }

        var metadata = new Dictionary<string, string>(entries);
        for (var n = 0; n < entries; n++)
        {
            metadata[r.ReadString()] = r.ReadString();
        }

        var network = NetworkSection.Read(r);
        var epoch = r.ReadInt32();
        var baseLearningRate = r.ReadSingle();
        var history = HistorySection.Read(r, version);
        var optimizer = OptimizerSection.Read(r, network);
        var sections = new Dictionary<string, CheckpointSection>();
        var progress = new TrainerState { Epoch = epoch, BaseLearningRate = baseLearningRate };
        try
        {
            if (metadata.Remove(LegacyResumeBatch, out var batch))
            {
                progress = progress with
                {
                    Batch = int.TryParse(batch, NumberStyles.None, CultureInfo.InvariantCulture, out var b)
                        ? b : throw new InvalidDataException($"resume batch '{batch}' is not a whole number of 0 or more"),
                };
            }

            if (metadata.Remove(LegacyEpochSums, out var sums))
            {
                var parts = sums.Split(' ');
                progress = progress with
                {
                    EpochLossSum = double.Parse(parts[0], CultureInfo.InvariantCulture),
                    EpochCorrect = long.Parse(parts[1], CultureInfo.InvariantCulture),
                    EpochSeen = long.Parse(parts[2], CultureInfo.InvariantCulture),
                };
            }

            foreach (var key in metadata.Keys.Where(k => k.StartsWith(LegacyHookPrefix, StringComparison.Ordinal)).ToList())
            {
                metadata.Remove(key, out var value);
                var colon = value!.IndexOf(':', StringComparison.Ordinal);
                var type = value[..colon];
                var state = Convert.FromBase64String(value[(colon + 1)..]);
                sections[key] = CheckpointSection.Write(key, 1, w =>
                {
                    w.Write(type);
                    w.Write(state);
                });
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            throw new InvalidDataException($"the resume state is damaged ({e.Message})", e);
        }

        progress.Check();
        var resumable = optimizer is not null || epoch > 0;
        return new Checkpoint(network, optimizer, history, ReadLegacySchema(metadata), resumable ? progress : null, metadata, sections);
    }

    private static TabularSchema? ReadLegacySchema(Dictionary<string, string> metadata)
    {
        if (metadata.TryGetValue(LegacySchema, out var json))
        {
            return TabularSchema.FromJson(json);
        }

        // A schema stored as separate entries (task, features, classes, label), as version-1 files from the CLI may hold it.
        if (metadata.TryGetValue("task", out var task) && metadata.TryGetValue("features", out var features) && metadata.TryGetValue("classes", out var classes)
            && metadata.TryGetValue("label", out var label))
        {
            try
            {
                return new TabularSchema(System.Text.Json.JsonSerializer.Deserialize<string[]>(features) ?? [], label, -1,
                    task == "classification" ? System.Text.Json.JsonSerializer.Deserialize<string[]>(classes) ?? [] : []);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
            {
                throw new InvalidDataException($"bad model metadata ({e.Message})", e);
            }
        }

        return null;
    }
}
