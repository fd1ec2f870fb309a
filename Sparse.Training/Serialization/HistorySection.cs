using static Sparse.Training.BinaryCodec;

namespace Sparse.Training;

/// <summary>
/// The <c>history</c> section of a checkpoint: whether the run stopped early and one record per epoch. Version 2 adds
/// each epoch's evaluation seconds and the connections pruned and grown per layer (format version 2's layout).
/// </summary>
internal static class HistorySection
{
    public const string Name = "history";
    public const int Version = 2;

    public static void Write(BinaryWriter w, TrainingHistory? history)
    {
        var records = history?.Epochs ?? [];
        w.Write(records.Count);
        w.Write(history?.StoppedEarly ?? false);
        foreach (var r in records)
        {
            w.Write(r.Epoch);
            w.Write(r.TrainLoss);
            WriteNullable(w, r.TrainAccuracy);
            WriteNullable(w, r.TestLoss);
            WriteNullable(w, r.TestAccuracy);
            w.Write(r.Seconds);
            w.Write(r.EvolutionSeconds);
            w.Write(r.Connections);
            w.Write(r.LearningRate);
            WriteArray<long>(w, [.. r.LayerConnections]);
            w.Write(r.EvaluationSeconds);
            WriteArray<long>(w, [.. r.LayerPruned]);
            WriteArray<long>(w, [.. r.LayerGrown]);
        }
    }

    public static TrainingHistory Read(BinaryReader r, int version)
    {
        var history = new TrainingHistory();
        var records = r.ReadInt32();
        if (records is < 0 or > Checkpoint.MaxEpoch)
        {
            throw new InvalidDataException($"history record count {records} is not plausible");
        }

        history.StoppedEarly = r.ReadBoolean();
        for (var n = 0; n < records; n++)
        {
            var record = new EpochRecord(
                r.ReadInt32(), r.ReadSingle(), ReadNullable(r), ReadNullable(r), ReadNullable(r), r.ReadDouble(), r.ReadDouble(), r.ReadInt64(), r.ReadSingle())
            {
                LayerConnections = ReadArray<long>(r),
            };
            if (version >= 2)
            {
                record = record with { EvaluationSeconds = r.ReadDouble(), LayerPruned = ReadArray<long>(r), LayerGrown = ReadArray<long>(r) };
            }

            history.Epochs.Add(record);
        }

        return history;
    }
}
