using static Sparse.Training.BinaryCodec;

namespace Sparse.Training;

/// <summary>
/// The <c>history</c> section of a checkpoint: whether the run stopped early and one record per epoch. Version 2 adds
/// each epoch's evaluation seconds and the connections pruned and grown per layer (format version 2's layout); version 3
/// the topology changes (every layer's rewiring, by step), so a run resumed within an epoch counts that epoch's rewiring whole,
/// and the changes of data a resumed run was allowed; version 4 each epoch's optimizer steps at its end.
/// </summary>
internal static class HistorySection
{
    public const string Name = "history";
    public const int Version = 4;

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
            w.Write(r.Steps);
        }

        var changes = history?.TopologyChanges ?? [];
        w.Write(changes.Count);
        foreach (var c in changes)
        {
            w.Write(c.Epoch);
            w.Write(c.Step);
            w.Write(c.Layer);
            w.Write(c.Pruned);
            w.Write(c.Grown);
            w.Write(c.Connections);
            w.Write(c.Density);
            w.Write(c.MinInDegree);
            w.Write(c.MaxInDegree);
            w.Write(c.MinOutDegree);
            w.Write(c.MaxOutDegree);
        }

        var dataChanges = history?.DataChanges ?? [];
        w.Write(dataChanges.Count);
        foreach (var d in dataChanges)
        {
            w.Write(d.Epoch);
            w.Write(d.Batch);
            w.Write(d.Change);
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

            if (version >= 4)
            {
                record = record with { Steps = r.ReadInt64() };
            }

            history.Epochs.Add(record);
        }

        if (version >= 3)
        {
            var changes = r.ReadInt32();
            if (changes < 0)
            {
                throw new InvalidDataException($"topology change count {changes} is not plausible");
            }

            for (var n = 0; n < changes; n++)
            {
                history.TopologyChanges.Add(new TopologyChange(r.ReadInt32(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt64(), r.ReadDouble(),
                    r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32()));
            }

            var dataChanges = r.ReadInt32();
            for (var n = 0; n < dataChanges; n++)
            {
                history.DataChanges.Add(new DataChange(r.ReadInt32(), r.ReadInt32(), r.ReadString()));
            }
        }

        return history;
    }
}
